"""What names and expressions evaluate to: points-to style values (`Target`) for the call graph.

`Resolver` answers demand-driven, memoized questions (the values of an
expression in a scope, of an attribute of a value, of calling a value) over
the symbol table of `astrepo.analyzers.symbols`. What it knows of parameters
(``inflow``) and of what was stored into containers (``stored``) comes from
the previous round of `astrepo.analyzers.callgraph.resolve_project`; every
memoized value records which of those it read, so a round only redoes what
changed. See the call graph module for the approach and its limits.
"""

from __future__ import annotations

import builtins
import heapq
import re
from functools import partial
from typing import NamedTuple

from astrepo.analyzers.symbols import Project
from astrepo.ids import NodeId
from astrepo.model import Binding, BindingKind, CallFact, ScopeFacts

#: How many alias / re-export hops one name may take before we give up
#: (cycles such as ``a = b; b = a`` or mutual re-exports end here).
MAX_RESOLVE_DEPTH = 16

#: Largest set of values one expression may stand for; beyond it the set is
#: cut (deterministically) and the result marked partial.
MAX_VALUES = 64

BUILTIN_NAMES = frozenset(dir(builtins))

#: Heads the extractor gives literals (``", ".join`` is ``<str>.join``).
LITERAL_HEADS = {f"<{t}>": f"<builtin>.{t}" for t in ("str", "bytes", "list", "dict", "set", "tuple", "int", "float")}

#: Builtin types whose slices are of the same type.
_SEQUENCE_TYPES = frozenset(f"<builtin>.{t}" for t in ("str", "bytes", "list", "tuple", "bytearray"))

#: Methods of list / dict displays whose results come from the container (see `callee_results`).
_CONTAINER_READS = {"seq": frozenset(("pop", "copy")),
                    "map": frozenset(("get", "pop", "setdefault", "values", "items", "copy"))}

#: Builtins whose result is the iteration of their first argument (see `call_results`).
_ITERATOR_BUILTINS = frozenset(("<builtin>.next", "<builtin>.iter"))

#: Builtins whose result is a sequence of the items of one argument: name -> (argument position,
#: the builtin type whose methods the result has). See `sequence_result`.
_ITEM_SEQUENCES = {"<builtin>.list": (0, "<builtin>.list"), "<builtin>.tuple": (0, "<builtin>.tuple"),
                   "<builtin>.set": (0, "<builtin>.set"), "<builtin>.frozenset": (0, "<builtin>.frozenset"),
                   "<builtin>.sorted": (0, "<builtin>.list"), "<builtin>.reversed": (0, "<builtin>.reversed"),
                   "<builtin>.filter": (1, "<builtin>.filter")}

#: Operators that give a builtin sequence of the type of their left operand.
_SAME_TYPE_OPERATORS = frozenset(("__add__", "__mul__", "__mod__"))

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


#: ``_target((kind, value, how))`` builds a Target without the Python-level ``__new__`` of a
#: NamedTuple (a measurable share of resolution time at millions of targets).
_target = partial(tuple.__new__, Target)

Vals = tuple  #: (frozenset[Target], reason when empty)

EMPTY: frozenset = frozenset()

#: Decorators that leave the decorated name calling the function itself (no wrapper).
_TRANSPARENT_DECORATORS = frozenset(("staticmethod", "classmethod", "property", "abc.abstractmethod",
                                     "abstractmethod", "typing.overload", "overload"))

#: What methods of builtin types return, where it is a builtin type (``"".join(x).upper()``).
_BUILTIN_RETURNS = {f"<builtin>.str.{m}": "<builtin>.str" for m in (
    "join", "upper", "lower", "strip", "lstrip", "rstrip", "replace", "format", "title", "capitalize",
    "casefold", "center", "ljust", "rjust", "zfill", "expandtabs", "swapcase", "removeprefix", "removesuffix")}
_BUILTIN_RETURNS.update({f"<builtin>.str.{m}": "<builtin>.list" for m in ("split", "rsplit", "splitlines")})
_BUILTIN_RETURNS.update({"<builtin>.dict.copy": "<builtin>.dict", "<builtin>.list.copy": "<builtin>.list"})


def _vals(targets, reason: str = "") -> Vals:
    return (frozenset(targets), reason)


#: Provenances of external values named by the code itself (imports and aliases of them): their
#: attributes are names too (``os.path.join``). An external value that reached a name through a
#: flow (argument, field, return) is an object of unknown type: one attribute is named, no more.
_NAMED_HOW = frozenset(("import", "external"))

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


def clear_order_keys() -> None:
    """Forget the cached sort keys (they are only worth keeping while one project resolves)."""
    _ORDER_KEYS.clear()


def ordered(targets) -> list[Target]:
    """Value sets in a fixed order: evaluating them in hash order made memoized results (with
    their cycle cut-offs) depend on PYTHONHASHSEED, so the call graph differed between runs."""
    return sorted(targets, key=order_key) if len(targets) > 1 else list(targets)


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


