"""Cross-file name resolution: CALLS, IMPORTS and INHERITS edges, external symbols.

Approach: every file's scopes, bindings, imports and call sites (extracted
per file) form a project-wide symbol table. A dotted callee such as
``self.store.get`` is resolved by looking its first name up through the
lexical scopes (function, enclosing functions, module, builtins; class scopes
are skipped from nested functions, as Python does), then walking attributes:
a module's members (following re-exports and star imports), a class's
members along its bases in declaration order, an instance's class members.

Values are sets (points-to style): a name stands for every value flowing
into it in its scope (assignments, ``or``/``if`` alternatives, loops over
list/tuple displays, ``with ... as``, parameter defaults), calls stand for
what their callees return (classes -> instances, functions -> their
``return``s, generator functions -> generator objects whose iteration yields
their ``yield``s), attributes of instances include ``self.attr = ...`` fields,
decorated names hold what the decorator returns, and parameters receive the
arguments of resolved call sites (``self`` the receiver). List and dict
displays hold their items plus what is stored into them anywhere
(``d[k] = f``, ``xs.append(f)``, ``extend``, ``update``, ``setdefault``);
subscripts pick items by literal key or index, slices keep the items they
select. Parameter values and container contents need the call graph and vice
versa, so resolution runs in rounds (MAX_FLOW_ROUNDS, incremental: only what
read a changed parameter or container is redone); within a round, values
handed on from parameter to parameter settle in passes (MAX_ARGUMENT_PASSES).
On overrun the result is marked partial and logged. Implicit calls (operator
dunders, ``for`` -> ``__iter__``/``__next__``, ``with`` ->
``__enter__``/``__exit__``, calling an instance -> ``__call__``, property reads)
and decorator applications become scope-level CALLS edges; builtins calling a
function argument (``map``, ``filter``, ``sorted(key=)``) add edges from the
calling scope. Every edge carries its provenance (local, import, self, super,
annotation, argument, implicit, decorator, callback, property, builtin, external).

External names (no source here) are named as imported (``os.path.join``). An
external spelled like a class (CapWords) called or used as an annotation gives
an external instance whose attributes are named after the class
(``ext.Client.send``); attributes of builtins are checked against this
interpreter's builtins (``<builtin>.bytes.decode`` exists, ``<builtin>.str.decode``
does not). An attribute of an external object whose type is unknown (a data
attribute of an external base class, of an external instance, or an external
value that flowed in) can be called by its name but has no known attributes,
so names never grow into chains like ``Base.conn.cursor.execute``.

Invariants: the result is a pure function of the inputs, sorted, so an
incremental index equals a full one (sets are iterated in sorted order where
order matters: cycle cut-offs depend on evaluation order). Known limits:
flow-insensitive within a scope (every assignment of a name counts) and
context-insensitive (a parameter holds the arguments of every call site);
stores into containers count only for list/dict displays, not for ``list()``
or ``dict()`` results; results of external calls are unknown unless the
callee is spelled like a class; a value computed inside a recursive cycle may
be cut short ("recursive value"); sets larger than MAX_VALUES are cut
(partial). Such calls are reported unresolved with the reason.
"""

from __future__ import annotations

import builtins
import re
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import NamedTuple

from astrepo.ids import NodeId, external_id
from astrepo.model import Binding, BindingKind, CallFact, Edge, EdgeKind, ImportFact, Node, NodeKind, NO_SPAN, ScopeFacts

#: How many alias / re-export hops one name may take before we give up
#: (cycles such as ``a = b; b = a`` or mutual re-exports end here).
MAX_RESOLVE_DEPTH = 16

#: Largest set of values one expression may stand for; beyond it the set is
#: cut (deterministically) and the result marked partial.
MAX_VALUES = 64

#: Rounds of "resolve every call, then feed arguments into parameters": each
#: round lets values travel one more call deep. On overrun the result is
#: marked partial (logged), never an error.
MAX_FLOW_ROUNDS = 3

#: How often one parameter's inflow may be recomputed within a round (`_settle_arguments`) as
#: the arguments feeding it change; past it the rest waits for the next round.
MAX_ARGUMENT_PASSES = 4

log = logging.getLogger(__name__)

BUILTIN_NAMES = frozenset(dir(builtins))

#: Heads the extractor gives literals (``", ".join`` is ``<str>.join``).
LITERAL_HEADS = {f"<{t}>": f"<builtin>.{t}" for t in ("str", "bytes", "list", "dict", "set", "tuple", "int", "float")}

#: Builtin types whose slices are of the same type.
_SEQUENCE_TYPES = frozenset(f"<builtin>.{t}" for t in ("str", "bytes", "list", "tuple", "bytearray"))

#: Builtins whose result is the iteration of their first argument (see `call_results`).
_ITERATOR_BUILTINS = frozenset(("<builtin>.next", "<builtin>.iter"))

#: Operators that give a builtin sequence of the type of their left operand.
_SAME_TYPE_OPERATORS = frozenset(("__add__", "__mul__", "__mod__"))

#: Builtin classes whose instances' methods we name (``<builtin>.str.join``).
BUILTIN_TYPES = frozenset(f"<builtin>.{t}" for t in (
    "str", "bytes", "list", "dict", "set", "frozenset", "tuple", "int", "float", "bytearray"))

