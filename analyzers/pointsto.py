"""What names and expressions evaluate to: points-to style values (`Target`) for the call graph.

`Resolver` answers demand-driven, memoized questions (the values of an
expression in a scope, of an attribute of a value, of calling a value) over
the symbol table of `astrepo.analyzers.symbols`. What it knows of parameters
(``inflow``) and of what was stored into containers (``stored``) comes from
the previous round of `astrepo.analyzers.callgraph.resolve_project`; every
memoized value records which of those it read, so a round only redoes what
changed. Questions that depend on each other round a cycle are iterated to the
cycle's fixpoint (`Resolver._compute`), so answers do not depend on which was
asked first. See the call graph module for the approach and its limits.

The values themselves and their order are in `astrepo.analyzers.targets`; the
rules for classes (MRO, members, attributes, dunders, metaclasses) in
`astrepo.analyzers.classmodel`, for builtin containers and the builtins that
build them in `astrepo.analyzers.containers`, both mixed into `Resolver`.
"""

from __future__ import annotations

import builtins
import re

from astrepo.analyzers.classmodel import ClassModel
from astrepo.analyzers.containers import BUILTIN_RETURNS, CONTAINER_READS, Containers
from astrepo.analyzers.symbols import Project
from astrepo.analyzers.targets import (BUILTIN_TYPES, EMPTY, Target, Vals, MISSING, builtin_object, container_type,
                                       is_class_name, make_target, order_key, ordered, value_set)
from astrepo.model import Binding, BindingKind, CallFact, ScopeFacts

#: How often a cycle of values (``a = b; b = a``, mutual recursion, mutual re-exports) may be
#: computed again before its values are taken as they are (the result is marked partial then).
#: Values only grow along the iterations, so a cycle settles in a few unless a value keeps
#: making new ones (``f = functools.partial(f, x)``).
MAX_CYCLE_ITERATIONS = 32

#: What a cycle assumes of a value at first (see `Resolver._compute`).
RECURSIVE = (EMPTY, "recursive value")

_NO_CYCLE = 1 << 62  #: ``lows`` of a computation that met no cycle
_UNSET = object()

#: Largest set of values one expression may stand for; beyond it the set is
#: cut (deterministically) and the result marked partial.
MAX_VALUES = 64

BUILTIN_NAMES = frozenset(dir(builtins))

#: Heads the extractor gives literals (``", ".join`` is ``<str>.join``).
LITERAL_HEADS = {f"<{t}>": f"<builtin>.{t}" for t in ("str", "bytes", "list", "dict", "set", "tuple", "int", "float")}

#: Decorators that leave the decorated name calling the function itself (no wrapper).
_TRANSPARENT_DECORATORS = frozenset(("staticmethod", "classmethod", "property", "abc.abstractmethod",
                                     "abstractmethod", "typing.overload", "overload"))

#: Provenances of external values named by the code itself (imports and aliases of them): their
#: attributes are names too (``os.path.join``). An external value that reached a name through a
#: flow (argument, field, return) is an object of unknown type: one attribute is named, no more.
_NAMED_HOW = frozenset(("import", "external"))


