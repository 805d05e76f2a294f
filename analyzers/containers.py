"""Builtin containers in the points-to resolution: list / dict displays and the builtins that build them.

Subscripts pick items by literal key or index, slices keep the items they select, iteration and
tuple unpacking take items by position, stores into displays (``d[k] = f``, ``xs.append(f)``) count
as their items, and calls of builtins (``next``, ``list``, ``sorted``, ``zip``, ``map``,
``getattr``, ``functools.partial``) give what their arguments say. `Containers` is mixed into
`astrepo.analyzers.pointsto.Resolver`, whose memo and `values` it uses.
"""

from __future__ import annotations

from astrepo.analyzers.targets import EMPTY, Target, Vals, make_target, ordered, sequence_result, value_set
from astrepo.model import CallFact, ScopeFacts

#: Builtin types whose slices are of the same type.
SEQUENCE_TYPES = frozenset(f"<builtin>.{t}" for t in ("str", "bytes", "list", "tuple", "bytearray"))

#: Methods of list / dict displays whose results come from the container (see `callee_results`).
CONTAINER_READS = {"seq": frozenset(("pop", "copy")),
                   "map": frozenset(("get", "pop", "setdefault", "values", "items", "copy"))}

#: Builtins whose result is the iteration of their first argument (see `call_results`).
_ITERATOR_BUILTINS = frozenset(("<builtin>.next", "<builtin>.iter"))

#: Builtins whose result is a sequence of the items of one argument: name -> (argument position,
#: the builtin type whose methods the result has). See `sequence_result`.
_ITEM_SEQUENCES = {"<builtin>.list": (0, "<builtin>.list"), "<builtin>.tuple": (0, "<builtin>.tuple"),
                   "<builtin>.set": (0, "<builtin>.set"), "<builtin>.frozenset": (0, "<builtin>.frozenset"),
                   "<builtin>.sorted": (0, "<builtin>.list"), "<builtin>.reversed": (0, "<builtin>.reversed"),
                   "<builtin>.filter": (1, "<builtin>.filter")}

#: What methods of builtin types return, where it is a builtin type (``"".join(x).upper()``).
BUILTIN_RETURNS = {f"<builtin>.str.{m}": "<builtin>.str" for m in (
    "join", "upper", "lower", "strip", "lstrip", "rstrip", "replace", "format", "title", "capitalize",
    "casefold", "center", "ljust", "rjust", "zfill", "expandtabs", "swapcase", "removeprefix", "removesuffix")}
BUILTIN_RETURNS.update({f"<builtin>.str.{m}": "<builtin>.list" for m in ("split", "rsplit", "splitlines")})
BUILTIN_RETURNS.update({"<builtin>.dict.copy": "<builtin>.dict", "<builtin>.list.copy": "<builtin>.list"})

#: Names of ``functools.partial`` as the resolver sees them.
PARTIAL_NAMES = frozenset(("functools.partial",))