_SCOPE_TABLES = {"module": NodeKind.MODULE, "class": NodeKind.CLASS, "function": NodeKind.FUNCTION,
                 "lambda": NodeKind.FUNCTION}


class ModuleInputs(NamedTuple):
    """What resolution needs of one file (a projection of its `FileFacts`)."""

    path: str
    module: str
    is_package: bool
    scopes: tuple[ScopeFacts, ...]
    calls: tuple[CallFact, ...]
    imports: tuple[ImportFact, ...]


class Target(NamedTuple):
    """What a name or expression evaluates to, as far as we know statically.

    A NamedTuple rather than a frozen dataclass: millions are built and hashed
    per project, and tuple construction, hashing and equality run in C.
    """

    #: module | def | instance | external, and inside the resolver also bound (a method
    #: with its receiver), gen (a generator object), seq / map (a list or dict display),
    #: xinstance (an instance of an external class), member (an attribute of an external
    #: object: callable by its name, its own attributes unknown)
    kind: str
    #: module name, node ID, class node ID, external dotted name; (function ID, class ID)
    #: for bound; (scope ID, Expr) for seq / map; external dotted name for xinstance / member
    value: str
    how: str  #: provenance of the first name: local, import, self, super, builtin, external


@dataclass(slots=True)
class Resolution:
    """Result of resolving a whole project."""

    edges: list[Edge] = field(default_factory=list)
    externals: list[Node] = field(default_factory=list)
    #: reasons why calls stayed unresolved, counted
    unresolved: Counter = field(default_factory=Counter)
    resolved_calls: int = 0
    external_calls: int = 0
    #: a budget (MAX_FLOW_ROUNDS, MAX_VALUES) ran out: some edges may be missing
    partial: bool = False


class _Project:
    """The symbol table of all files."""

    def __init__(self, inputs: list[ModuleInputs]) -> None:
        self.modules: dict[str, ScopeFacts] = {}
        self.module_files: dict[str, ModuleInputs] = {}
        self.scopes: dict[NodeId, ScopeFacts] = {}
        self.star_imports: dict[str, list[str]] = {}
        self.packages: set[str] = set()
        self.module_of_scope: dict[str, str] = {}
        #: (module, end byte) -> the call there and its scope
        self.calls_at: dict[tuple[str, int], tuple[CallFact, ScopeFacts]] = {}
        #: (module, start byte) -> lambda scope ID
        self.lambda_at: dict[tuple[str, int], str] = {}
        #: scope ID -> name -> expressions flowing into it
        self.flows: dict[str, dict[str, list]] = {}
        #: class ID -> attribute -> [(method scope, expression)] from ``self.attr = ...``
        self.fields: dict[str, dict[str, list]] = {}
        #: names of properties and of dunder methods defined anywhere (prefilters implicit calls)
        self.property_names: set[str] = set()
        self.dunders: set[str] = set()
        #: stores into containers: (scope, container text, operation, key, expression), the
        #: operation "item" (``c[key] = e``), "add" (``c.append(e)``, ``c.add(e)``, ``c.insert(i, e)``,
        #: ``c.setdefault(k, e)``), "extend" (``c.extend(e)``) or "update" (``c.update(e)``)
        self.item_stores: list[tuple[ScopeFacts, str, str, str, Expr]] = []
        for mod in inputs:
            if not mod.scopes:
                continue
            for scope in mod.scopes:
                self.scopes[scope.id] = scope
                self.module_of_scope[scope.id] = mod.module
                if scope.kind == "lambda":
                    self.lambda_at[(mod.module, scope.start)] = scope.id
                self._index_flows(scope)
            by_id = {scope.id: scope for scope in mod.scopes}
            for call in mod.calls:
                scope = by_id.get(call.scope)
                if scope is not None:
                    self.calls_at[(mod.module, call.end)] = (call, scope)
                    if "." in call.callee and call.args:
                        self._index_container_call(call, scope)
            if mod.module not in self.modules:  # first by path wins for duplicate names
                self.modules[mod.module] = mod.scopes[0]
                self.module_files[mod.module] = mod
            for scope in mod.scopes:
                self.scopes[scope.id] = scope
            for imp in mod.imports:
                if imp.star and imp.scope == mod.scopes[0].id:
                    self.star_imports.setdefault(mod.module, []).append(imp.module)
            parts = mod.module.split(".")
            for i in range(1, len(parts)):
                self.packages.add(".".join(parts[:i]))

    def _index_flows(self, scope: ScopeFacts) -> None:
        parent = None
        if scope.kind == "function" and scope.parent:
            parent = next((s for s in [self.scopes.get(scope.parent)] if s is not None and s.kind == "class"), None)
            name = scope.qualname.rsplit(".", 1)[-1]
            if parent is not None:
                if "property" in scope.decorators:
                    self.property_names.add(name)
                if name.startswith("__"):
                    self.dunders.add(name)
        if not scope.flows:
            return
        by_name: dict[str, list] = {}
        self_name = scope.params[0] if parent is not None and scope.params else ""
        for target, expr in scope.flows:
            if target.endswith("]"):
                container, _, key = target[:-1].partition("[")
                self.item_stores.append((scope, container, "item", key, expr))
            elif "." not in target:
                by_name.setdefault(target, []).append(expr)
            elif self_name and target.count(".") == 1 and target.startswith(self_name + "."):
                attrs = self.fields.setdefault(parent.id, {})
                attrs.setdefault(target.split(".", 1)[1], []).append((scope, expr))
        self.flows[scope.id] = by_name

    def _index_container_call(self, call: CallFact, scope: ScopeFacts) -> None:
        container, method = call.callee.rsplit(".", 1)
        operation, position = _CONTAINER_STORES.get(method, ("", 0))
        if operation and position < len(call.args) and call.args[position] is not None \
                and call.args[position][0] != "*":
            self.item_stores.append((scope, container, operation, "", call.args[position]))

    def is_module(self, name: str) -> bool:
        return name in self.modules or name in self.packages

    def find_module(self, name: str, importer: str) -> str | None:
        """A project module for an absolute name, or an implicit sibling of ``importer``."""
        if self.is_module(name):
            return name
        if "." in importer:
            sibling = importer.rsplit(".", 1)[0] + "." + name
            if self.is_module(sibling):
                return sibling
        return None