class Resolver:
    """Points-to style resolution of names and expressions to sets of `Target` values.

    Demand-driven and memoized per round; parameter values come from the
    arguments seen at resolved call sites in the previous round (`inflow`),
    so `resolve_project` runs rounds until they stop changing.
    """

    def __init__(self, project: Project) -> None:
        self.p = project
        self.memo: dict = {}
        self.active: set = set()
        #: (function id, parameter name) -> values flowing in from call sites (last round)
        self.inflow: dict[tuple[str, str], frozenset] = {}
        #: parameters whose inflow was read this round
        self.demanded: set[tuple[str, str]] = set()
        #: parameters demanded for the first time, in order (drained by `_settle_arguments`)
        self.new_demands: list[tuple[str, str]] = []
        self.partial = False
        #: memo key -> the inflow keys its value depends on; a stack of such sets being collected
        self.memo_deps: dict = {}
        #: inflow key -> memo keys that read it (some may have been recomputed since: check memo_deps)
        self.readers: dict = {}
        self.deps_stack: list[set] = []
        #: ``<builtin>.`` dotted name -> whether this interpreter's builtins have it
        self.builtin_names: dict[str, bool] = {}
        #: list/dict display (a seq / map target's value) -> what was stored into it, as
        #: ((key, values), ...), key "" when unknown; from the previous round, like ``inflow``
        self.stored: dict = {}
        #: how many values were cut short so far (a cycle entered again, the depth budget, a class
        #: hierarchy read before its bases were) -- see `_exact`
        self.cuts = 0

    def reset(self) -> None:
        self.memo.clear()
        self.memo_deps.clear()
        self.active.clear()

    # -- values of expressions ---------------------------------------------------
    def values(self, expr, scope: ScopeFacts, depth: int = 0) -> Vals:
        if expr is None:
            return (EMPTY, "expression not understood")
        key = (scope.id, expr)
        cached = self.memo.get(key)
        if cached is not None:  # the hit path of _memoized, inlined: most lookups end here
            if self.deps_stack:
                deps = self.memo_deps.get(key)
                if deps:
                    self.deps_stack[-1].update(deps)
            return cached
        return self._compute(key, lambda: self._values(expr, scope, depth + 1), depth)

    def _memoized(self, key, compute, depth: int):
        """Memoize ``compute()`` under ``key``, remembering which parameter inflows it read."""
        cached = self.memo.get(key)
        if cached is not None:
            if self.deps_stack:
                deps = self.memo_deps.get(key)
                if deps:
                    self.deps_stack[-1].update(deps)
            return cached
        return self._compute(key, compute, depth)

    def _compute(self, key, compute, depth: int):
        """`_memoized` for a key known to be absent from the memo."""
        stack = self.deps_stack
        if key in self.active or depth > MAX_RESOLVE_DEPTH:
            self.cuts += 1
            return (EMPTY, "recursive value")
        self.active.add(key)
        stack.append(set())
        try:
            result = compute()
        finally:
            self.active.discard(key)
            mine = stack.pop()
            if stack:
                stack[-1].update(mine)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], frozenset) \
                and len(result[0]) > MAX_VALUES:
            self.partial = True
            result = (frozenset(heapq.nsmallest(MAX_VALUES, result[0], key=order_key)), result[1])
        self.memo[key] = result
        if mine:
            self.memo_deps[key] = frozenset(mine)
            readers = self.readers
            for dep in mine:
                found = readers.get(dep)
                if found is None:
                    readers[dep] = [key]
                else:
                    found.append(key)
        return result

    def _exact(self, key, compute, depth: int):
        """Memoize ``compute()`` -- a lookup made of memoized values, itself not a memo key of the
        resolver's cycle detection -- only when it is exactly what computing it again would give.

        That holds when nothing was cut short while computing it (no value met a cycle or the depth
        budget, see ``cuts``) and the depth now is at most the depth it was computed at (no deeper
        budget check can fail): every value it read is memoized then, and unchanged until one of
        the inflows it read changes, which forgets this value too (``memo_deps``). Kept in ``memo``
        as (depth, result).
        """
        memo = self.memo
        found = memo.get(key)
        if found is not None and depth <= found[0]:
            if self.deps_stack:
                deps = self.memo_deps.get(key)
                if deps:
                    self.deps_stack[-1].update(deps)
            return found[1]
        stack = self.deps_stack
        cuts = self.cuts
        stack.append(set())
        try:
            result = compute()
        finally:
            mine = stack.pop()
            if stack:
                stack[-1].update(mine)
        if cuts == self.cuts:
            memo[key] = (depth, result)
            if mine:
                self.memo_deps[key] = frozenset(mine)
                readers = self.readers
                for dep in mine:
                    found = readers.get(dep)
                    if found is None:
                        readers[dep] = [key]
                    else:
                        found.append(key)
        return result

    def invalidate(self, changed: set) -> None:
        """Forget memoized values that read a parameter (or container) whose inflow changed."""
        memo_deps = self.memo_deps
        for dep in changed:
            for k in self.readers.pop(dep, ()):
                deps = memo_deps.get(k)
                if deps is not None and dep in deps:
                    self.memo.pop(k, None)
                    del memo_deps[k]

    def argument(self, expr, scope: ScopeFacts) -> tuple[Target, ...]:
        """The values of an argument expression, tagged "argument" (memoized across rounds)."""
        return self._memoized(("argument", scope.id, expr), lambda: tuple(
            _target((v.kind, v.value, "argument")) for v in self.values(expr, scope, 0)[0]), 0)

    def _union(self, parts) -> Vals:
        if parts.__class__ is list and len(parts) == 1:  # one part: its values, the reason if none
            vals, why = parts[0]
            return (frozenset(vals), "" if vals else (why or "no value"))
        out: set = set()
        reason = ""
        for vals, why in parts:
            out.update(vals)
            if not reason:
                reason = why
        return (frozenset(out), "" if out else (reason or "no value"))

    def _values(self, expr, scope: ScopeFacts, depth: int) -> Vals:
        k = expr[0]
        if k == "n":
            return self.dotted(expr[1], scope, depth)
        if k == "c":
            entry = self.p.calls_at.get((self.p.module_of_scope.get(scope.id, ""), expr[1]))
            if entry is None:
                return (EMPTY, "call not found")
            return self.call_results(entry[0], entry[1], depth)
        if k == "f":
            lid = self.p.lambda_at.get((self.p.module_of_scope.get(scope.id, ""), expr[1]))
            return _vals([Target("def", lid, "local")]) if lid else (EMPTY, "lambda not found")
        if k == "l":
            return _vals([Target("seq", (scope.id, expr), "local")])
        if k == "m":
            return _vals([Target("map", (scope.id, expr), "local")])
        if k == "o":
            return self._union([self.values(e, scope, depth) for e in expr[1]])
        if k == "t":
            t = self.dotted(expr[1], scope, depth)
            return _vals(self.instances_of(t[0], "annotation"))
        if k == "r":  # what calling e returns (``map``'s items); strict: functions only
            found = self.values(expr[1], scope, depth)[0]
            return self._union([self.callee_results(v, depth) for v in ordered(found)
                                if not expr[2] or v.kind == "bound" or (v.kind == "def" and not self.is_class(v.value))])
        base = self.values(expr[2] if k == "p" else expr[1], scope, depth)
        if not base[0]:
            return base
        if k == "a":
            return self._union([self.attribute(v, expr[2], depth) for v in ordered(base[0])])
        if k == "s":
            return self._union(self.subscript(v, expr[2], depth) for v in ordered(base[0]))
        if k == "i":
            return self._union(self.iterate(v, depth) for v in ordered(base[0]))
        if k == "u":
            return self._union(self.unpack(v, expr[2], depth) for v in ordered(base[0]))
        if k == "e":
            return self._union(self.protocol_results(v, "__enter__", depth) for v in ordered(base[0]))
        if k == "p":
            return self._union(self.protocol_results(v, expr[1], depth) for v in ordered(base[0]))
        return (EMPTY, "expression not understood")

    def dotted(self, dotted: str, scope: ScopeFacts, depth: int) -> Vals:
        parts = dotted.split(".")
        if parts[0] == "super()":
            head = self.super_member(parts, scope, depth)
            parts = parts[2:]
        else:
            head = self.lookup(parts[0], scope, depth)
            parts = parts[1:]
        for attr in parts:
            if not head[0]:
                return head
            # provenance stays that of the first name (how the chain was entered)
            head = self._union([self._exact(("attribute of", v, attr),
                                            lambda: self._retag(self.attribute(v, attr, depth), v.how), depth)
                                for v in ordered(head[0])])
        return head

    @staticmethod
    def _retag(vals: Vals, how: str) -> Vals:
        return (frozenset([_target((a.kind, a.value, how)) for a in vals[0]]), vals[1])

    def super_member(self, parts: list[str], scope: ScopeFacts, depth: int) -> Vals:
        cls = self.enclosing_class(scope)
        if cls is None:
            return (EMPTY, "super() outside a method")
        if len(parts) < 2:
            return (EMPTY, "bare super()")
        # The MRO of the receiver's class after ``cls`` (diamonds), else of ``cls``.
        method = self.enclosing_method(scope)
        receivers = [cls.id]
        if method is not None and method.params:
            inflow = self.inflow_of(method.id, method.params[0])
            receivers = sorted({v.value for v in inflow if v.kind == "instance"}) or receivers
        out: set = set()
        for rid in receivers:
            mro = self.mro(rid, depth)
            if cls.id not in mro:
                mro = self.mro(cls.id, depth)
            after = mro[mro.index(cls.id) + 1:]
            member = self.member_in(after, parts[1], depth)
            for v in ordered(member[0]):
                out.add(self.bind_method(v, Target("instance", rid, "super"), "super"))
            if not member[0]:
                ext = self.external_base(cls.id, depth)
                if ext:
                    out.add(Target("external", f"{ext}.{parts[1]}", "super"))
                if ext == "<builtin>.type" and parts[1] == "__call__" and method is not None and method.params:
                    # type.__call__(cls) in a metaclass's __call__ makes the instance: cls's __init__ runs
                    for v in ordered(self.inflow_of(method.id, method.params[0])):
                        if v.kind == "def" and self.is_class(v.value):
                            instance = Target("instance", v.value, "super")
                            out.update(self.bind_method(m, instance, "super")
                                       for m in self.class_member(v.value, "__init__", depth)[0])
        return _vals(out, f"super().{parts[1]} not found in the bases of {cls.qualname}")

    # -- names -------------------------------------------------------------------
    def lookup(self, name: str, scope: ScopeFacts, depth: int) -> Vals:
        s: ScopeFacts | None = scope
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = self.p.scopes.get(s.parent) if s.parent else None
                continue
            binding = s.bindings.get(name)
            if binding is not None:
                return self.name_values(name, binding, s, depth)
            first = False
            s = self.p.scopes.get(s.parent) if s.parent else None
        module = self.module_of(scope)
        for star in self.p.star_imports.get(module, ()):
            found = self.p.find_module(star, module)
            if found is not None:
                member = self.module_member(found, name, depth + 1)
                if isinstance(member, Target):
                    return _vals([Target(member.kind, member.value, "import")])
                if member[0]:
                    return _vals([Target(v.kind, v.value, "import") for v in member[0]])
        if name in BUILTIN_NAMES:
            return _vals([Target("external", f"<builtin>.{name}", "builtin")])
        if name in LITERAL_HEADS:
            return _vals([Target("external", LITERAL_HEADS[name], "literal")])
        return (EMPTY, f"undefined name {name!r}")

    def name_values(self, name: str, binding: Binding, scope: ScopeFacts, depth: int) -> Vals:
        """Values of a name bound in ``scope`` (``binding`` is ``scope.bindings[name]``): its binding
        plus every flow into it (memoized by `_exact`)."""
        return self._exact(("name", scope.id, name), lambda: self._name_values(name, binding, scope, depth), depth)

    def _name_values(self, name: str, binding: Binding, scope: ScopeFacts, depth: int) -> Vals:
        flows = self.p.flows.get(scope.id, {}).get(name, ())
        parts = []
        if binding.kind in (BindingKind.DEF, BindingKind.IMPORT, BindingKind.IMPORT_FROM, BindingKind.PARAM) \
                or not flows:
            parts.append(self.binding_target(name, binding, scope, depth))
        parts.extend(self.values(e, scope, depth) for e in flows)
        return self._union(parts)

    def binding_target(self, name: str, b: Binding, scope: ScopeFacts, depth: int) -> Vals:
        kind = b.kind
        if kind is BindingKind.DEF:
            target = self.p.scopes.get(b.target)
            if target is not None and target.decorated_by:
                return self.decorated(target, depth)[0]
            return _vals([Target("def", b.target, "local")])
        if kind is BindingKind.IMPORT:
            found = self.p.find_module(b.target, self.module_of(scope))
            if found is not None:
                return _vals([Target("module", found, "import")])
            return _vals([Target("external", b.target, "external")])
        if kind is BindingKind.IMPORT_FROM:
            t = self.qualified(b.target, self.module_of(scope), depth + 1)
            return _vals([t]) if isinstance(t, Target) else t
        if kind is BindingKind.ALIAS:
            return self.dotted(b.target, scope, depth + 1)
        if kind is BindingKind.INSTANCE:
            t = self.dotted(b.target, scope, depth + 1)
            out = self.instances_of(t[0], None)
            return _vals(out, f"{name!r} holds the result of a call to {b.target!r}")
        if kind is BindingKind.PARAM:
            return self.param_values(name, b, scope, depth)
        return (EMPTY, f"{name!r} is a local variable")

    def param_values(self, name: str, b: Binding, owner: ScopeFacts, depth: int) -> Vals:
        inflow = self.inflow_of(owner.id, name)
        if owner.params and owner.params[0] == name and owner.parent:
            parent = self.p.scopes.get(owner.parent)
            if parent is not None and parent.kind == "class":
                decorators = owner.decorators
                if "staticmethod" in decorators:
                    return _vals(inflow, f"{name!r} is a parameter of a staticmethod")
                if "classmethod" in decorators or owner.qualname.rsplit(".", 1)[-1] in (
                        "__new__", "__init_subclass__", "__class_getitem__"):
                    classes = {Target("def", v.value, "self") for v in inflow if v.kind in ("def", "instance")}
                    return _vals(classes or [Target("def", parent.id, "self")])
                if self.p.metaclass and "staticmethod" not in decorators and self.is_metaclass(parent.id):
                    # a method of a metaclass: its receiver is a class
                    classes = {Target("def", v.value, "self") for v in inflow if v.kind == "def" and self.is_class(v.value)}
                    if classes:
                        return _vals(classes)
                instances = {Target("instance", v.value, "self") for v in inflow if v.kind == "instance"}
                return _vals(instances or [Target("instance", parent.id, "self")])
        out = set(inflow)
        annotation = _annotation_name(b.target)
        if annotation:
            outer = self.p.scopes.get(owner.parent) if owner.parent else None
            t = self.dotted(annotation, outer or owner, depth + 1)
            out.update(self.instances_of(t[0], "annotation"))
        return _vals(out, f"{name!r} is a parameter")

    def inflow_of(self, function_id: str, name: str) -> frozenset:
        key = (function_id, name)
        if key not in self.demanded:
            self.demanded.add(key)
            self.new_demands.append(key)
        if self.deps_stack:
            self.deps_stack[-1].add(key)
        return self.inflow.get(key, EMPTY)

    def decorated(self, fscope: ScopeFacts, depth: int) -> tuple[Vals, list]:
        """What a decorated name holds, and the decorator applications [(decorator, argument values)]."""
        key = ("decorated", fscope.id)
        if key in self.active:
            self.cuts += 1
            return (_vals([Target("def", fscope.id, "local")]), [])
        result = self._memoized(key, lambda: self._decorated(fscope, depth), depth)
        if isinstance(result[1], str):  # cut short (too deep): the function itself
            return (_vals([Target("def", fscope.id, "local")]), [])
        return result

    def _decorated(self, fscope: ScopeFacts, depth: int) -> tuple[Vals, list]:
        if True:
            vals = frozenset([Target("def", fscope.id, "local")])
            applications: list = []
            outer = self.p.scopes.get(fscope.parent) if fscope.parent else None
            for dexpr in reversed(fscope.decorated_by):
                if outer is None or dexpr is None:
                    continue
                if dexpr[0] == "n" and (dexpr[1] in _TRANSPARENT_DECORATORS or
                                        dexpr[1].rsplit(".", 1)[-1] in ("setter", "getter", "deleter")):
                    continue
                decorators = self.values(dexpr, outer, depth + 1)[0]
                new: set = set()
                for d in ordered(decorators):
                    applications.append((d, vals))
                    if d.kind == "def" and not self.is_class(d.value):
                        returned = self.returns_of(d.value, depth + 1)
                        new.update(returned or vals)
                    elif d.kind == "def":
                        new.add(Target("instance", d.value, "decorator"))
                    elif d.kind == "instance":
                        new.update(self.protocol_results(d, "__call__", depth)[0] or vals)
                    else:
                        new.update(vals)
                vals = frozenset(new) or vals
            return (_vals(vals), applications)

    # -- attributes, items, iteration, calls -------------------------------------------
    def attribute(self, target: Target, attr: str, depth: int) -> Vals:
        kind = target.kind
        if kind == "external":
            if target.how in _NAMED_HOW or target.value.startswith("<builtin>."):
                return self.external_attribute(target.value, attr, target.how)
            # An external value that flowed here: a class (by its spelling) names its attributes;
            # anything else (``sys.maxsize``, a function's result) is of unknown type.
            if _is_class_name(target.value.rsplit(".", 1)[-1]):
                return _vals([Target("member", f"{target.value}.{attr}", target.how)])
            return (EMPTY, f"attribute {attr!r} of {target.value}, an external value of unknown type")
        if kind == "xinstance":
            return _vals([Target("member", f"{target.value}.{attr}", target.how)])
        if kind == "member":
            return (EMPTY, f"attribute {attr!r} of {target.value}, an external object of unknown type")
        if kind == "module":
            t = self.module_member(target.value, attr, depth)
            return _vals([t]) if isinstance(t, Target) else t
        if kind in ("seq", "map"):
            if attr in _CONTAINER_READS[kind]:  # a method whose result comes from the container
                return _vals([Target("cmethod", (target, attr), target.how)])
            return self.external_attribute(container_type(target), attr, target.how)
        if kind == "def" and self.is_class(target.value):
            return self.class_attribute(target.value, attr, depth, None)
        if kind == "instance":
            return self.class_attribute(target.value, attr, depth, target)
        return (EMPTY, f"attribute {attr!r} of a {kind}")

    def class_attribute(self, class_id: str, attr: str, depth: int, instance: Target | None) -> Vals:
        """``attr`` on a class (instance None) or an instance of it: members along the MRO and fields."""
        return self._exact(("attribute", class_id, attr, instance is None),
                           lambda: self._class_attribute(class_id, attr, depth, instance), depth)

    def _class_attribute(self, class_id: str, attr: str, depth: int, instance: Target | None) -> Vals:
        mro = self.mro(class_id, depth)
        member = self.class_member(class_id, attr, depth)
        out: set = set()
        descriptor = attr in self.p.descriptor_names
        for v in ordered(member[0]):
            if descriptor and v.kind == "instance":
                getters = self.protocol_methods(v, "__get__", depth)
                if getters:  # reading a descriptor gives what its __get__ returns
                    out.update(self._union([self.callee_results(g, depth) for g in getters])[0])
                    continue
            if instance is not None:
                fscope = self.p.scopes.get(v.value) if v.kind == "def" else None
                if fscope is not None and fscope.kind == "function" and "property" in fscope.decorators:
                    out.update(self.returns_of(v.value, depth))
                    continue
                out.add(self.bind_method(v, instance, v.how))
            else:
                out.add(v)
        for cid in mro:
            for scope, expr in self.p.fields.get(cid, {}).get(attr, ()):
                out.update(self.values(expr, scope, depth)[0])
        if attr in self.p.attr_stores:
            for v in ordered(self.stored_attribute(class_id, attr, depth)):
                getters = self.protocol_methods(v, "__get__", depth) if descriptor and v.kind == "instance" else ()
                if getters:
                    out.update(self._union([self.callee_results(g, depth) for g in getters])[0])
                else:
                    out.add(v)
        if not out:
            ext = self.external_base(class_id, depth)
            if ext:
                if ext.startswith("<builtin>."):
                    return self.external_attribute(ext, attr, "external")
                return _vals([Target("member", f"{ext}.{attr}", "external")])
        return _vals(out, member[1] or f"class has no attribute {attr!r}")

    def stored_attribute(self, class_id: str, attr: str, depth: int) -> frozenset:
        """What ``obj.attr = value`` statements (other than ``self.attr = ...`` in its methods) store
        where obj is the class, one of its bases, or an instance of one of them (memoized)."""
        def compute() -> dict:
            by_class: dict = {}
            for scope, head, expr in self.p.attr_stores[attr]:
                classes = {h.value for h in self.values(("n", head), scope, depth + 1)[0]
                           if h.kind in ("def", "instance") and h.value.__class__ is str}
                if classes:
                    vals = self.values(expr, scope, depth + 1)[0]
                    for cid in sorted(classes):
                        by_class.setdefault(cid, set()).update(vals)
            return by_class

        by_class = self._memoized(("stored", attr), compute, depth)
        if by_class.__class__ is not dict:  # cut short (recursive)
            return EMPTY
        out: set = set()
        for cid in self.mro(class_id, depth):
            found = by_class.get(cid)
            if found:
                out.update(found)
        return frozenset(out)

    def external_attribute(self, name: str, attr: str, how: str) -> Vals:
        """``name.attr`` for an external value. Builtins are checked against this interpreter's
        (``<builtin>.str.join`` exists, ``<builtin>.str.decode`` does not); other externals
        have no source here, so any attribute is taken as named."""
        dotted = f"{name}.{attr}"
        if name.startswith("<builtin>."):
            known = self.builtin_names.get(dotted)
            if known is None:
                known = self.builtin_names[dotted] = _is_builtin_name(dotted)
            if not known:
                return (EMPTY, f"builtin {name[10:]} has no attribute {attr!r}")
        return _vals([Target("external", dotted, how)])

    def bind_method(self, v: Target, instance: Target, how: str) -> Target:
        """A method looked up on an instance becomes a bound method (its self is the instance)."""
        if v.kind == "def":
            fscope = self.p.scopes.get(v.value)
            if fscope is not None and fscope.kind == "function" and "staticmethod" not in fscope.decorators:
                parent = self.p.scopes.get(fscope.parent) if fscope.parent else None
                if parent is not None and parent.kind == "class":
                    return _target(("bound", (v.value, instance.value), how))
        return _target((v.kind, v.value, how))

    def class_member(self, class_id: str, attr: str, depth: int) -> Vals:
        """`member_in` the MRO of a project class (memoized by `_exact`)."""
        return self._exact(("member", class_id, attr),
                           lambda: self.member_in(self.mro(class_id, depth), attr, depth), depth)

    def member_in(self, mro: list[str], attr: str, depth: int) -> Vals:
        for cid in mro:
            cls = self.p.scopes.get(cid)
            if cls is None:
                continue
            binding = cls.bindings.get(attr)
            if binding is not None:
                if binding.kind is BindingKind.DEF:
                    return self.binding_target(attr, binding, cls, depth + 1)
                return self.name_values(attr, binding, cls, depth + 1)
        return (EMPTY, f"class has no attribute {attr!r}")

    def subscript(self, target: Target, key: str, depth: int) -> Vals:
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
                return _vals([Target("seq", (scope_id, ("l", tuple(kept))), target.how)])
            index = _int_key(key)
            if exact and index is not None and -len(items) <= index < len(items):
                return self.values(items[index], scope, depth)
            return self._union([self.values(e, scope, depth) for e in items] + [(v, "") for _, v in stored])
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
            return self._union([self.values(e, scope, depth) for e in chosen] + [(v, "") for v in kept])
        if target.kind == "instance":
            return self.protocol_results(target, "__getitem__", depth)
        if target.kind == "view" and target.value[1] == "pair" and key not in ("0", "-2"):
            return self.subscript(target.value[0], "", depth)  # the value of a (key, value) pair
        if target.kind == "external" and target.value in _SEQUENCE_TYPES:
            # slicing gives the same type, an item of a str is a str
            if ":" in key or target.value == "<builtin>.str":
                return _vals([target])
        return (EMPTY, f"item of a {target.kind}")

    def store(self, index: int, store: tuple) -> tuple:
        """What one store puts into which list/dict display: ((display, key, values), ...) (memoized)."""
        scope, container, operation, key, expr = store

        def compute() -> tuple:
            out = []
            for c in ordered(self.dotted(container, scope, 0)[0]):
                if c.kind not in ("seq", "map"):
                    continue
                if operation == "extend" or (operation == "update" and c.kind == "seq"):
                    value = ("i", expr)
                elif operation == "update":
                    value = ("s", expr, "")
                else:
                    value = expr
                vals = self.values(value, scope, 0)[0]
                if vals:
                    out.append((c.value, key, vals))
            return tuple(out)

        return self._memoized(("store", index), compute, 0)

    def stored_in(self, container: Target) -> tuple:
        """What was stored into a list/dict display: ((key, values), ...) (see `settle_items`)."""
        key = ("items", container.value)
        if self.deps_stack:
            self.deps_stack[-1].add(key)
        return self.stored.get(key, ())

    def iterate(self, target: Target, depth: int) -> Vals:
        if target.kind in ("seq", "map"):
            return self.subscript(target, "", depth) if target.kind == "seq" else (EMPTY, "iterating a dict")
        if target.kind == "view":  # d.values(): the values; d.items(): (key, value) pairs
            container, what = target.value
            if what == "items":
                return _vals([Target("view", (container, "pair"), target.how)])
            return self.subscript(container, "", depth)
        if target.kind == "gen":
            return self.yields_of(target.value, depth)
        if target.kind == "instance":
            iterators = self.protocol_results(target, "__iter__", depth)[0]
            return self._union(self.protocol_results(it, "__next__", depth) if it.kind == "instance"
                               else self.iterate(it, depth) for it in iterators if it != target or True)
        return (EMPTY, f"iterating a {target.kind}")

    def unpack(self, target: Target, index: int, depth: int) -> Vals:
        """Item ``index`` of ``target`` unpacked into a tuple target (``a, b = target``): the item
        at that position of a tuple / list display (nothing stored into it; a negative index counts
        from the end; (i, m) for a starred target: the items from i to m before the end), the key
        or the value of a dict item, else any item."""
        if target.kind == "seq":
            items = target.value[1][1]
            if not any(e[0] == "*" for e in items) and not self.stored_in(target):
                scope = self.p.scopes[target.value[0]]
                if index.__class__ is tuple:  # a starred target: the items from i to n before the end
                    return self._union([self.values(e, scope, depth) for e in items[index[0]:len(items) - index[1]]])
                if -len(items) <= index < len(items):
                    return self.values(items[index], scope, depth)
        elif target.kind == "view" and target.value[1] == "pair":
            if index == 0 or index == -2:
                return (EMPTY, "key of a dict item")
            return self.subscript(target.value[0], "", depth)
        return self.iterate(target, depth)

    def protocol_methods(self, target: Target, dunder: str, depth: int) -> list[Target]:
        """The methods a dunder resolves to on an instance (bound), [] when none is defined."""
        if target.kind != "instance" or not self.is_class(target.value):
            return []
        # bind_method reads only the instance's class: one answer per class and dunder
        return self._exact(("protocol", target.value, dunder), lambda: [
            self.bind_method(v, target, "implicit") for v in ordered(self.class_member(target.value, dunder, depth)[0])],
            depth)

    def protocol_results(self, target: Target, dunder: str, depth: int) -> Vals:
        if dunder in _SAME_TYPE_OPERATORS and (target.kind == "seq" or (
                target.kind == "external" and target.value in _SEQUENCE_TYPES)):
            return _vals([target])  # ``b"<" + raw``, ``"%s" % x``, ``[f] * 2``: the same type (with its items)
        return self._union([self.callee_results(m, depth) for m in self.protocol_methods(target, dunder, depth)])

    def returns_of(self, function_id: str, depth: int) -> frozenset:
        fscope = self.p.scopes.get(function_id)
        if fscope is None:
            return EMPTY
        if fscope.yields:
            return frozenset([Target("gen", function_id, "local")])
        return self._exact(("returns", function_id),
                           lambda: self._union([self.values(e, fscope, depth) for e in fscope.returns])[0], depth)

    def yields_of(self, function_id: str, depth: int) -> Vals:
        fscope = self.p.scopes.get(function_id)
        if fscope is None:
            return (EMPTY, "generator not found")
        return self._union(self.values(e, fscope, depth) for e in fscope.yields)

    def callee_results(self, t: Target, depth: int) -> Vals:
        """What calling one value returns."""
        if t.kind == "def":
            if self.is_class(t.value):
                return _vals([Target("instance", t.value, t.how)])
            return _vals(self.returns_of(t.value, depth))
        if t.kind == "bound":
            return _vals(self.returns_of(t.value[0], depth))
        if t.kind == "instance":
            return self.protocol_results(t, "__call__", depth)
        if t.kind == "cmethod":
            container, method = t.value
            if method in ("values", "items"):
                return _vals([Target("view", (container, method), t.how)])
            if method == "copy":
                return _vals([container])
            return self.subscript(container, "", depth)  # get, pop, setdefault: an item
        if t.kind == "external":
            if t.value in _BUILTIN_RETURNS:
                return _vals([Target("external", _BUILTIN_RETURNS[t.value], t.how)])
            return _vals(self.instances_of([t], None), f"result of calling {t.value}")
        return (EMPTY, f"result of calling a {t.kind}")

    def instances_of(self, classes, how: str | None) -> list[Target]:
        """Instances of the classes among ``classes`` (``how`` None: keep each one's provenance).

        Project classes give instances, builtin types stand for their own instances
        (``<builtin>.str``), and an external name spelled like a class (CapWords,
        ``ext.Client``) gives an external instance, whose attributes are named after
        it (``ext.Client.send``); other external callables return something unknown."""
        out = []
        for v in classes:  # no resolution below: any order gives the same set
            if v.kind == "def" and self.is_class(v.value):
                out.append(_target(("instance", v.value, how or v.how)))
            elif v.kind == "external":
                if v.value in BUILTIN_TYPES:
                    out.append(_target((v.kind, v.value, how or v.how)))
                elif not v.value.startswith("<") and _is_class_name(v.value.rsplit(".", 1)[-1]):
                    out.append(_target(("xinstance", v.value, how or v.how)))
        return out

    def callees(self, call: CallFact, scope: ScopeFacts, depth: int = 0) -> Vals:
        if call.func is not None:  # not a name chain, or a method of a display (``{...}.items``)
            return self.values(call.func, scope, depth)
        if call.callee:
            return self.values(("n", call.callee), scope, depth)  # memoized per (scope, text)
        return (EMPTY, "callee is not a name")

    def call_results(self, call: CallFact, scope: ScopeFacts, depth: int) -> Vals:
        def compute() -> Vals:
            vals = self.callees(call, scope, depth)
            if not vals[0]:
                return vals
            parts = []
            for t in ordered(vals[0]):
                found = self.builtin_results(t, call, scope, depth) if t.kind == "external" else None
                parts.append(found if found is not None else self.callee_results(t, depth))
            return self._union(parts)

        return self._memoized(("result", call.id), compute, depth)

    def builtin_results(self, t: Target, call: CallFact, scope: ScopeFacts, depth: int) -> Vals | None:
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
            return self.values(("i", args[0]) if name == "<builtin>.next" else args[0], scope, depth)
        if name in _ITEM_SEQUENCES:
            position, kind = _ITEM_SEQUENCES[name]
            if position >= len(args) or args[position] is None or args[position][0] == "*":
                return None
            return sequence_result(scope, (("i", args[position]),), kind)
        if name == "<builtin>.getattr" and 2 <= len(args) <= 3 and args[1] is not None and len(args[1]) == 3 \
                and args[1][1] == "<str>":
            parts = [self.values(("a", args[0], args[1][2]), scope, depth)]
            if len(args) == 3 and args[2] is not None and args[2][0] != "*":
                parts.append(self.values(args[2], scope, depth))
            return self._union(parts)
        if name in PARTIAL_NAMES:
            if any(a is not None and a[0] == "*" for a in args):
                return None
            bound = len(args) - 1
            keywords = tuple(sorted(k for k, _ in call.kwargs))
            return _vals([_target(("partial", (f, bound, keywords), f.how))
                          for f in ordered(self.values(args[0], scope, depth)[0])])
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

    # -- modules and classes ------------------------------------------------------------
    def module_of(self, scope: ScopeFacts) -> str:
        return self.p.module_of_scope.get(scope.id, "")

    def is_class(self, node_id) -> bool:
        s = self.p.scopes.get(node_id) if isinstance(node_id, str) else None
        return s is not None and s.kind == "class"

    def qualified(self, name: str, importer: str, depth: int):
        """Resolve an absolute dotted name ``pkg.mod.attr`` (from an import)."""
        found = self.p.find_module(name, importer)
        if found is not None:
            return Target("module", found, "import")
        if "." not in name:
            return Target("external", name, "external")
        module, attr = name.rsplit(".", 1)
        found = self.p.find_module(module, importer)
        if found is None:
            return Target("external", name, "external")
        member = self.module_member(found, attr, depth)
        if isinstance(member, Target):
            return Target(member.kind, member.value, "import")
        return (frozenset([_target((v.kind, v.value, "import")) for v in member[0]]), member[1])

    def module_member(self, module: str, attr: str, depth: int):
        if depth > MAX_RESOLVE_DEPTH:
            self.cuts += 1
            return (EMPTY, "resolution depth exceeded")
        sub = f"{module}.{attr}"
        scope = self.p.modules.get(module)
        if scope is not None:
            binding = scope.bindings.get(attr)
            if binding is not None:
                return self.name_values(attr, binding, scope, depth + 1)
        if self.p.is_module(sub):
            return Target("module", sub, "import")
        for star in self.p.star_imports.get(module, ()):
            found = self.p.find_module(star, module)
            if found is None:
                continue
            member = self.module_member(found, attr, depth + 1)
            if isinstance(member, Target) or member[0]:
                return member
        if scope is None:
            return (EMPTY, f"module {module} has no source in the project")
        return (EMPTY, f"module {module} has no attribute {attr!r}")

    def enclosing_method(self, scope: ScopeFacts) -> ScopeFacts | None:
        s: ScopeFacts | None = scope
        while s is not None:
            parent = self.p.scopes.get(s.parent) if s.parent else None
            if s.kind == "function" and parent is not None and parent.kind == "class":
                return s
            s = parent
        return None

    def enclosing_class(self, scope: ScopeFacts) -> ScopeFacts | None:
        method = self.enclosing_method(scope)
        return self.p.scopes.get(method.parent) if method is not None and method.parent else None

    def bases(self, cls: ScopeFacts, depth: int) -> list[Target | str]:
        """Each base class expression resolved to one target (the first value), or the reason."""
        result = self._memoized(("bases", cls.id), lambda: self._bases(cls, depth), depth)
        return result if isinstance(result, list) else []

    def _bases(self, cls: ScopeFacts, depth: int) -> list[Target | str]:
        parent = self.p.scopes.get(cls.parent) if cls.parent else None
        if parent is None:
            return []
        out: list[Target | str] = []
        for base in cls.bases:
            vals, why = self.dotted(base, parent, depth + 1)
            defs = sorted((v if v.kind != "member" else Target("external", v.value, v.how)
                           for v in vals if v.kind in ("def", "external", "member")), key=order_key)
            out.append(defs[0] if defs else (why or f"base {base!r} not understood"))
        return out

    def mro(self, class_id: str, depth: int = 0) -> list[str]:
        """C3 linearization of a project class (its project bases only), as node IDs."""
        key = ("mro", class_id)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        if key in self.active:
            self.cuts += 1
            return [class_id]
        self.active.add(key)
        stack = self.deps_stack
        stack.append(set())
        try:
            cls = self.p.scopes.get(class_id)
            bases = [b.value for b in self.bases(cls, depth) if isinstance(b, Target) and b.kind == "def"
                     and self.is_class(b.value)] if cls is not None else []
            result = [class_id] + _c3([self.mro(b, depth) for b in bases] + [bases])
        finally:
            self.active.discard(key)
            mine = stack.pop()
            if stack:
                stack[-1].update(mine)
        if mine:  # read inflows now, but not when it is looked up again: see `_exact`
            self.cuts += 1
        self.memo[key] = result
        return result

    def is_metaclass(self, class_id: str) -> bool:
        """Whether a project class derives from ``type``."""
        return self.external_base(class_id, 0) == "<builtin>.type"

    def metaclass_methods(self, class_id: str, name: str) -> list[Target]:
        """The project methods ``name`` of the metaclass of a class (declared on it or on a base),
        as def targets: ``__call__`` runs when the class is called, ``__init__`` / ``__new__``
        when its class statement runs."""
        if not self.p.metaclass:
            return []
        key = ("metaclass", class_id, name)
        found = self.memo.get(key)
        if found is None:
            stack = self.deps_stack
            stack.append(set())
            out: set = set()
            for cid in self.mro(class_id):
                expr = self.p.metaclass.get(cid)
                cls = self.p.scopes.get(cid)
                outer = self.p.scopes.get(cls.parent) if cls is not None and cls.parent else None
                if expr is None or outer is None:
                    continue
                for m in ordered(self.values(expr, outer, 0)[0]):
                    if m.kind == "def" and self.is_class(m.value):
                        out.update(v for v in self.class_member(m.value, name, 0)[0]
                                   if v.kind == "def" and not self.is_class(v.value))
                break
            mine = stack.pop()
            if stack:
                stack[-1].update(mine)
            if mine:  # read inflows now, but not when it is looked up again: see `_exact`
                self.cuts += 1
            found = self.memo[key] = ordered(out)
        return found

    def external_base(self, class_id: str, depth: int) -> str:
        return self._exact(("external base", class_id), lambda: self._external_base(class_id, depth), depth)

    def _external_base(self, class_id: str, depth: int) -> str:
        for cid in self.mro(class_id, depth):
            cls = self.p.scopes.get(cid)
            if cls is None:
                continue
            for base in self.bases(cls, depth):
                if isinstance(base, Target) and base.kind == "external":
                    return base.value
        return ""


