"""Values of the points-to resolution: `Target`, value sets and their deterministic order.

A name or expression evaluates to a set of `Target` values (`Vals`: the set and, when it is empty,
the reason). Sets are iterated in the fixed order of `order_key` wherever order matters, so that
results do not depend on hashing. See `astrepo.analyzers.pointsto` for the resolver.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

from astrepo.model import ScopeFacts

#: Builtin classes whose instances' methods we name (``<builtin>.str.join``).
BUILTIN_TYPES = frozenset(f"<builtin>.{t}" for t in (
    "str", "bytes", "list", "dict", "set", "frozenset", "tuple", "int", "float", "bytearray"))


class Target(NamedTuple):
    """What a name or expression evaluates to, as far as we know statically.

    A NamedTuple rather than a frozen dataclass: millions are built and hashed
    per project, and tuple construction, hashing and equality run in C.
    """

    #: module | def | instance | external, and inside the resolver also bound (a method
    #: with its receiver), gen (a generator object), seq / map (a list or dict display),
    #: xinstance (an instance of an external class), member (an attribute of an external
    #: object: callable by its name, its own attributes unknown), cmethod (a method of a list /
    #: dict display reading it: ``d.get``), view (``d.values()`` / ``d.items()``, or one pair of it),
    #: partial (``functools.partial(f, ...)``)
    kind: str
    #: module name, node ID, class node ID, external dotted name; (function ID, class ID)
    #: for bound; (scope ID, Expr) for seq / map, (scope ID, Expr, builtin type) for a sequence a
    #: builtin made (``zip(a, b)``); external dotted name for xinstance / member; (f Target, number of
    #: bound positional arguments, bound keywords) for partial;
    #: (container Target, method) for cmethod; (container Target, "values" | "items" | "pair") for view
    value: str
    how: str  #: provenance of the first name: local, import, self, super, builtin, external


#: ``make_target((kind, value, how))`` builds a Target without the Python-level ``__new__`` of a
#: NamedTuple (a measurable share of resolution time at millions of targets).
make_target = partial(tuple.__new__, Target)

Vals = tuple  #: (frozenset[Target], reason when empty)

EMPTY: frozenset = frozenset()


def value_set(targets, reason: str = "") -> Vals:
    return (frozenset(targets), reason)


#: When one target is reached several ways, the provenance kept is the first of these.
_HOW_RANK = {h: i for i, h in enumerate((
    "local", "import", "self", "super", "builtin", "literal", "external", "annotation", "argument",
    "implicit", "decorator", "callback", "property"))}


class _OrderKeys(dict):
    """Target -> its sort key, computed once: sorting value sets is hot (millions of keys per
    project, ``str`` of a tuple value is slow). Emptied by `clear_order_keys` after each project."""

    __slots__ = ()

    def __missing__(self, t: Target) -> tuple[str, str, int, str]:
        v = t.value
        key = self[t] = (t.kind, v if v.__class__ is str else str(v), _HOW_RANK.get(t.how, 99), t.how)
        return key


_ORDER_KEYS = _OrderKeys()

#: A total, deterministic order of targets (the best provenance first among equal ones):
#: (kind, str(value), provenance rank, provenance).
order_key = _ORDER_KEYS.__getitem__


#: frozenset of targets -> its targets in order: the same memoized sets are iterated again and again.
_ORDERED: dict = {}


def clear_order_keys(scrap: list | None = None) -> None:
    """Forget the cached sort keys and orders (they are only worth keeping while one project resolves);
    with ``scrap``, hand them to it to be freed later (see `resolve_project`)."""
    if scrap is not None:
        scrap.append((dict(_ORDER_KEYS), dict(_ORDERED)))
    _ORDER_KEYS.clear()
    _ORDERED.clear()


def ordered(targets) -> Sequence[Target]:
    """Value sets in a fixed order: evaluating them in hash order made memoized results (with
    their cycle cut-offs) depend on PYTHONHASHSEED, so the call graph differed between runs.
    A frozenset's order is kept and handed out as is (a tuple: read it, don't change it)."""
    if len(targets) < 2:
        return list(targets)
    if targets.__class__ is frozenset:
        found = _ORDERED.get(targets)
        if found is None:
            found = _ORDERED[targets] = tuple(sorted(targets, key=order_key))
        return found
    return sorted(targets, key=order_key)


def unique(targets) -> list[Target]:
    """Targets sorted, one per (kind, value): the best-ranked provenance wins."""
    if len(targets) < 2:
        return list(targets)
    out: list[Target] = []
    seen: set = set()
    for t in sorted(targets, key=order_key):
        if (t.kind, t.value) not in seen:
            seen.add((t.kind, t.value))
            out.append(t)
    return out


def sequence_result(scope: ScopeFacts, items: tuple, kind: str) -> Vals:
    """A sequence built by a builtin call in ``scope``: a list display of ``items`` (expressions
    of that scope) whose methods are those of the builtin type ``kind``."""
    return value_set([make_target(("seq", (scope.id, ("l", items), kind), "builtin"))])


def container_type(target: Target) -> str:
    """The builtin type of a list / dict display (or of a sequence a builtin built)."""
    if target.kind == "seq":
        return target.value[2] if len(target.value) == 3 else "<builtin>.list"
    return "<builtin>.dict"


def is_class_name(name: str) -> bool:
    """Spelled like a class by PEP 8 (``Client``, ``HTTPServer``; not ``URL``, ``get``)."""
    name = name.lstrip("_")
    return name[:1].isupper() and not name.isupper()


def builtin_object(dotted: str) -> object:
    """What ``<builtin>.a.b`` names in this interpreter's builtins module (``str.join``), or
    `MISSING` when nothing (``str.decode``)."""
    obj: object = builtins
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part, MISSING)
        if obj is MISSING:
            break
    return obj


MISSING = object()