Vals = tuple  #: (frozenset[Target], reason when empty)
EMPTY: frozenset = frozenset()

#: Decorators that leave the decorated name calling the function itself (no wrapper).
_TRANSPARENT_DECORATORS = frozenset(("staticmethod", "classmethod", "property", "abc.abstractmethod",
                                     "abstractmethod", "typing.overload", "overload"))

#: Methods of builtin containers that store an argument: name -> (operation, argument position).
_CONTAINER_STORES = {"append": ("add", 0), "add": ("add", 0), "insert": ("add", 1), "setdefault": ("add", 1),
                     "extend": ("extend", 0), "update": ("update", 0)}

#: Builtins that call a function argument: name -> (positions, keywords) of the function arguments.
_HIGHER_ORDER = {
    "<builtin>.map": ((0,), ()), "<builtin>.filter": ((0,), ()), "<builtin>.sorted": ((), ("key",)),
    "<builtin>.min": ((), ("key",)), "<builtin>.max": ((), ("key",)), "functools.reduce": ((0,), ()),
    "<builtin>.list.sort": ((), ("key",)),
}

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


def _order(t: Target) -> tuple[str, str, int, str]:
    """A total, deterministic order of targets (the best provenance first among equal ones)."""
    return (t.kind, str(t.value), _HOW_RANK.get(t.how, 99), t.how)


def _ordered(targets) -> list[Target]:
    """Value sets in a fixed order: evaluating them in hash order made memoized results (with
    their cycle cut-offs) depend on PYTHONHASHSEED, so the call graph differed between runs."""
    return sorted(targets, key=_order) if len(targets) > 1 else list(targets)


def _unique(targets) -> list[Target]:
    """Targets sorted, one per (kind, value): the best-ranked provenance wins."""
    out: list[Target] = []
    seen: set = set()
    for t in sorted(targets, key=_order):
        if (t.kind, t.value) not in seen:
            seen.add((t.kind, t.value))
            out.append(t)
    return out