class Resolver(ClassModel, Containers):
    """Points-to style resolution of names and expressions to sets of `Target` values.

    Demand-driven and memoized per round; parameter values come from the
    arguments seen at resolved call sites in the previous round (`inflow`),
    so `resolve_project` runs rounds until they stop changing.
    """

    def __init__(self, project: Project) -> None:
        self.p = project
        self.memo: dict = {}
        #: the computations under way (a stack): key -> its position; see `_compute`
        self.active: dict = {}
        #: per computation under way: the lowest position of the stack a cycle it met reaches
        self.lows: list[int] = []
        #: keys asked for while under way (the cycles' assumptions) -> their position
        self.heads: dict = {}
        #: key -> the value its cycle assumes of it in this iteration
        self.assume: dict = {}
        #: key -> (value, lowest position it hangs on, what it read): values of unsettled cycles
        self.scratch: dict = {}
        #: how often cycles were computed again, and cycles stopped by MAX_CYCLE_ITERATIONS
        self.cycle_iterations = 0
        self.cycles_capped = 0
        #: (function id, parameter name) -> values flowing in from call sites (last round)
        self.inflow: dict[tuple[str, str], frozenset] = {}
        #: parameters whose inflow was read this round
        self.demanded: set[tuple[str, str]] = set()
        #: parameters demanded for the first time, in order (drained by `_settle_arguments`)
        self.new_demands: list[tuple[str, str]] = []
        self.partial = False
        #: inflow key (function ID, parameter) or container key ("items", display) -> its number, as
        #: the sets of what a value read hold it (cheaper to hash, compare and file than the key)
        self.dep_numbers: dict = {}
        #: a set of inflow numbers -> the memo keys whose values read exactly those (many share one);
        #: a memo entry keeps the set its value read as its last item (None when it read none)
        self.dep_groups: dict = {}
        #: inflow number -> the sets in ``dep_groups`` holding it, when they were recorded (a set since
        #: forgotten may be among them, and its memo keys may have been recomputed: check the entry)
        self.readers: list[list | None] = []
        #: the inflow numbers read by each computation under way (see `_compute`), innermost last
        self.deps_stack: list[set] = []
        #: a value set over MAX_VALUES -> its first MAX_VALUES (the same sets are cut again and again)
        self.cut_sets: dict[frozenset, frozenset] = {}
        #: ``<builtin>.`` dotted name -> what it names in this interpreter's builtins (`builtin_object`)
        self.builtin_objects: dict[str, object] = {}
        #: list/dict display (a seq / map target's value) -> what was stored into it, as
        #: ((key, values), ...), key "" when unknown; from the previous round, like ``inflow``
        self.stored: dict = {}

    def values(self, expr, scope: ScopeFacts) -> Vals:
        if expr is None:
            return (EMPTY, "expression not understood")
        k = expr[0]
        if k == "n" and "." not in expr[1] and expr[1] != "super()":
            # a simple name: its binding's value is memoized (`name_values`), one entry is enough
            return self.lookup(expr[1], scope)
        if k == "c" or k == "l" or k == "m" or k == "f":
            # a call's result is memoized per call (`call_results`); a display or a lambda is one value
            return self._values(expr, scope)
        key = (scope.id, expr)
        cached = self.memo.get(key)
        if cached is not None:  # the hit path of _memoized, inlined: most lookups end here
            if cached[1] is not None and self.deps_stack:
                self.deps_stack[-1].update(cached[1])
            return cached[0]
        return self._compute(key, lambda: self._values(expr, scope))

    def _memoized(self, key, compute, bottom=None):
        """``compute()``, memoized under ``key`` with the parameter inflows (and containers) it read.

        Kept in ``memo`` as (result, what it read or None), only once final. A key asked for again
        while it is computed (a cycle) is not cut there: see `_compute`. ``bottom`` is what a cycle
        assumes of the key at first (the least value; by default no value, "recursive value")."""
        cached = self.memo.get(key)
        if cached is not None:
            if cached[1] is not None and self.deps_stack:
                self.deps_stack[-1].update(cached[1])
            return cached[0]
        return self._compute(key, compute, bottom)

    def _compute(self, key, compute, bottom=None):
        """`_memoized` for a key absent from the memo: cycles are iterated to their fixpoint.

        The computations under way form a stack (``active``: key -> its position). A key asked for
        while it is on the stack answers the value assumed for it (``assume``; ``bottom`` at first)
        and the asker learns the lowest position its value hangs on (``lows``). A computation that
        hung on a position below its own belongs to a cycle entered further up: its value is
        provisional (``scratch``). The first key of a cycle entered (nothing it read hangs below
        it) compares what it and every key assumed in it came to with what was assumed; while any
        differ, it takes them as the new assumptions, forgets the provisional values and computes
        again (`_settle`). Then all of the cycle's values are memoized, as having read everything
        the cycle read. Which key of a cycle is entered first does not change the result: values
        only grow from ``bottom`` along the iterations, to the least fixpoint of the cycle's
        equations. (An exception leaves this state inconsistent: it ends the resolution.)"""
        lows = self.lows
        active = self.active
        position = len(active)
        at = active.setdefault(key, position)
        if at != position:  # a cycle
            if at < lows[-1]:
                lows[-1] = at
            self.heads[key] = at
            found = self.assume.get(key, _UNSET)
            if found is _UNSET:
                found = self.assume[key] = RECURSIVE if bottom is None else bottom
            return found
        if self.scratch:
            found = self.scratch.get(key)
            if found is not None:  # computed already in this iteration of an unsettled cycle
                del active[key]
                value, low, deps = found
                if low < lows[-1]:
                    lows[-1] = low
                if deps and self.deps_stack:
                    self.deps_stack[-1].update(deps)
                return value
        stack = self.deps_stack
        # Written out here and in `_settle` rather than in a helper: a frame more per value is a frame
        # more per link of a chain, and the longest chains resolved (a 30,000-alias test) need them.
        stack.append(set())
        lows.append(_NO_CYCLE)
        result = compute()
        mine = stack.pop()
        low = lows.pop()
        if result.__class__ is tuple and result and result[0].__class__ is frozenset and len(result[0]) > MAX_VALUES:
            result = self._cut(result)
        if low != _NO_CYCLE:
            if low == position:  # the first key of a cycle: iterate it
                result, mine, low = self._settle(key, compute, position, result, mine)
            if low != _NO_CYCLE:  # inside a cycle entered further up: provisional
                del active[key]
                if mine and stack:
                    stack[-1].update(mine)
                if low < lows[-1]:
                    lows[-1] = low
                self.scratch[key] = (result, low, frozenset(mine))
                return result
        del active[key]
        if mine:
            if stack:
                stack[-1].update(mine)
            self.memo[key] = (result, self._depends(key, mine))
        else:
            self.memo[key] = (result, None)
        return result

    def _settle(self, key, compute, position: int, result, mine: set):
        """Iterate the cycle whose first key, at ``position``, is ``key`` (see `_compute`) from its
        first ``result``, until no assumption changes (at most MAX_CYCLE_ITERATIONS times); memoize
        its provisional values. Returns the key's value, what the cycle read and _NO_CYCLE; or, when
        an iteration met a key below it, the lowest position met (all of it is provisional then)."""
        stack = self.deps_stack
        lows = self.lows
        scratch = self.scratch
        assume = self.assume
        assumed: list = []  #: keys this cycle assumed values of, over all its iterations
        iterations = 0
        while True:
            # the keys asked for while under way, at or above this one (inner cycles have settled)
            heads = [h for h, at in self.heads.items() if at >= position]
            assumed += heads
            unsettled = False
            for h in heads:
                now = result if h == key else scratch[h][0]
                if assume[h] != now:
                    assume[h] = now
                    unsettled = True
            for h in heads:
                del self.heads[h]
            if unsettled and iterations < MAX_CYCLE_ITERATIONS:
                iterations += 1
                self.cycle_iterations += 1
                for k in [k for k, v in scratch.items() if v[1] >= position]:
                    del scratch[k]
                stack.append(set())
                lows.append(_NO_CYCLE)
                result = compute()
                mine = stack.pop()
                low = lows.pop()
                if result.__class__ is tuple and result and result[0].__class__ is frozenset \
                        and len(result[0]) > MAX_VALUES:
                    result = self._cut(result)
                if low == position:
                    continue
                if low != _NO_CYCLE:  # part of a cycle entered further up now: it iterates all of it
                    for k, v in scratch.items():
                        if v[1] >= position:
                            scratch[k] = (v[0], low, v[2])
                    for h in assumed:
                        if h not in self.heads:
                            assume.pop(h, None)
                    return result, mine, low
            elif unsettled:
                self.partial = True
                self.cycles_capped += 1
            break
        # settled: the cycle's values are final (each as having read what all of it read)
        memo = self.memo
        for k in [k for k, v in scratch.items() if v[1] >= position]:
            memo[k] = (scratch.pop(k)[0], self._depends(k, mine) if mine else None)
        for h in assumed:
            if h not in self.heads:
                assume.pop(h, None)
        return result, mine, _NO_CYCLE

    def _cut(self, result: Vals) -> Vals:
        """A value set over MAX_VALUES cut to its first MAX_VALUES in order (the same cut whoever
        asks: a function of the set alone)."""
        self.partial = True
        cut = self.cut_sets.get(result[0])
        if cut is None:
            cut = self.cut_sets[result[0]] = frozenset(sorted(result[0], key=order_key)[:MAX_VALUES])
        return (cut, result[1])

    def _depends(self, key, deps: set) -> frozenset:
        """Record that the memoized value of ``key`` read the inflows (and containers) ``deps``;
        returns them as kept in its memo entry."""
        deps = frozenset(deps)
        group = self.dep_groups.get(deps)
        if group is None:  # a new set: filed under each of its keys once
            group = self.dep_groups[deps] = []
            readers = self.readers
            for dep in deps:
                found = readers[dep]
                if found is None:
                    readers[dep] = [deps]
                else:
                    found.append(deps)
        group.append(key)
        return deps

    def read(self, key) -> None:
        """Record that the computation under way (if any) read an inflow or container ``key``."""
        if self.deps_stack:
            self.deps_stack[-1].add(self.dep_number(key))

    def dep_number(self, key) -> int:
        """The number of an inflow or container key (see `read`), given now if it has none yet."""
        number = self.dep_numbers.get(key)
        if number is None:
            number = self.dep_numbers[key] = len(self.readers)
            self.readers.append(None)
        return number

    def dep_numbers_of(self, keys) -> set[int]:
        """The numbers of those inflow or container keys that were ever read (see `read`)."""
        numbers = self.dep_numbers
        return {numbers[k] for k in keys if k in numbers}

    def invalidate(self, changed: set) -> None:
        """Forget memoized values that read a parameter (or container) whose inflow changed."""
        memo = self.memo
        groups = self.dep_groups
        readers = self.readers
        for dep in self.dep_numbers_of(changed):
            found = readers[dep]
            if found is None:
                continue
            readers[dep] = None
            for group in found:
                # A set filed under ``dep`` leaves ``dep_groups`` with it: a later value reading the
                # same set files a new one, under every key again.
                for k in groups.pop(group, ()):
                    entry = memo.pop(k, None)  # (..., what its value read): gone, or recomputed since?
                    if entry is not None and (entry[-1] is None or dep not in entry[-1]):
                        memo[k] = entry  # recomputed without reading ``dep``: kept

    def argument(self, expr, scope: ScopeFacts) -> tuple[Target, ...]:
        """The values of an argument expression, tagged "argument" (memoized across rounds)."""
        return self._memoized(("argument", scope.id, expr), lambda: tuple(
            make_target((v.kind, v.value, "argument")) for v in self.values(expr, scope)[0]), ())

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

    # -- values of expressions and names -------------------------------------------------
    def _values(self, expr, scope: ScopeFacts) -> Vals:
        k = expr[0]
        if k == "n":
            return self.dotted(expr[1], scope)
        if k == "c":
            entry = self.p.calls_at.get((self.p.module_of_scope.get(scope.id, ""), expr[1]))
            if entry is None:
                return (EMPTY, "call not found")
            return self.call_results(entry[0], entry[1])
        if k == "f":
            lid = self.p.lambda_at.get((self.p.module_of_scope.get(scope.id, ""), expr[1]))
            return value_set([make_target(("def", lid, "local"))]) if lid else (EMPTY, "lambda not found")
        if k == "l":
            return value_set([make_target(("seq", (scope.id, expr), "local"))])
        if k == "m":
            return value_set([make_target(("map", (scope.id, expr), "local"))])
        if k == "o":
            return self._union([self.values(e, scope) for e in expr[1]])
        if k == "t":
            t = self.dotted(expr[1], scope)
            return value_set(self.instances_of(t[0], "annotation"))
        if k == "r":  # what calling e returns (``map``'s items); strict: functions only
            found = self.values(expr[1], scope)[0]
            return self._union([self.callee_results(v) for v in ordered(found)
                                if not expr[2] or v.kind == "bound" or (v.kind == "def" and not self.is_class(v.value))])
        base = self.values(expr[2] if k == "p" else expr[1], scope)
        if not base[0]:
            return base
        if k == "a":
            return self._union([self.attribute(v, expr[2]) for v in ordered(base[0])])
        if k == "s":
            return self._union([self.subscript(v, expr[2]) for v in ordered(base[0])])
        if k == "i":
            return self._union([self.iterate(v) for v in ordered(base[0])])
        if k == "u":
            return self._union([self.unpack(v, expr[2]) for v in ordered(base[0])])
        if k == "e":
            return self._union([self.protocol_results(v, "__enter__") for v in ordered(base[0])])
        if k == "p":
            return self._union([self.protocol_results(v, expr[1]) for v in ordered(base[0])])
        return (EMPTY, "expression not understood")

    def dotted(self, dotted: str, scope: ScopeFacts) -> Vals:
        parts = dotted.split(".")
        if parts[0] == "super()":
            head = self.super_member(parts, scope)
            parts = parts[2:]
        else:
            head = self.lookup(parts[0], scope)
            parts = parts[1:]
        memo = self.memo
        stack = self.deps_stack
        for attr in parts:
            if not head[0]:
                return head
            # provenance stays that of the first name (how the chain was entered); the memo's hit
            # path inlined (`_memoized`): a chain's attributes are mostly known already
            found = []
            for v in ordered(head[0]):
                key = ("attribute of", v, attr)
                cached = memo.get(key)
                if cached is None:
                    found.append(self._compute(key, lambda: self._retag(self.attribute(v, attr), v.how)))
                else:
                    if cached[1] is not None and stack:
                        stack[-1].update(cached[1])
                    found.append(cached[0])
            head = self._union(found)
        return head

    @staticmethod
    def _retag(vals: Vals, how: str) -> Vals:
        return (frozenset([make_target((a.kind, a.value, how)) for a in vals[0]]), vals[1])

    def lookup(self, name: str, scope: ScopeFacts) -> Vals:
        s: ScopeFacts | None = scope
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = self.p.scopes.get(s.parent) if s.parent else None
                continue
            binding = s.bindings.get(name)
            if binding is not None:
                return self.name_values(name, binding, s)
            first = False
            s = self.p.scopes.get(s.parent) if s.parent else None
        module = self.module_of(scope)
        for star in self.p.star_imports.get(module, ()):
            found = self.p.find_module(star, module)
            if found is not None:
                member = self.module_member(found, name)
                if isinstance(member, Target):
                    return value_set([make_target((member.kind, member.value, "import"))])
                if member[0]:
                    return value_set([make_target((v.kind, v.value, "import")) for v in member[0]])
        if name in BUILTIN_NAMES:
            return value_set([make_target(("external", f"<builtin>.{name}", "builtin"))])
        if name in LITERAL_HEADS:
            return value_set([make_target(("external", LITERAL_HEADS[name], "literal"))])
        return (EMPTY, f"undefined name {name!r}")

    def name_values(self, name: str, binding: Binding, scope: ScopeFacts) -> Vals:
        """Values of a name bound in ``scope`` (``binding`` is ``scope.bindings[name]``): its binding
        plus every flow into it (memoized)."""
        key = ("name", scope.id, name)
        cached = self.memo.get(key)
        if cached is not None:  # `_memoized`'s hit path, inlined (as in `values`)
            if cached[1] is not None and self.deps_stack:
                self.deps_stack[-1].update(cached[1])
            return cached[0]
        return self._compute(key, lambda: self._name_values(name, binding, scope))

    def _name_values(self, name: str, binding: Binding, scope: ScopeFacts) -> Vals:
        flows = self.p.flows.get(scope.id, {}).get(name, ())
        parts = []
        if binding.kind in (BindingKind.DEF, BindingKind.IMPORT, BindingKind.IMPORT_FROM, BindingKind.PARAM) \
                or not flows:
            parts.append(self.binding_target(name, binding, scope))
        parts.extend(self.values(e, scope) for e in flows)
        return self._union(parts)

    def binding_target(self, name: str, b: Binding, scope: ScopeFacts) -> Vals:
        kind = b.kind
        if kind is BindingKind.DEF:
            target = self.p.scopes.get(b.target)
            if target is not None and target.decorated_by:
                return self.decorated(target)[0]
            return value_set([make_target(("def", b.target, "local"))])
        if kind is BindingKind.IMPORT:
            found = self.p.find_module(b.target, self.module_of(scope))
            if found is not None:
                return value_set([make_target(("module", found, "import"))])
            return value_set([make_target(("external", b.target, "external"))])
        if kind is BindingKind.IMPORT_FROM:
            t = self.qualified(b.target, self.module_of(scope))
            return value_set([t]) if isinstance(t, Target) else t
        if kind is BindingKind.ALIAS:
            return self.dotted(b.target, scope)
        if kind is BindingKind.INSTANCE:
            t = self.dotted(b.target, scope)
            out = self.instances_of(t[0], None)
            return value_set(out, f"{name!r} holds the result of a call to {b.target!r}")
        if kind is BindingKind.PARAM:
            return self.param_values(name, b, scope)
        return (EMPTY, f"{name!r} is a local variable")

    def param_values(self, name: str, b: Binding, owner: ScopeFacts) -> Vals:
        inflow = self.inflow_of(owner.id, name)
        if owner.params and owner.params[0] == name and owner.parent:
            parent = self.p.scopes.get(owner.parent)
            if parent is not None and parent.kind == "class":
                decorators = owner.decorators
                if "staticmethod" in decorators:
                    return value_set(inflow, f"{name!r} is a parameter of a staticmethod")
                if "classmethod" in decorators or owner.qualname.rsplit(".", 1)[-1] in (
                        "__new__", "__init_subclass__", "__class_getitem__"):
                    classes = {make_target(("def", v.value, "self")) for v in inflow if v.kind in ("def", "instance")}
                    return value_set(classes or [make_target(("def", parent.id, "self"))])
                if self.p.metaclass and "staticmethod" not in decorators and self.is_metaclass(parent.id):
                    # a method of a metaclass: its receiver is a class
                    classes = {make_target(("def", v.value, "self")) for v in inflow
                               if v.kind == "def" and self.is_class(v.value)}
                    if classes:
                        return value_set(classes)
                instances = {make_target(("instance", v.value, "self")) for v in inflow if v.kind == "instance"}
                return value_set(instances or [make_target(("instance", parent.id, "self"))])
        out = set(inflow)
        annotation = _annotation_name(b.target)
        if annotation:
            outer = self.p.scopes.get(owner.parent) if owner.parent else None
            t = self.dotted(annotation, outer or owner)
            out.update(self.instances_of(t[0], "annotation"))
        return value_set(out, f"{name!r} is a parameter")

    def inflow_of(self, function_id: str, name: str) -> frozenset:
        key = (function_id, name)
        if key not in self.demanded:
            self.demanded.add(key)
            self.new_demands.append(key)
        self.read(key)
        return self.inflow.get(key, EMPTY)

    def decorated(self, fscope: ScopeFacts) -> tuple[Vals, list]:
        """What a decorated name holds, and the decorator applications [(decorator, argument values)]."""
        # a cycle (a decorator decorated by itself, or by what it decorates) starts from the function
        return self._memoized(("decorated", fscope.id), lambda: self._decorated(fscope),
                              (value_set([make_target(("def", fscope.id, "local"))]), []))

    def _decorated(self, fscope: ScopeFacts) -> tuple[Vals, list]:
        if True:
            vals = frozenset([make_target(("def", fscope.id, "local"))])
            applications: list = []
            outer = self.p.scopes.get(fscope.parent) if fscope.parent else None
            for dexpr in reversed(fscope.decorated_by):
                if outer is None or dexpr is None:
                    continue
                if dexpr[0] == "n" and (dexpr[1] in _TRANSPARENT_DECORATORS or
                                        dexpr[1].rsplit(".", 1)[-1] in ("setter", "getter", "deleter")):
                    continue
                decorators = self.values(dexpr, outer)[0]
                new: set = set()
                for d in ordered(decorators):
                    applications.append((d, vals))
                    if d.kind == "def" and not self.is_class(d.value):
                        returned = self._decorator_returns(d.value, vals)
                        new.update(returned or vals)
                    elif d.kind == "def":
                        new.add(make_target(("instance", d.value, "decorator")))
                    elif d.kind == "instance":
                        new.update(self.protocol_results(d, "__call__")[0] or vals)
                    else:
                        new.update(vals)
                vals = frozenset(new) or vals
            return (value_set(vals), applications)

    def _decorator_returns(self, function_id: str, vals: frozenset) -> frozenset:
        """What decorator ``function_id`` returns applied to ``vals``: a decorator returning its
        argument as it is (``return klass``) returns ``vals`` there, not everything it decorates
        (its parameter holds every decorated value: parameters are context-insensitive)."""
        fscope = self.p.scopes.get(function_id)
        if fscope is None or fscope.yields or not fscope.params:
            return self.returns_of(function_id)
        itself = ("n", fscope.params[0])
        if itself not in fscope.returns:
            return self.returns_of(function_id)
        others = [e for e in fscope.returns if e != itself]
        return vals.union(*(self.values(e, fscope)[0] for e in others))

    # -- attributes and calls ---------------------------------------------------------------
    def attribute(self, target: Target, attr: str) -> Vals:
        kind = target.kind
        if kind == "external":
            if target.how in _NAMED_HOW or target.value.startswith("<builtin>."):
                return self.external_attribute(target.value, attr, target.how)
            # An external value that flowed here: a class (by its spelling) names its attributes;
            # anything else (``sys.maxsize``, a function's result) is of unknown type.
            if is_class_name(target.value.rsplit(".", 1)[-1]):
                return value_set([make_target(("member", f"{target.value}.{attr}", target.how))])
            return (EMPTY, f"attribute {attr!r} of {target.value}, an external value of unknown type")
        if kind == "xinstance":
            return value_set([make_target(("member", f"{target.value}.{attr}", target.how))])
        if kind == "member":
            return (EMPTY, f"attribute {attr!r} of {target.value}, an external object of unknown type")
        if kind == "module":
            t = self.module_member(target.value, attr)
            return value_set([t]) if isinstance(t, Target) else t
        if kind in ("seq", "map"):
            if attr in CONTAINER_READS[kind]:  # a method whose result comes from the container
                return value_set([make_target(("cmethod", (target, attr), target.how))])
            return self.external_attribute(container_type(target), attr, target.how)
        if kind == "def" and self.is_class(target.value):
            return self.class_attribute(target.value, attr, None)
        if kind == "instance":
            return self.class_attribute(target.value, attr, target)
        return (EMPTY, f"attribute {attr!r} of a {kind}")

    def external_attribute(self, name: str, attr: str, how: str) -> Vals:
        """``name.attr`` for an external value. Builtins are checked against this interpreter's
        (``<builtin>.str.join`` exists, ``<builtin>.str.decode`` does not); other externals
        have no source here, so any attribute is taken as named."""
        dotted = f"{name}.{attr}"
        if name.startswith("<builtin>.") and self.builtin(dotted) is MISSING:
            return (EMPTY, f"builtin {name[10:]} has no attribute {attr!r}")
        return value_set([make_target(("external", dotted, how))])

    def builtin(self, dotted: str) -> object:
        """`builtin_object`, looked up once per name."""
        try:
            return self.builtin_objects[dotted]
        except KeyError:
            found = self.builtin_objects[dotted] = builtin_object(dotted)
            return found

    def callable_external(self, name: str) -> bool:
        """False for builtin constants (``NotImplemented``, ``Ellipsis``): a value flowing to a call
        that can only fail; any other external name may be callable."""
        if not name.startswith("<builtin>.") or name.count(".") != 1:
            return True
        found = self.builtin(name)
        return found is MISSING or callable(found)

    def returns_of(self, function_id: str) -> frozenset:
        fscope = self.p.scopes.get(function_id)
        if fscope is None:
            return EMPTY
        if fscope.yields:
            return frozenset([make_target(("gen", function_id, "local"))])
        return self._memoized(("returns", function_id),
                              lambda: self._union([self.values(e, fscope) for e in fscope.returns])[0], EMPTY)

    def yields_of(self, function_id: str) -> Vals:
        fscope = self.p.scopes.get(function_id)
        if fscope is None:
            return (EMPTY, "generator not found")
        return self._union([self.values(e, fscope) for e in fscope.yields])

    def callee_results(self, t: Target) -> Vals:
        """What calling one value returns."""
        if t.kind == "def":
            if self.is_class(t.value):
                return value_set([make_target(("instance", t.value, t.how))])
            return value_set(self.returns_of(t.value))
        if t.kind == "bound":
            return value_set(self.returns_of(t.value[0]))
        if t.kind == "instance":
            return self.protocol_results(t, "__call__")
        if t.kind == "cmethod":
            container, method = t.value
            if method in ("values", "items"):
                return value_set([make_target(("view", (container, method), t.how))])
            if method == "copy":
                return value_set([container])
            return self.subscript(container, "")  # get, pop, setdefault: an item
        if t.kind == "external":
            if t.value in BUILTIN_RETURNS:
                return value_set([make_target(("external", BUILTIN_RETURNS[t.value], t.how))])
            return value_set(self.instances_of([t], None), f"result of calling {t.value}")
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
                out.append(make_target(("instance", v.value, how or v.how)))
            elif v.kind == "external":
                if v.value in BUILTIN_TYPES:
                    out.append(make_target((v.kind, v.value, how or v.how)))
                elif not v.value.startswith("<") and is_class_name(v.value.rsplit(".", 1)[-1]):
                    out.append(make_target(("xinstance", v.value, how or v.how)))
        return out

    def callees(self, call: CallFact, scope: ScopeFacts) -> Vals:
        if call.func is not None:  # not a name chain, or a method of a display (``{...}.items``)
            return self.values(call.func, scope)
        if call.callee:
            return self.values(("n", call.callee), scope)  # memoized per (scope, text)
        return (EMPTY, "callee is not a name")

    def call_results(self, call: CallFact, scope: ScopeFacts) -> Vals:
        def compute() -> Vals:
            vals = self.callees(call, scope)
            if not vals[0]:
                return vals
            parts = []
            for t in ordered(vals[0]):
                found = self.builtin_results(t, call, scope) if t.kind == "external" else None
                parts.append(found if found is not None else self.callee_results(t))
            return self._union(parts)

        return self._memoized(("result", call.id), compute)

    # -- modules --------------------------------------------------------------------------
    def module_of(self, scope: ScopeFacts) -> str:
        return self.p.module_of_scope.get(scope.id, "")

    def qualified(self, name: str, importer: str):
        """Resolve an absolute dotted name ``pkg.mod.attr`` (from an import)."""
        found = self.p.find_module(name, importer)
        if found is not None:
            return make_target(("module", found, "import"))
        if "." not in name:
            return make_target(("external", name, "external"))
        module, attr = name.rsplit(".", 1)
        found = self.p.find_module(module, importer)
        if found is None:
            return make_target(("external", name, "external"))
        member = self.module_member(found, attr)
        if isinstance(member, Target):
            return make_target((member.kind, member.value, "import"))
        return (frozenset([make_target((v.kind, v.value, "import")) for v in member[0]]), member[1])

    def module_member(self, module: str, attr: str):
        """``module.attr``: a Target or Vals."""
        sub = f"{module}.{attr}"
        scope = self.p.modules.get(module)
        if scope is not None:
            binding = scope.bindings.get(attr)
            if binding is not None:
                return self.name_values(attr, binding, scope)
        if self.p.is_module(sub):
            return make_target(("module", sub, "import"))
        for star in self.p.star_imports.get(module, ()):
            found = self.p.find_module(star, module)
            if found is None:
                continue
            # memoized: star imports may go round in a cycle
            member = self._memoized(("star member", found, attr), lambda found=found: self.module_member(found, attr))
            if isinstance(member, Target) or member[0]:
                return member
        if scope is None:
            return (EMPTY, f"module {module} has no source in the project")
        return (EMPTY, f"module {module} has no attribute {attr!r}")


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _annotation_name(annotation: str) -> str:
    """The class named by a simple annotation (``Foo``, ``"pkg.Foo"``), "" for anything else."""
    text = annotation.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text if _DOTTED.fullmatch(text) else ""