#: Names of ``functools.partial`` as the resolver sees them.
PARTIAL_NAMES = frozenset(("functools.partial",))


def sequence_result(scope: ScopeFacts, items: tuple, kind: str) -> Vals:
    """A sequence built by a builtin call in ``scope``: a list display of ``items`` (expressions
    of that scope) whose methods are those of the builtin type ``kind``."""
    return _vals([_target(("seq", (scope.id, ("l", items), kind), "builtin"))])


def container_type(target: Target) -> str:
    """The builtin type of a list / dict display (or of a sequence a builtin built)."""
    if target.kind == "seq":
        return target.value[2] if len(target.value) == 3 else "<builtin>.list"
    return "<builtin>.dict"


def _c3(seqs: list[list[str]]) -> list[str]:
    """Merge step of the C3 linearization; falls back to depth-first order on inconsistent hierarchies."""
    seqs = [list(s) for s in seqs if s]
    out: list[str] = []
    while seqs:
        for seq in seqs:
            head = seq[0]
            if not any(head in s[1:] for s in seqs):
                break
        else:  # inconsistent: take the first head anyway
            head = seqs[0][0]
        out.append(head)
        seqs = [[c for c in s if c != head] for s in seqs]
        seqs = [s for s in seqs if s]
    return out


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _annotation_name(annotation: str) -> str:
    """The class named by a simple annotation (``Foo``, ``"pkg.Foo"``), "" for anything else."""
    text = annotation.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text if _DOTTED.fullmatch(text) else ""


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


def _is_class_name(name: str) -> bool:
    """Spelled like a class by PEP 8 (``Client``, ``HTTPServer``; not ``URL``, ``get``)."""
    name = name.lstrip("_")
    return name[:1].isupper() and not name.isupper()


def _is_builtin_name(dotted: str) -> bool:
    """Whether ``<builtin>.a.b`` names something in the builtins module (``str.join``: yes)."""
    obj: object = builtins
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return False
    return True


_MISSING = object()