class _Resolver:
    """Points-to style resolution of names and expressions to sets of `Target` values.

    Demand-driven and memoized per round; parameter values come from the
    arguments seen at resolved call sites in the previous round (`inflow`),
    so `resolve_project` runs rounds until they stop changing.
    """

    def __init__(self, project: _Project) -> None:
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
        return self._memoized(key, lambda: self._values(expr, scope, depth + 1), depth)

    def _memoized(self, key, compute, depth: int):
        """Memoize ``compute()`` under ``key``, remembering which parameter inflows it read."""
        stack = self.deps_stack
        cached = self.memo.get(key)
        if cached is not None:
            if stack:
                deps = self.memo_deps.get(key)
                if deps:
                    stack[-1].update(deps)
            return cached
        if key in self.active or depth > MAX_RESOLVE_DEPTH:
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
            result = (frozenset(sorted(result[0], key=_order)[:MAX_VALUES]), result[1])
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
            Target(v.kind, v.value, "argument") for v in self.values(expr, scope, 0)[0]), 0)

    def _union(self, parts) -> Vals:
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
            return self._union(self.values(e, scope, depth) for e in expr[1])
        if k == "t":
            t = self.dotted(expr[1], scope, depth)
            return _vals(self.instances_of(t[0], "annotation"))
        base = self.values(expr[2] if k == "p" else expr[1], scope, depth)
        if not base[0]:
            return base
        if k == "a":
            return self._union(self.attribute(v, expr[2], depth) for v in _ordered(base[0]))
        if k == "s":
            return self._union(self.subscript(v, expr[2], depth) for v in _ordered(base[0]))
        if k == "i":
            return self._union(self.iterate(v, depth) for v in _ordered(base[0]))
        if k == "e":
            return self._union(self.protocol_results(v, "__enter__", depth) for v in _ordered(base[0]))
        if k == "p":
            return self._union(self.protocol_results(v, expr[1], depth) for v in _ordered(base[0]))
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
            head = self._union(self._retag(self.attribute(v, attr, depth), v.how) for v in _ordered(head[0]))
        return head

    @staticmethod
    def _retag(vals: Vals, how: str) -> Vals:
        return (frozenset(Target(a.kind, a.value, how) for a in vals[0]), vals[1])

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
            for v in _ordered(member[0]):
                out.add(self.bind_method(v, Target("instance", rid, "super"), "super"))
            if not member[0]:
                ext = self.external_base(cls.id, depth)
                if ext:
                    out.add(Target("external", f"{ext}.{parts[1]}", "super"))
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
        """Values of a name bound in ``scope``: its binding plus every flow into it."""
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
            target = self.p.scopes.get(NodeId(b.target))
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
                for d in sorted(decorators, key=_order):
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
        if kind == "seq":
            return self.external_attribute("<builtin>.list", attr, target.how)
        if kind == "map":
            return self.external_attribute("<builtin>.dict", attr, target.how)
        if kind == "def" and self.is_class(target.value):
            return self.class_attribute(target.value, attr, depth, None)
        if kind == "instance":
            return self.class_attribute(target.value, attr, depth, target)
        return (EMPTY, f"attribute {attr!r} of a {kind}")

    def class_attribute(self, class_id: str, attr: str, depth: int, instance: Target | None) -> Vals:
        """``attr`` on a class (instance None) or an instance of it: members along the MRO and fields."""
        mro = self.mro(class_id, depth)
        member = self.member_in(mro, attr, depth)
        out: set = set()
        for v in _ordered(member[0]):
            if instance is not None:
                fscope = self.p.scopes.get(NodeId(v.value)) if v.kind == "def" else None
                if fscope is not None and fscope.kind == "function" and "property" in fscope.decorators:
                    out.update(self.returns_of(v.value, depth))
                    continue
                out.add(self.bind_method(v, instance, v.how))
            else:
                out.add(v)
        for cid in mro:
            for scope, expr in self.p.fields.get(cid, {}).get(attr, ()):
                out.update(self.values(expr, scope, depth)[0])
        if not out:
            ext = self.external_base(class_id, depth)
            if ext:
                if ext.startswith("<builtin>."):
                    return self.external_attribute(ext, attr, "external")
                return _vals([Target("member", f"{ext}.{attr}", "external")])
        return _vals(out, member[1] or f"class has no attribute {attr!r}")

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
            fscope = self.p.scopes.get(NodeId(v.value))
            if fscope is not None and fscope.kind == "function" and "staticmethod" not in fscope.decorators:
                parent = self.p.scopes.get(fscope.parent) if fscope.parent else None
                if parent is not None and parent.kind == "class":
                    return Target("bound", (v.value, instance.value), how)
        return Target(v.kind, v.value, how)

    def member_in(self, mro: list[str], attr: str, depth: int) -> Vals:
        for cid in mro:
            cls = self.p.scopes.get(NodeId(cid))
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
            scope_id, expr = target.value
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
            scope_id, expr = target.value
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
            for c in _ordered(self.dotted(container, scope, 0)[0]):
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
        if target.kind == "gen":
            return self.yields_of(target.value, depth)
        if target.kind == "instance":
            iterators = self.protocol_results(target, "__iter__", depth)[0]
            return self._union(self.protocol_results(it, "__next__", depth) if it.kind == "instance"
                               else self.iterate(it, depth) for it in iterators if it != target or True)
        return (EMPTY, f"iterating a {target.kind}")

    def protocol_methods(self, target: Target, dunder: str, depth: int) -> list[Target]:
        """The methods a dunder resolves to on an instance (bound), [] when none is defined."""
        if target.kind != "instance" or not self.is_class(target.value):
            return []
        member = self.member_in(self.mro(target.value, depth), dunder, depth)[0]
        return [self.bind_method(v, target, "implicit") for v in sorted(member, key=_order)]

    def protocol_results(self, target: Target, dunder: str, depth: int) -> Vals:
        if target.kind == "external" and dunder in _SAME_TYPE_OPERATORS and target.value in _SEQUENCE_TYPES:
            return _vals([target])  # ``b"<" + raw``, ``"%s" % x``, ``[f] * 2``: the same type
        return self._union(self.callee_results(m, depth) for m in self.protocol_methods(target, dunder, depth))

    def returns_of(self, function_id: str, depth: int) -> frozenset:
        fscope = self.p.scopes.get(NodeId(function_id))
        if fscope is None:
            return EMPTY
        if fscope.yields:
            return frozenset([Target("gen", function_id, "local")])
        return self._union(self.values(e, fscope, depth) for e in fscope.returns)[0]

    def yields_of(self, function_id: str, depth: int) -> Vals:
        fscope = self.p.scopes.get(NodeId(function_id))
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
                out.append(Target("instance", v.value, how or v.how))
            elif v.kind == "external":
                if v.value in BUILTIN_TYPES:
                    out.append(Target(v.kind, v.value, how or v.how))
                elif not v.value.startswith("<") and _is_class_name(v.value.rsplit(".", 1)[-1]):
                    out.append(Target("xinstance", v.value, how or v.how))
        return out

    def callees(self, call: CallFact, scope: ScopeFacts, depth: int = 0) -> Vals:
        if call.callee:
            return self.values(("n", call.callee), scope, depth)  # memoized per (scope, text)
        if call.func is not None:
            return self.values(call.func, scope, depth)
        return (EMPTY, "callee is not a name")

    def call_results(self, call: CallFact, scope: ScopeFacts, depth: int) -> Vals:
        def compute() -> Vals:
            vals = self.callees(call, scope, depth)
            if not vals[0]:
                return vals
            parts = []
            for t in _ordered(vals[0]):
                if t.kind == "external" and t.value in _ITERATOR_BUILTINS and call.args and call.args[0] is not None \
                        and call.args[0][0] != "*":
                    # next(it) is an item of it; iter(xs) iterates like xs
                    arg = call.args[0]
                    parts.append(self.values(("i", arg) if t.value == "<builtin>.next" else arg, scope, depth))
                else:
                    parts.append(self.callee_results(t, depth))
            return self._union(parts)

        return self._memoized(("result", call.id), compute, depth)

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
        return _vals([Target(v.kind, v.value, "import") for v in member[0]], member[1])

    def module_member(self, module: str, attr: str, depth: int):
        if depth > MAX_RESOLVE_DEPTH:
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
                           for v in vals if v.kind in ("def", "external", "member")), key=_order)
            out.append(defs[0] if defs else (why or f"base {base!r} not understood"))
        return out

    def mro(self, class_id: str, depth: int = 0) -> list[str]:
        """C3 linearization of a project class (its project bases only), as node IDs."""
        key = ("mro", class_id)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        if key in self.active:
            return [class_id]
        self.active.add(key)
        try:
            cls = self.p.scopes.get(NodeId(class_id))
            bases = [b.value for b in self.bases(cls, depth) if isinstance(b, Target) and b.kind == "def"
                     and self.is_class(b.value)] if cls is not None else []
            result = [class_id] + _c3([self.mro(b, depth) for b in bases] + [bases])
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def external_base(self, class_id: str, depth: int) -> str:
        for cid in self.mro(class_id, depth):
            cls = self.p.scopes.get(NodeId(cid))
            if cls is None:
                continue
            for base in self.bases(cls, depth):
                if isinstance(base, Target) and base.kind == "external":
                    return base.value
        return ""


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


