"""Turning the names users type into graph nodes.

A name is a qualified dotted name (``shop.orders.place_order``), a dotted
suffix of one (``Inventory.take``), a short name (``take``), or a place
(``shop/orders.py:14``, the innermost function or class there). An ambiguous
name lists its candidates; an unknown one suggests close matches.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from typing import Any, Callable

from astrepo.errors import QueryError

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


#: Runs one parameterized read-only query and returns its rows (the engine's, which logs it).
Runner = Callable[[str, dict[str, Any]], list[list[Any]]]


def resolve_name(run: Runner, text: str, labels: tuple[str, ...] = ("Function", "Class", "Module"),
                 allow_many: bool = False) -> list[Target]:
    """Nodes named ``text`` (several only when ``allow_many`` or all are overloads of one name).

    An exact qualified name wins over a dotted suffix (which covers short names: a node's
    ``name`` always ends with ``.`` + its ``short_name``); project nodes win over externals.
    Names are not indexed in Kuzu (only IDs are), so each label group costs one scan: one
    query for the project tables together, one for externals. A scan reads every column it
    returns for the whole table, so it returns only what choosing needs; the places of the
    chosen nodes are then read by ID (indexed).
    """
    place = PLACE.match(text)
    if place:
        return [_at_place(run, place.group("file"), int(place.group("line")), text)]
    params = {"name": text, "suffix": "." + text}
    exact: list[Target] = []
    suffix: list[Target] = []
    external_suffix: list[Target] = []
    project = ":".join(label for label in labels if label != "External")
    if project:
        for target in _rows(run, f"MATCH (n:{project}) WHERE n.name = $name OR ends_with(n.name, $suffix) "
                                "RETURN n.id, label(n), n.name, '', 0", params):
            (exact if target.name == text else suffix).append(target)
    if "External" in labels:
        for target in _rows(run, "MATCH (n:External) WHERE n.name = $name OR ends_with(n.name, $suffix) "
                                "RETURN n.id, label(n), n.name, n.file, 0", params):
            (exact if target.name == text else external_suffix).append(target)
    found = exact or suffix or external_suffix
    if not found:
        raise QueryError(f"no function or class named {text!r}" + _suggest(run, text, labels))
    distinct = sorted({t.name for t in found})
    if len(distinct) > 1 and not allow_many:
        shown = ", ".join(distinct[:MAX_CANDIDATES]) + (" ..." if len(distinct) > MAX_CANDIDATES else "")
        raise QueryError(f"{text!r} is ambiguous ({len(distinct)} candidates): {shown}; use a qualified name")
    found = [_placed(run, t) for t in found]
    return sorted(found, key=lambda t: (t.name, t.file, t.line, t.id))


def _placed(run: Runner, target: Target) -> Target:
    """The target with its file and line (externals have none)."""
    if target.label == "External":
        return target
    rows = run(f"MATCH (n:{target.label}) WHERE n.id = $id RETURN n.file, n.start_line", {"id": target.id})
    return replace(target, file=rows[0][0] or "", line=int(rows[0][1] or 0)) if rows else target


def _rows(run: Runner, query: str, params: dict) -> list[Target]:
    rows = run(query, params)
    return [Target(r[0], r[1], r[2], r[3] or "", int(r[4] or 0)) for r in rows]


def _at_place(run: Runner, file: str, line: int, text: str) -> Target:
    rows = run(
        "MATCH (n:Function:Class) WHERE (n.file = $file OR ends_with(n.file, $suffix)) "
        "AND n.start_line <= $line AND n.end_line >= $line "
        "RETURN n.id, label(n), n.name, n.file, n.start_line, n.end_line - n.start_line",
        {"file": file, "suffix": "/" + file, "line": line})
    if not rows:
        raise QueryError(f"no function or class at {text}")
    innermost = min(rows, key=lambda r: (r[5], r[0]))  # the shortest span
    return Target(innermost[0], innermost[1], innermost[2], innermost[3], int(innermost[4]))


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