class Containers:
    """Items of list / dict displays and results of builtin calls (a mixin of `Resolver`)."""

    def subscript(self, target: Target, key: str) -> Vals:
        """``target[key]``: key as the extractor gives it (a literal, ``1:3`` for a slice, "" if unknown)."""
        if target.kind == "seq":
            scope_id, expr = target.value[0], target.value[1]
            scope = self.p.scopes[scope_id]
            items = expr[1]
            stored = self.stored_in(target)
            exact = not stored and not any(e[0] == "*" for e in items)
            if ":" in key:  # a slice is a list of some of the items
                window = _slice_of(key) if exact else None
                kept = items[window] if window is not None else items
                return value_set([make_target(("seq", (scope_id, ("l", tuple(kept))), target.how))])
            index = _int_key(key)
            if exact and index is not None and -len(items) <= index < len(items):
                return self.values(items[index], scope)
            return self._union([self.values(e, scope) for e in items] + [(v, "") for _, v in stored])
        if target.kind == "map":
            scope_id, expr = target.value[0], target.value[1]
            scope = self.p.scopes[scope_id]
            pairs = expr[1]
            stored = self.stored_in(target)
            # A known key reads its entries and those stored under an unknown key; when no entry
            # has it (it may come from elsewhere), or the key is unknown, every entry.
            if key and (any(k == key for k, _ in pairs) or any(k == key for k, _ in stored)):
                chosen = [e for k, e in pairs if k in (key, "")]
                kept = [v for k, v in stored if k in (key, "")]
            else:
                chosen, kept = [e for _, e in pairs], [v for _, v in stored]
            return self._union([self.values(e, scope) for e in chosen] + [(v, "") for v in kept])
        if target.kind == "instance":
            return self.protocol_results(target, "__getitem__")
        if target.kind == "view" and target.value[1] == "pair" and key not in ("0", "-2"):
            return self.subscript(target.value[0], "")  # the value of a (key, value) pair
        if target.kind == "external" and target.value in SEQUENCE_TYPES:
            # slicing gives the same type, an item of a str is a str
            if ":" in key or target.value == "<builtin>.str":
                return value_set([target])
        return (EMPTY, f"item of a {target.kind}")

    def store(self, index: int, store: tuple) -> tuple:
        """What one store puts into which list/dict display: ((display, key, values), ...) (memoized)."""
        scope, container, operation, key, expr = store

        def compute() -> tuple:
            out = []
            for c in ordered(self.dotted(container, scope)[0]):
                if c.kind not in ("seq", "map"):
                    continue
                if operation == "extend" or (operation == "update" and c.kind == "seq"):
                    value = ("i", expr)
                elif operation == "update":
                    value = ("s", expr, "")
                else:
                    value = expr
                vals = self.values(value, scope)[0]
                if vals:
                    out.append((c.value, key, vals))
            return tuple(out)

        return self._memoized(("store", index), compute)

    def stored_in(self, container: Target) -> tuple:
        """What was stored into a list/dict display: ((key, values), ...) (see `settle_items`)."""
        key = ("items", container.value)
        self.read(key)
        return self.stored.get(key, ())

    def iterate(self, target: Target) -> Vals:
        if target.kind in ("seq", "map"):
            return self.subscript(target, "") if target.kind == "seq" else (EMPTY, "iterating a dict")
        if target.kind == "view":  # d.values(): the values; d.items(): (key, value) pairs
            container, what = target.value
            if what == "items":
                return value_set([make_target(("view", (container, "pair"), target.how))])
            return self.subscript(container, "")
        if target.kind == "gen":
            return self.yields_of(target.value)
        if target.kind == "instance":
            iterators = self.protocol_results(target, "__iter__")[0]
            return self._union(self.protocol_results(it, "__next__") if it.kind == "instance"
                               else self.iterate(it) for it in iterators if it != target or True)
        return (EMPTY, f"iterating a {target.kind}")

    def unpack(self, target: Target, index: int) -> Vals:
        """Item ``index`` of ``target`` unpacked into a tuple target (``a, b = target``): the item
        at that position of a tuple / list display (nothing stored into it; a negative index counts
        from the end; (i, m) for a starred target: the items from i to m before the end), the key
        or the value of a dict item, else any item."""
        if target.kind == "seq":
            items = target.value[1][1]
            if not any(e[0] == "*" for e in items) and not self.stored_in(target):
                scope = self.p.scopes[target.value[0]]
                if index.__class__ is tuple:  # a starred target: the items from i to n before the end
                    return self._union([self.values(e, scope) for e in items[index[0]:len(items) - index[1]]])
                if -len(items) <= index < len(items):
                    return self.values(items[index], scope)
        elif target.kind == "view" and target.value[1] == "pair":
            if index == 0 or index == -2:
                return (EMPTY, "key of a dict item")
            return self.subscript(target.value[0], "")
        return self.iterate(target)

    def builtin_results(self, t: Target, call: CallFact, scope: ScopeFacts) -> Vals | None:
        """What a call of a builtin (or ``functools.partial``) returns when its arguments say
        more than its type does; None to use `callee_results`. ``next(it)`` is an item of it,
        ``iter(xs)`` iterates like xs; ``list(xs)``, ``sorted(xs)``, ``filter(f, xs)``... are
        sequences of xs's items, ``enumerate(xs)`` of (int, item) tuples, ``zip(a, b)`` of
        (item of a, item of b) tuples, ``map(f, xs)`` of f's results; ``getattr(x, "name")``
        is ``x.name``; ``functools.partial(f, ...)`` a `partial` of f."""
        name = t.value
        args = call.args
        if not args or args[0] is None or args[0][0] == "*":
            return None
        if name in _ITERATOR_BUILTINS:
            return self.values(("i", args[0]) if name == "<builtin>.next" else args[0], scope)
        if name in _ITEM_SEQUENCES:
            position, kind = _ITEM_SEQUENCES[name]
            if position >= len(args) or args[position] is None or args[position][0] == "*":
                return None
            return sequence_result(scope, (("i", args[position]),), kind)
        if name == "<builtin>.getattr" and 2 <= len(args) <= 3 and args[1] is not None and len(args[1]) == 3 \
                and args[1][1] == "<str>":
            parts = [self.values(("a", args[0], args[1][2]), scope)]
            if len(args) == 3 and args[2] is not None and args[2][0] != "*":
                parts.append(self.values(args[2], scope))
            return self._union(parts)
        if name in PARTIAL_NAMES:
            if any(a is not None and a[0] == "*" for a in args):
                return None
            bound = len(args) - 1
            keywords = tuple(sorted(k for k, _ in call.kwargs))
            return value_set([_partial_of(f, bound, keywords) for f in ordered(self.values(args[0], scope)[0])])
        if any(a is None or a[0] == "*" for a in args):
            return None
        if name == "<builtin>.enumerate":
            return sequence_result(scope, (("l", (("n", "<int>"), ("i", args[0]))),), "<builtin>.enumerate")
        if name == "<builtin>.zip":
            return sequence_result(scope, (("l", tuple(("i", a) for a in args)),), "<builtin>.zip")
        if name == "<builtin>.map":
            # the function comes first; a function found later (an iterable at run time) counts too,
            # as PyCG reads map: no working program passes one there
            return sequence_result(scope, tuple(("r", a, i > 0) for i, a in enumerate(args)), "<builtin>.map")
        return None


def _partial_of(f: Target, bound: int, keywords: tuple) -> Target:
    """``functools.partial(f, <bound positional arguments>, <keywords>)``; a partial of a partial is
    one partial of its function (so ``g = partial(g, x=1)``, flow-insensitive, does not nest forever)."""
    if f.kind == "partial":
        inner, inner_bound, inner_keywords = f.value
        return make_target(("partial", (inner, inner_bound + bound, tuple(sorted({*inner_keywords, *keywords}))),
                            f.how))
    return make_target(("partial", (f, bound, keywords), f.how))


def _int_key(key: str) -> int | None:
    """An integer subscript key (``0``, ``-1``), None for anything else."""
    return int(key) if key.lstrip("-").isdigit() else None


def _slice_of(key: str) -> slice | None:
    """The slice a ``start:stop[:step]`` key stands for, None when a part is not a literal."""
    parts = key.split(":")
    if "?" in parts or len(parts) > 3:
        return None
    bounds = [_int_key(p) if p else None for p in parts]
    if len(parts) == 3 and bounds[2] == 0:
        return None
    return slice(*bounds)