def resolve_project(inputs: list[ModuleInputs]) -> Resolution:
    """Resolve every call, import and base class of a project."""
    project = _Project(inputs)
    resolver = _Resolver(project)
    out = Resolution()
    externals: dict[str, str] = {}
    imports_seen: dict[tuple[str, str], int] = {}

    def external(name: str, kind: str) -> NodeId:
        externals.setdefault(name, kind)
        return external_id(name)

    ordered = [m for m in sorted(inputs, key=lambda m: m.path) if m.scopes]
    for mod in ordered:
        module_scope = mod.scopes[0]
        # IMPORTS: module -> module (project) or external module.
        for imp in mod.imports:
            targets = []
            found = project.find_module(imp.module, mod.module) if imp.module else None
            if found is not None:
                targets.append((found, True))
                for name in imp.names:
                    sub = project.find_module(f"{found}.{name}", mod.module)
                    if sub is not None:
                        targets.append((sub, True))
            elif imp.module:
                targets.append((imp.module, False))
            for target, internal in targets:
                if target == mod.module:
                    continue
                key = (module_scope.id, target)
                if key not in imports_seen:
                    imports_seen[key] = imp.line
                    if internal:
                        dst = project.modules.get(target)
                        if dst is None:
                            continue  # a namespace package without a file
                        out.edges.append(Edge(EdgeKind.IMPORTS, module_scope.id, NodeKind.MODULE, dst.id,
                                              NodeKind.MODULE, (("line", imp.line),)))
                    else:
                        out.edges.append(Edge(EdgeKind.IMPORTS, module_scope.id, NodeKind.MODULE,
                                              external(target, "module"), NodeKind.EXTERNAL, (("line", imp.line),)))
        # INHERITS: class -> class or external.
        for scope in mod.scopes:
            if scope.kind != "class":
                continue
            for position, base in enumerate(resolver.bases(scope, 0)):
                if isinstance(base, Target) and base.kind == "def" and resolver.is_class(base.value):
                    out.edges.append(Edge(EdgeKind.INHERITS, scope.id, NodeKind.CLASS, NodeId(base.value),
                                          NodeKind.CLASS, (("position", position),)))
                elif isinstance(base, Target) and base.kind == "external":
                    out.edges.append(Edge(EdgeKind.INHERITS, scope.id, NodeKind.CLASS,
                                          external(base.value, _external_kind(base.value)), NodeKind.EXTERNAL,
                                          (("position", position),)))

    # CALLS: rounds of resolution until the values flowing into parameters settle.
    calls: list[tuple[CallFact, ScopeFacts]] = []
    for mod in ordered:
        for call in mod.calls:
            scope = project.scopes.get(call.scope)
            if scope is not None:
                calls.append((call, scope))
    items: dict = {}  #: per call / decorated scope / implicit fact: (result, inflow keys it read)
    changed: set | None = None
    for round_no in range(MAX_FLOW_ROUNDS):
        found_calls, scope_edges, pending = _resolve_round(project, resolver, calls, items, changed)
        start = resolver.inflow
        _settle_arguments(resolver, pending)
        changed = {k for k in start.keys() | resolver.inflow.keys() if start.get(k) != resolver.inflow.get(k)}
        changed |= _settle_items(project, resolver)
        if not changed:
            break
        resolver.invalidate(changed)
    else:
        resolver.partial = True
        log.warning("call resolution stopped after %d rounds (MAX_FLOW_ROUNDS); the call graph is partial",
                    MAX_FLOW_ROUNDS)
    out.partial = resolver.partial

    calls_seen: set[tuple[str, str]] = set()

    def scope_edge(scope: ScopeFacts, dst_id: str, dst_kind: NodeKind, how: str) -> None:
        if (scope.id, dst_id) not in calls_seen:
            calls_seen.add((scope.id, dst_id))
            out.edges.append(Edge(EdgeKind.CALLS, scope.id, _SCOPE_TABLES[scope.kind], NodeId(dst_id), dst_kind,
                                  (("provenance", how),)))

    def endpoint(t: Target) -> tuple[str, NodeKind] | None:
        if t.kind == "external":
            return external(t.value, _external_kind(t.value)), NodeKind.EXTERNAL
        dst = project.scopes.get(NodeId(t.value))
        if dst is None or dst.kind == "module":
            return None
        return dst.id, NodeKind.CLASS if dst.kind == "class" else NodeKind.FUNCTION

    for call, scope, targets, reason in found_calls:
        if not targets:
            out.unresolved[_reason_class(reason)] += 1
            continue
        for t in targets:
            end = endpoint(t)
            if end is None:
                continue
            if t.kind == "external":
                out.external_calls += 1
            else:
                out.resolved_calls += 1
            out.edges.append(Edge(EdgeKind.CALLS, call.id, NodeKind.CALLSITE, NodeId(end[0]), end[1],
                                  (("provenance", t.how),)))
            scope_edge(scope, end[0], end[1], t.how)
    for scope, t in sorted(scope_edges, key=lambda e: (e[0].id, _order(e[1]))):
        end = endpoint(t)
        if end is not None:
            scope_edge(scope, end[0], end[1], t.how)
    out.externals = [
        Node(external_id(name), NodeKind.EXTERNAL, name, "", NO_SPAN, {"kind": kind})
        for name, kind in sorted(externals.items())
    ]
    return out


