"""Turning the names users type into graph nodes.

A name is a qualified dotted name (``shop.orders.place_order``), a dotted
suffix of one (``Inventory.take``), a short name (``take``), or a place
(``shop/orders.py:14``, the innermost function or class there). An ambiguous
name lists its candidates; an unknown one suggests close matches.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from typing import Any, Callable

from astrepo.errors import QueryError
from astrepo.graph.query.reach_index import ReachIndex

PLACE = re.compile(r"^(?P<file>.+\.py):(?P<line>\d+)$")

#: How many candidates an ambiguity error lists.
MAX_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved name."""

    id: str
    label: str  #: Function | Class | Module | External
    name: str
    file: str
    line: int
    row: int  #: the node's row in the reach index


#: Runs one parameterized read-only query and returns its rows (the engine's, which logs it).
Runner = Callable[[str, dict[str, Any]], list[list[Any]]]


def resolve_name(run: Runner, index: ReachIndex, text: str,
                 labels: tuple[str, ...] = ("Function", "Class", "Module"), allow_many: bool = False) -> list[Target]:
    """Nodes named ``text`` (several only when ``allow_many`` or all are overloads of one name).

    An exact qualified name wins over a dotted suffix (which covers short names: a node's
    ``name`` always ends with ``.`` + its ``short_name``); project nodes win over externals.
    Names are not indexed in Kuzu (only IDs are; a scan costs ~4 ms on Django), so they are
    looked up in the reach index, which holds them sorted by short name.
    """
    place = PLACE.match(text)
    if place:
        return [_at_place(run, index, place.group("file"), int(place.group("line")), text)]
    exact: list[Target] = []
    suffix: list[Target] = []
    external_suffix: list[Target] = []
    for label in labels:
        same, ending = index.find_names(text, label)
        exact += [_target(index, label, row) for row in same]
        (external_suffix if label == "External" else suffix).extend(_target(index, label, row) for row in ending)
    found = exact or suffix or external_suffix
    if not found:
        raise QueryError(f"no function or class named {text!r}" + _suggest(run, text, labels))
    distinct = sorted({t.name for t in found})
    if len(distinct) > 1 and not allow_many:
        shown = ", ".join(distinct[:MAX_CANDIDATES]) + (" ..." if len(distinct) > MAX_CANDIDATES else "")
        raise QueryError(f"{text!r} is ambiguous ({len(distinct)} candidates): {shown}; use a qualified name")
    return sorted(found, key=lambda t: (t.name, t.file, t.line, t.id))


def _target(index: ReachIndex, label: str, row: int) -> Target:
    """The node at an index row (externals have no line)."""
    return Target(index.id(row), label, index.name(row), index.file(row),
                  0 if label == "External" else index.line[row], row)


def _at_place(run: Runner, index: ReachIndex, file: str, line: int, text: str) -> Target:
    rows = run(
        "MATCH (n:Function:Class) WHERE (n.file = $file OR ends_with(n.file, $suffix)) "
        "AND n.start_line <= $line AND n.end_line >= $line "
        "RETURN n.id, label(n), n.name, n.file, n.start_line, n.end_line - n.start_line",
        {"file": file, "suffix": "/" + file, "line": line})
    if not rows:
        raise QueryError(f"no function or class at {text}")
    innermost = min(rows, key=lambda r: (r[5], r[0]))  # the shortest span
    row = index.find_id(innermost[0], innermost[1])
    return Target(innermost[0], innermost[1], innermost[2], innermost[3], int(innermost[4]), -1 if row is None else row)


def _suggest(run: Runner, text: str, labels: tuple[str, ...]) -> str:
    names: set[str] = set()
    for label in labels:
        column = "n.short_name" if label in ("Function", "Class", "Module") else "n.name"
        rows = run(f"MATCH (n:{label}) RETURN DISTINCT {column}, n.name", {})
        for short, full in rows:
            names.add(short or "")
            names.add(full or "")
    close = difflib.get_close_matches(text, sorted(n for n in names if n), n=5, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""