def _settle_arguments(resolver: _Resolver, pending: list) -> None:
    """Feed the argument flows of a round into the parameters they reach (``resolver.inflow``).

    A worklist: when an argument is itself a parameter (``def f(cb): g(cb)``),
    evaluating it demands that parameter's inflow, which is computed in turn;
    when a parameter's inflow changes, the arguments that read it are evaluated
    again. A value thus travels down a chain of calls within one round (rounds
    are only needed for calls whose callee is a parameter). Parameters that had
    an inflow already take their new one at the end. Each parameter is recomputed
    at most MAX_ARGUMENT_PASSES times per round.
    """
    # Distinct flows: the same argument often flows many times (one call site, many callees;
    # replayed items). ``None`` scope: the argument is a value already (a receiver, a decorated function).
    flows_into: dict = {}  #: parameter -> {argument key: None}
    source: dict = {}  #: argument key -> (scope, expression)
    users: dict = {}  #: argument key -> parameters it flows into
    for key, scope, expr in pending:
        akey = (scope.id, expr) if scope is not None else expr
        into = flows_into.get(key)
        if into is None:
            into = flows_into[key] = {}
        if akey not in into:
            into[akey] = None
            users.setdefault(akey, []).append(key)
            if akey not in source:
                source[akey] = (scope, expr)
    as_argument: dict = {}  #: argument key -> its values, tagged "argument"
    readers: dict = {}  #: parameter -> argument keys whose values read its inflow
    stack = resolver.deps_stack
    demanded = resolver.demanded
    resolver.new_demands.clear()
    start = resolver.inflow
    resolver.inflow = inflow = dict(start)
    later: dict = {}  #: new inflow of parameters that had one at the start of the round
    # Worklist in a fixed order (the order of the flows, then of discovery), never of sets:
    # evaluation order decides where cycles are cut.
    queue = deque(k for k in flows_into if k in demanded)
    queued = set(queue)
    passes: Counter = Counter()
    while queue:
        key = queue.popleft()
        queued.discard(key)
        if passes[key] >= MAX_ARGUMENT_PASSES:
            continue
        passes[key] += 1
        vals: set = set()
        for akey in flows_into[key]:
            found = as_argument.get(akey)
            if found is None:
                scope, expr = source[akey]
                if scope is None:
                    found = (Target(expr.kind, expr.value, "argument"),)
                else:
                    stack.append(set())
                    try:
                        found = resolver.argument(expr, scope)
                    finally:
                        for dep in stack.pop():
                            readers.setdefault(dep, []).append(akey)
                as_argument[akey] = found
            vals.update(found)
        new = frozenset(vals) if vals else None
        if key in start:
            later[key] = new
        elif new != inflow.get(key):
            if new is None:
                del inflow[key]
            else:
                inflow[key] = new
            resolver.invalidate({key})
            for akey in readers.pop(key, ()):
                if as_argument.pop(akey, None) is not None:
                    for k in users[akey]:
                        if k not in queued and k in demanded:
                            queue.append(k)
                            queued.add(k)
        for k in resolver.new_demands:
            if k in flows_into and k not in queued and k not in passes:
                queue.append(k)
                queued.add(k)
        resolver.new_demands.clear()
    # Parameters that had an inflow take their new one for the next round: what read the old
    # one this round is redone then (keeps rounds incremental).
    changed = {k for k, new in later.items() if new != start.get(k)}
    changed.update(k for k in start if k not in passes)  # no longer flowing in (call sites resolve elsewhere)
    for key in changed:
        new = later.get(key)
        if new is None:
            inflow.pop(key, None)
        else:
            inflow[key] = new
    resolver.invalidate(changed)


def _settle_items(project: _Project, resolver: _Resolver) -> set:
    """Evaluate every store into a container (``d[k] = f``, ``handlers.append(f)``) and keep
    what each list/dict display received in ``resolver.stored``; return the containers whose
    contents changed, as dependency keys (what read them is forgotten, and redone next round)."""
    stored: dict = {}
    for index, store in enumerate(project.item_stores):
        for container, key, vals in resolver.store(index, store):
            stored.setdefault(("items", container), set()).add((key, vals))
    new = {k: tuple(sorted(v, key=lambda kv: (kv[0], [_order(t) for t in _ordered(kv[1])]))) for k, v in stored.items()}
    changed = {k for k in new.keys() | resolver.stored.keys() if new.get(k) != resolver.stored.get(k)}
    resolver.stored = new
    resolver.invalidate(changed)
    return changed


def _resolve_round(project: _Project, resolver: _Resolver, calls: list[tuple[CallFact, ScopeFacts]],
                   items: dict, changed: set | None):
    """One pass over every call site, implicit call and decorator application.

    Incremental: an item whose previous result (in ``items``) read no
    parameter inflow in ``changed`` keeps that result.

    Returns (per call: call, scope, sorted callee targets, reason when none),
    scope-level edges [(scope, target)] of implicit calls, and the argument
    flows [((function id, parameter), scope, expression)] for the next round.
    """
    found: list = []
    scope_edges: list = []
    pending: list = []

    def invoke(t: Target, args, kwargs, scope: ScopeFacts) -> list[Target]:
        return _invoke(project, resolver, pending, t, args, kwargs, scope)

    stack = resolver.deps_stack

    def cached(key) -> bool:
        """Replay an item's previous result if nothing it read changed."""
        old = items.get(key)
        if old is None or changed is None or not old[1].isdisjoint(changed):
            return False
        f, e, p = old[0]
        found.extend(f)
        scope_edges.extend(e)
        pending.extend(p)
        return True

    def begin() -> tuple[int, int, int]:
        stack.append(set())
        return len(found), len(scope_edges), len(pending)

    def end(key, marks: tuple[int, int, int]) -> None:
        deps = stack.pop()
        items[key] = ((found[marks[0]:], scope_edges[marks[1]:], pending[marks[2]:]), frozenset(deps))

    for call, scope in calls:
        if cached(call.id):
            continue
        marks = begin()
        vals, reason = resolver.callees(call, scope)
        targets: set = set()
        for t in sorted(vals, key=_order):
            targets.update(invoke(t, call.args, call.kwargs, scope))
            if t.kind == "external" and t.value in _HIGHER_ORDER:
                positions, keywords = _HIGHER_ORDER[t.value]
                fargs = [call.args[i] for i in positions if i < len(call.args)]
                fargs += [e for k, e in call.kwargs if k in keywords]
                for farg in fargs:
                    for f in sorted(resolver.values(farg, scope)[0], key=_order):
                        if f.kind in ("def", "bound"):
                            for callee in invoke(f, (), (), scope):
                                scope_edges.append((scope, Target(callee.kind, callee.value, "callback")))
        if not targets and vals:
            reason = f"calling a {sorted(vals, key=_order)[0].kind}"
        found.append((call, scope, _unique(targets), reason))
        end(call.id, marks)
    for scope in project.scopes.values():
        if scope.implicit and not cached(("implicit", scope.id)):
            marks = begin()
            for protocol, receiver in scope.implicit:
                _implicit_calls(project, resolver, scope, protocol, receiver, scope_edges, pending)
            end(("implicit", scope.id), marks)
        if scope.decorated_by and not cached(("decorated", scope.id)):
            outer = project.scopes.get(scope.parent) if scope.parent else None
            if outer is None:
                continue
            marks = begin()
            for d, arg_vals in resolver.decorated(scope, 0)[1]:
                for callee in invoke(d, (), (), outer):
                    if callee.kind == "def" or (callee.kind == "external" and not callee.value.startswith("<")):
                        scope_edges.append((outer, Target(callee.kind, callee.value, "decorator")))
                        fscope = project.scopes.get(NodeId(callee.value)) if callee.kind == "def" else None
                        if fscope is not None and fscope.params:
                            for v in arg_vals:
                                pending.append(((callee.value, fscope.params[0]), None, v))
            end(("decorated", scope.id), marks)
    return found, scope_edges, pending


def _flow_args(project: _Project, pending: list, fid: str, args, kwargs, scope: ScopeFacts,
               receiver: Target | None) -> None:
    """Record the argument expressions of a call of function ``fid`` as flows into its parameters:
    positional ones in order, extra ones into ``*args`` (a tuple of them), keywords by name or
    into ``**kwargs`` (a dict of them), ``*xs`` into every parameter from its position on."""
    fscope = project.scopes.get(NodeId(fid))
    if fscope is None or fscope.kind not in ("function", "lambda"):
        return
    params = fscope.params
    kinds = fscope.param_kinds if len(fscope.param_kinds) == len(params) else "p" * len(params)
    if receiver is not None and params:
        pending.append(((fid, params[0]), None, receiver))
        params, kinds = params[1:], kinds[1:]
    positional = [name for name, kind in zip(params, kinds) if kind == "p"]
    vararg = next((name for name, kind in zip(params, kinds) if kind == "v"), None)
    kwarg = next((name for name, kind in zip(params, kinds) if kind == "w"), None)
    extra = []
    for i, arg in enumerate(args):
        if arg is not None and arg[0] == "*":
            pending.extend(((fid, name), scope, ("i", arg[1])) for name in positional[i:])
            if vararg is not None:
                pending.append(((fid, vararg), scope, arg[1]))
            break
        if i < len(positional):
            if arg is not None:
                pending.append(((fid, positional[i]), scope, arg))
        elif vararg is None:
            break
        elif arg is not None:
            extra.append(arg)
    if extra:
        pending.append(((fid, vararg), scope, ("l", tuple(extra))))
    named = []
    for name, arg in kwargs:
        if arg is None:
            continue
        if name in params and kinds[params.index(name)] in "pk":
            pending.append(((fid, name), scope, arg))
        elif kwarg is not None:
            named.append((f"'{name}'", arg))
    if named:
        pending.append(((fid, kwarg), scope, ("m", tuple(named))))


def _invoke(project: _Project, resolver: _Resolver, pending: list, t: Target, args, kwargs,
            scope: ScopeFacts) -> list[Target]:
    """The callable(s) a call of ``t`` runs; records argument flows."""
    if t.kind == "def":
        if resolver.is_class(t.value):
            inits = resolver.member_in(resolver.mro(t.value), "__init__", 0)[0]
            for init in inits:
                if init.kind == "def":
                    _flow_args(project, pending, init.value, args, kwargs, scope,
                               Target("instance", t.value, "self"))
            return [t]
        _flow_args(project, pending, t.value, args, kwargs, scope, None)
        return [t]
    if t.kind == "bound":
        fid, cid = t.value
        _flow_args(project, pending, fid, args, kwargs, scope, Target("instance", cid, "self"))
        return [Target("def", fid, t.how)]
    if t.kind == "instance":
        out = []
        for m in resolver.protocol_methods(t, "__call__", 0):
            out.extend(_invoke(project, resolver, pending, m, args, kwargs, scope))
        return out
    if t.kind == "external":
        return [t]
    if t.kind == "member":  # an attribute of an external object, called: named like one
        return [Target("external", t.value, t.how)]
    return []


def _implicit_calls(project: _Project, resolver: _Resolver, scope: ScopeFacts, protocol: str, receiver,
                    scope_edges: list, pending: list) -> None:
    """Edges of calls implied by operators, ``for``, ``with`` and property reads."""
    if protocol == "get":
        if receiver[0] != "n" or "." not in receiver[1]:
            return
        head, attr = receiver[1].rsplit(".", 1)
        if attr not in project.property_names:
            return
        for v in resolver.dotted(head, scope, 0)[0]:
            if v.kind != "instance" or not resolver.is_class(v.value):
                continue
            for m in resolver.member_in(resolver.mro(v.value), attr, 0)[0]:
                f = project.scopes.get(NodeId(m.value)) if m.kind == "def" else None
                if f is not None and "property" in f.decorators:
                    scope_edges.append((scope, Target("def", m.value, "property")))
                    if f.params:
                        pending.append(((m.value, f.params[0]), None, v))
        return
    dunders = {"iter": ("__iter__",), "with": ("__enter__", "__exit__")}.get(protocol, (protocol,))
    if not any(d in project.dunders for d in dunders):
        return
    for v in sorted(resolver.values(receiver, scope)[0], key=_order):
        if v.kind != "instance":
            continue
        for dunder in dunders:
            for m in resolver.protocol_methods(v, dunder, 0):
                if m.kind == "bound":
                    scope_edges.append((scope, Target("def", m.value[0], "implicit")))
                    f = project.scopes.get(NodeId(m.value[0]))
                    if f is not None and f.params:
                        pending.append(((m.value[0], f.params[0]), None, v))
                    if dunder == "__iter__":
                        for it in resolver.callee_results(m, 0)[0]:
                            for n in resolver.protocol_methods(it, "__next__", 0):
                                if n.kind == "bound":
                                    scope_edges.append((scope, Target("def", n.value[0], "implicit")))


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


def _external_kind(name: str) -> str:
    return "builtin" if name.startswith("<builtin>.") else "symbol"


def _reason_class(reason: str) -> str:
    """Group unresolved reasons for the summary (drop the specific names)."""
    if reason.startswith("undefined name"):
        return "undefined name"
    if "holds the result of a call" in reason:
        return "result of a call"
    if "is a parameter" in reason:
        return "parameter"
    if "local variable" in reason:
        return "local variable"
    if "has no attribute" in reason:
        return "attribute not found"
    if "of unknown type" in reason:
        return "attribute of an external object"
    if reason.startswith("result of calling "):
        return "result of an external call"
    if "has no source" in reason:
        return "module not in project"
    return reason.split(" (")[0][:60]
