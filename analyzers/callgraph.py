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
select, tuple targets take the item at their position (``a, (b, *c) = ...``;
``enumerate``/``zip``/``d.items()`` give tuples), builtins building sequences
(``list``, ``sorted``, ``filter``, ``map`` -> f's results) keep the items,
``getattr(x, "name")`` is ``x.name``, ``functools.partial`` calls its function
with the bound arguments first, ``obj.attr = v`` outside a class's methods is a
field of obj's classes. Parameter values and container contents need the call graph and vice
versa, so resolution runs in rounds (MAX_FLOW_ROUNDS, incremental: only what
read a changed parameter or container is redone); within a round, values
handed on from parameter to parameter settle to their fixpoint. Values that
depend on each other round a cycle are iterated to their least fixpoint (see
`astrepo.analyzers.pointsto.Resolver._compute`, MAX_CYCLE_ITERATIONS). On
overrun of a budget the result is marked partial and logged. Implicit calls (operator
dunders, ``for`` -> ``__iter__``/``__next__``, ``with`` ->
``__enter__``/``__exit__``, calling an instance -> ``__call__``, truth tests ->
``__bool__`` or ``__len__``, property and descriptor (``__get__``) reads, a
class statement with ``metaclass=M`` -> ``M.__new__``/``__init__`` and calling
the class -> ``M.__call__``)
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

Invariants: the result is a pure function of the inputs, sorted, and does not
depend on the order in which values are first asked for (no value is cut where a
cycle is entered, no budget depends on the path a value was reached by), so an
incremental index can equal a full one. Known limits:
flow-insensitive within a scope (every assignment of a name counts) and
context-insensitive (a parameter holds the arguments of every call site);
stores into containers count only for list/dict displays and sequences built
by builtins (``list(xs)``), not for ``dict()`` results; decorators and their
parameters are context-insensitive too (one wrapper stands for every decorated
function); results of external calls are unknown unless the
callee is spelled like a class; sets larger than MAX_VALUES are cut to their
first MAX_VALUES in order (partial). Such calls are reported unresolved with the reason.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from astrepo.analyzers.containers import PARTIAL_NAMES
from astrepo.analyzers.pointsto import Resolver
from astrepo.analyzers.targets import (EMPTY, Target, clear_order_keys, container_type, make_target, order_key, ordered,
                                       unique)
from astrepo.analyzers.symbols import ModuleInputs, Project
from astrepo.ids import NodeId, external_id
from astrepo.model import CallFact, Edge, EdgeKind, Node, NodeKind, NO_SPAN, SCOPE_TABLES, ScopeFacts, new_record

#: Rounds of "resolve every call, then feed arguments into parameters": each
#: round lets values travel one more call deep. On overrun the result is
#: marked partial (logged), never an error.
MAX_FLOW_ROUNDS = 3

#: Stack of the resolver's thread (bytes; reserved, not committed, until used) and the recursion
#: limit it runs under: enough for chains of values tens of thousands deep.
RESOLVER_STACK = 512 * 1024 * 1024
RESOLVER_RECURSION = 400_000
_STACK_LOCK = threading.Lock()  #: threading.stack_size is process-wide: set and reset under it

log = logging.getLogger(__name__)


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


#: Builtins that call a function argument: name -> (positions, keywords) of the function arguments.
_HIGHER_ORDER = {
    "<builtin>.map": ((0,), ()), "<builtin>.filter": ((0,), ()), "<builtin>.sorted": ((), ("key",)),
    "<builtin>.min": ((), ("key",)), "<builtin>.max": ((), ("key",)), "functools.reduce": ((0,), ()),
    "<builtin>.list.sort": ((), ("key",)),
}


def resolve_project(inputs: list[ModuleInputs], scrap: list | None = None) -> Resolution:
    """Resolve every call, import and base class of a project.

    ``scrap``: when given, the resolver's working state (symbol tables, memo, per-item results,
    cached sort keys) is appended to it rather than freed on return. Freeing Django's takes about
    half a second; the caller may spend it where it waits anyway (graph/build.py).

    The resolver recurses as deep as chains of values go (no depth budget: a cut depending on the
    path a value was reached by would make the result depend on evaluation order), so it runs on a
    thread of its own with a large stack (RESOLVER_STACK) and Python's recursion limit raised.
    """
    outcome: list = []
    finished = threading.Event()

    def run() -> None:
        try:
            outcome.append(_resolve(inputs, scrap))
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)
        finally:
            clear_order_keys(scrap)
            finished.set()

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RESOLVER_RECURSION))
    # A daemon: Ctrl-C (KeyboardInterrupt in the caller's join) ends the process without waiting
    # for the resolution to finish.
    worker = threading.Thread(target=run, name="resolve_project", daemon=True)
    with _STACK_LOCK:
        # The size applies to threads *started* while it is set (not to Thread objects made then).
        previous = threading.stack_size(RESOLVER_STACK)
        try:
            worker.start()
        finally:
            threading.stack_size(previous)
    try:
        # In short waits: a signal delivered to the worker thread is handled by this one only when
        # it runs Python code again (a plain wait would see Ctrl-C when the resolution is over). On an
        # event, not `Thread.join`: in CPython 3.11 a join that Ctrl-C interrupts can mark the thread
        # as stopped while it still runs.
        while not finished.wait(0.05):
            pass
    except BaseException:
        _abandon(worker, finished)
        raise
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _abandon(worker: threading.Thread, finished: threading.Event) -> None:
    """Stop the resolver's thread (the caller was interrupted): an exception raised in it unwinds
    its frames, which frees its working state, instead of the thread running to the end of the
    resolution and the process's exit then walking that state (Ctrl-C on Django took ~20 s)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(SystemExit))
    finished.wait()


def _resolve(inputs: list[ModuleInputs], scrap: list | None) -> Resolution:
    project = Project(inputs)
    resolver = Resolver(project)
    out = Resolution()
    externals: dict[str, str] = {}
    imports_seen: dict[tuple[str, str], int] = {}

    external_ids: dict[str, NodeId] = {}  #: name -> its ID (hashed once)

    def external(name: str, kind: str) -> NodeId:
        externals.setdefault(name, kind)
        found = external_ids.get(name)
        if found is None:
            found = external_ids[name] = external_id(name)
        return found

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
            for position, base in enumerate(resolver.bases(scope)):
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
    items: dict = {}  #: per call / decorated scope / implicit fact: (result, numbers of the inflows it read)
    changed: set | None = None
    for round_no in range(MAX_FLOW_ROUNDS):
        found_calls, scope_edges, pending = _resolve_round(project, resolver, calls, items, changed)
        # After the last round only whether anything changed matters (the result is partial then):
        # its arguments and stores are settled only as far as it takes to see a change.
        last = round_no == MAX_FLOW_ROUNDS - 1
        start = resolver.inflow
        if not _settle_arguments(resolver, pending, last):
            continue  # the last round, and an inflow changed
        changed = {k for k in start.keys() | resolver.inflow.keys() if start.get(k) != resolver.inflow.get(k)}
        if last and changed:
            continue
        changed |= _settle_items(project, resolver)
        if not changed:
            break
        # The memo already holds no value computed from an inflow or container before its change:
        # `_settle_arguments` and `_settle_items` forgot those as they changed them, and what was
        # computed after that is valid for the next round (forgetting it again cost ~60k recomputations
        # on Django). ``changed`` only tells the next round which items to redo.
    else:
        resolver.partial = True
        log.warning("call resolution stopped after %d rounds (MAX_FLOW_ROUNDS); the call graph is partial",
                    MAX_FLOW_ROUNDS)
    out.partial = resolver.partial

    calls_seen: set[tuple[str, str]] = set()
    # Hundreds of thousands of CALLS edges: made in C (`new_record`), their attributes shared per provenance.
    calls_kind, callsite_kind, external_kind = EdgeKind.CALLS, NodeKind.CALLSITE, NodeKind.EXTERNAL
    attrs_of: dict[str, tuple] = {}  #: provenance -> the edge attributes naming it
    ends: dict[str, tuple[str, NodeKind]] = {}  #: external name -> its endpoint

    def provenance(how: str) -> tuple:
        found = attrs_of.get(how)
        if found is None:
            found = attrs_of[how] = (("provenance", how),)
        return found

    def scope_edge(scope: ScopeFacts, dst_id: str, dst_kind: NodeKind, how: str) -> None:
        if (scope.id, dst_id) not in calls_seen:
            calls_seen.add((scope.id, dst_id))
            out.edges.append(new_record(Edge, (calls_kind, scope.id, SCOPE_TABLES[scope.kind], dst_id, dst_kind,
                                               provenance(how))))

    def endpoint(t: Target) -> tuple[str, NodeKind] | None:
        if t.kind == "external":
            found = ends.get(t.value)
            if found is None:
                found = ends[t.value] = (external(t.value, _external_kind(t.value)), external_kind)
            return found
        dst = project.scopes.get(t.value)
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
            out.edges.append(new_record(Edge, (calls_kind, call.id, callsite_kind, end[0], end[1],
                                               provenance(t.how))))
            scope_edge(scope, end[0], end[1], t.how)
    for scope, t in sorted(scope_edges, key=lambda e: (e[0].id, order_key(e[1]))):
        end = endpoint(t)
        if end is not None:
            scope_edge(scope, end[0], end[1], t.how)
    out.externals = [
        Node(external_ids[name], NodeKind.EXTERNAL, name, "", NO_SPAN, {"kind": kind})
        for name, kind in sorted(externals.items())
    ]
    if scrap is not None:
        scrap.append((project, resolver, items, calls, found_calls, scope_edges, pending))
    return out


def _settle_arguments(resolver: Resolver, pending: list, until_change: bool = False) -> bool:
    """Feed the argument flows of a round into the parameters they reach (``resolver.inflow``).

    Returns True; with ``until_change``, False as soon as a parameter that had no inflow at the
    start of the round gets one (it changed, whatever the rest comes to), leaving the flows unsettled.

    A worklist: when an argument is itself a parameter (``def f(cb): g(cb)``),
    evaluating it demands that parameter's inflow, which is computed in turn;
    when a parameter's inflow changes, the arguments that read it are evaluated
    again, until nothing changes (no pass budget: inflows within a round only grow).
    A value thus travels down a chain of calls within one round (rounds are only
    needed for calls whose callee is a parameter). Parameters that had an inflow
    already take their new one at the end (a round is a function of the previous
    round's inflows and of what the round's worklist settles to, whatever its order).
    """
    # Distinct flows: the same argument often flows many times (one call site, many callees;
    # replayed items). ``None`` scope: the argument is a value already (a receiver, a decorated function).
    # Arguments are numbered in order of first appearance (their keys hash whole expressions).
    numbers: dict = {}  #: argument key -> its number
    flows_into: dict = {}  #: parameter -> {argument number: None}
    source: list = []  #: argument number -> (scope, expression)
    users: list = []  #: argument number -> parameters it flows into
    for key, scope, expr in pending:
        akey = (scope.id, expr) if scope is not None else expr
        number = numbers.get(akey)
        if number is None:
            number = numbers[akey] = len(source)
            source.append((scope, expr))
            users.append([])
        into = flows_into.get(key)
        if into is None:
            into = flows_into[key] = {}
        if number not in into:
            into[number] = None
            users[number].append(key)
    as_argument: list = [None] * len(source)  #: argument number -> its values, tagged "argument"
    readers: dict = {}  #: parameter's dependency number (`Resolver.read`) -> argument numbers whose values read it
    stack = resolver.deps_stack
    demanded = resolver.demanded
    resolver.new_demands.clear()
    start = resolver.inflow
    resolver.inflow = inflow = dict(start)
    later: dict = {}  #: new inflow of parameters that had one at the start of the round
    # Only parameters that had no inflow at the start of the round grow during it: the readers of
    # the others (and of containers) are never looked up, so they are not recorded.
    growing = {resolver.dep_number(k) for k in flows_into if k not in start}
    # Worklist in a fixed order (the order of the flows, then of discovery); its result does not
    # depend on it (see above), its work may.
    queue = deque(k for k in flows_into if k in demanded)
    queued = set(queue)
    passes: Counter = Counter()
    while queue:
        key = queue.popleft()
        queued.discard(key)
        passes[key] += 1
        vals: set = set()
        for akey in flows_into[key]:
            found = as_argument[akey]
            if found is None:
                scope, expr = source[akey]
                if scope is None:
                    found = (make_target((expr.kind, expr.value, "argument")),)
                else:
                    stack.append(set())
                    try:
                        found = resolver.argument(expr, scope)
                    finally:
                        for dep in stack.pop() & growing:
                            readers.setdefault(dep, []).append(akey)
                as_argument[akey] = found
            vals.update(found)
        if key in start:
            later[key] = frozenset(vals) if vals else None
            continue
        # A new parameter's inflow only grows within the round (what was handed on stays): the
        # worklist ends, at the least fixpoint of the round's flows whatever the order.
        old = inflow.get(key)
        new = (old | vals if old else frozenset(vals)) if vals else old
        if new != old:
            if until_change:
                return False
            inflow[key] = new
            resolver.invalidate({key})
            for akey in readers.pop(resolver.dep_numbers.get(key), ()):
                if as_argument[akey] is not None:
                    as_argument[akey] = None
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
    return True


def _settle_items(project: Project, resolver: Resolver) -> set:
    """Evaluate every store into a container (``d[k] = f``, ``handlers.append(f)``) and keep
    what each list/dict display received in ``resolver.stored``; return the containers whose
    contents changed, as dependency keys (what read them is forgotten, and redone next round)."""
    stored: dict = {}
    for index, store in enumerate(project.item_stores):
        for container, key, vals in resolver.store(index, store):
            stored.setdefault(("items", container), set()).add((key, vals))
    new = {k: tuple(sorted(v, key=lambda kv: (kv[0], [order_key(t) for t in ordered(kv[1])]))) for k, v in stored.items()}
    changed = {k for k in new.keys() | resolver.stored.keys() if new.get(k) != resolver.stored.get(k)}
    resolver.stored = new
    resolver.invalidate(changed)
    return changed


def _resolve_round(project: Project, resolver: Resolver, calls: list[tuple[CallFact, ScopeFacts]],
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

    stack = resolver.deps_stack
    if changed is not None:  # as items record what they read: by number
        changed = resolver.dep_numbers_of(changed)

    def cached(key) -> bool:
        """Replay an item's previous result if nothing it read changed."""
        if changed is None:
            return False
        old = items.get(key)
        if old is None or not old[1].isdisjoint(changed):
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
        # most items hand on no scope edge or argument flow: the empty tuple, not a new list each
        items[key] = ((found[marks[0]:], scope_edges[marks[1]:] if len(scope_edges) > marks[1] else (),
                       pending[marks[2]:] if len(pending) > marks[2] else ()), frozenset(deps) if deps else EMPTY)

    for call, scope in calls:
        if changed is not None:  # `cached`, inlined: most call sites replay
            old = items.get(call.id)
            if old is not None and old[1].isdisjoint(changed):
                f, e, p = old[0]
                found.extend(f)
                if e:
                    scope_edges.extend(e)
                if p:
                    pending.extend(p)
                continue
        marks = begin()
        vals, reason = resolver.callees(call, scope)
        targets: set = set()
        for t in ordered(vals):
            targets.update(_invoke(project, resolver, pending, t, call.args, call.kwargs, scope))
            if t.kind == "external" and t.value in _HIGHER_ORDER:
                positions, keywords = _HIGHER_ORDER[t.value]
                fargs = [(call.args[i], False) for i in positions if i < len(call.args)]
                fargs += [(e, False) for k, e in call.kwargs if k in keywords]
                if t.value == "<builtin>.map":  # as PyCG reads map: a function later on is called too
                    fargs += [(e, True) for e in call.args[1:]]
                for farg, strict in fargs:
                    if farg is None or farg[0] == "*":
                        continue
                    for f in ordered(resolver.values(farg, scope)[0]):
                        if f.kind == "bound" or (f.kind == "def" and not (strict and resolver.is_class(f.value))):
                            for callee in _invoke(project, resolver, pending, f, (), (), scope):
                                scope_edges.append((scope, make_target((callee.kind, callee.value, "callback"))))
            elif t.kind == "external" and t.value in PARTIAL_NAMES and call.args and call.args[0] is not None \
                    and call.args[0][0] != "*":
                # the bound arguments flow into f's parameters now (f runs when the partial is called)
                for f in ordered(resolver.values(call.args[0], scope)[0]):
                    if f.kind in ("def", "bound") and not resolver.is_class(f.value if f.kind == "def" else ""):
                        receiver = make_target(("instance", f.value[1], "self")) if f.kind == "bound" else None
                        _flow_args(project, pending, f.value if f.kind == "def" else f.value[0], call.args[1:],
                                   call.kwargs, scope, receiver)
        if not targets and vals:
            reason = f"calling a {ordered(vals)[0].kind}"
        found.append((call, scope, unique(targets), reason))
        end(call.id, marks)
    property_reads = project.property_reads
    for scope in project.scopes.values():
        if (scope.implicit or scope.id in property_reads) and not cached(("implicit", scope.id)):
            marks = begin()
            for protocol, receiver in scope.implicit:
                _implicit_calls(project, resolver, scope, protocol, receiver, scope_edges, pending)
            _property_calls(project, resolver, scope, scope_edges, pending)
            end(("implicit", scope.id), marks)
        if scope.decorated_by and not cached(("decorated", scope.id)):
            outer = project.scopes.get(scope.parent) if scope.parent else None
            if outer is None:
                continue
            marks = begin()
            for d, arg_vals in resolver.decorated(scope)[1]:
                for callee in _invoke(project, resolver, pending, d, (), (), outer):
                    if callee.kind == "def" or (callee.kind == "external" and not callee.value.startswith("<")):
                        scope_edges.append((outer, make_target((callee.kind, callee.value, "decorator"))))
                        fscope = project.scopes.get(callee.value) if callee.kind == "def" else None
                        if fscope is not None and fscope.params:
                            for v in arg_vals:
                                pending.append(((callee.value, fscope.params[0]), None, v))
            end(("decorated", scope.id), marks)
    return found, scope_edges, pending


def _flow_args(project: Project, pending: list, fid: str, args, kwargs, scope: ScopeFacts,
               receiver: Target | None) -> None:
    """Record the argument expressions of a call of function ``fid`` as flows into its parameters:
    positional ones in order, extra ones into ``*args`` (a tuple of them), keywords by name or
    into ``**kwargs`` (a dict of them), ``*xs`` into every parameter from its position on."""
    signature = project.signature(fid, receiver is not None)
    if signature is None:
        return
    first, positional, vararg, kwarg, keywords = signature
    if first is not None:
        pending.append(((fid, first), None, receiver))
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
        if name in keywords:
            pending.append(((fid, name), scope, arg))
        elif kwarg is not None:
            named.append((f"'{name}'", arg))
    if named:
        pending.append(((fid, kwarg), scope, ("m", tuple(named))))


def _invoke(project: Project, resolver: Resolver, pending: list, t: Target, args, kwargs,
            scope: ScopeFacts) -> list[Target]:
    """The callable(s) a call of ``t`` runs; records argument flows."""
    if t.kind == "def":
        if resolver.is_class(t.value):
            calls = resolver.metaclass_methods(t.value, "__call__")
            if calls:  # the metaclass's __call__ runs (it makes the instance, or not)
                for m in calls:
                    _flow_args(project, pending, m.value, args, kwargs, scope, make_target(("def", t.value, "self")))
                return [make_target(("def", m.value, t.how)) for m in calls]
            inits = resolver.class_member(t.value, "__init__")[0]
            for init in inits:
                if init.kind == "def":
                    _flow_args(project, pending, init.value, args, kwargs, scope,
                               make_target(("instance", t.value, "self")))
            return [t]
        _flow_args(project, pending, t.value, args, kwargs, scope, None)
        return [t]
    if t.kind == "bound":
        fid, cid = t.value
        _flow_args(project, pending, fid, args, kwargs, scope, make_target(("instance", cid, "self")))
        return [make_target(("def", fid, t.how))]
    if t.kind == "instance":
        out = []
        for m in resolver.protocol_methods(t, "__call__"):
            out.extend(_invoke(project, resolver, pending, m, args, kwargs, scope))
        return out
    if t.kind == "external":
        return [t] if resolver.callable_external(t.value) else []
    if t.kind == "cmethod":  # a list/dict method: the builtin's
        container, method = t.value
        return [make_target(("external", f"{container_type(container)}.{method}", t.how))]
    if t.kind == "member":  # an attribute of an external object, called: named like one
        return [make_target(("external", t.value, t.how))]
    if t.kind == "partial":  # functools.partial(f, *bound, **keywords): the arguments come after those
        f, bound, keywords = t.value
        return _invoke(project, resolver, pending, f, (None,) * bound + tuple(args),
                       tuple((k, e) for k, e in kwargs if k not in keywords), scope)
    return []


def _property_calls(project: Project, resolver: Resolver, scope: ScopeFacts, scope_edges: list,
                    pending: list) -> None:
    """Edges to the getters of the properties a scope reads (``obj.prop`` on an instance)."""
    descriptors = project.descriptor_names
    for obj, attr in project.property_reads.get(scope.id, ()):
        for v in ordered(resolver.values(obj, scope)[0]):
            if v.kind not in ("instance", "def") or not resolver.is_class(v.value):
                continue
            members = resolver.class_member(v.value, attr)[0]
            if attr in descriptors and attr in project.attr_stores:
                members = members | resolver.stored_attribute(v.value, attr)
            for m in ordered(members):
                f = project.scopes.get(m.value) if m.kind == "def" else None
                if f is not None and "property" in f.decorators:
                    if v.kind == "instance":
                        scope_edges.append((scope, make_target(("def", m.value, "property"))))
                        if f.params:
                            pending.append(((m.value, f.params[0]), None, v))
                elif m.kind == "instance" and attr in descriptors:
                    # a descriptor: __get__(descriptor, instance or None, owner class)
                    for g in resolver.protocol_methods(m, "__get__"):
                        if g.kind != "bound":
                            continue
                        scope_edges.append((scope, make_target(("def", g.value[0], "implicit"))))
                        gf = project.scopes.get(g.value[0])
                        if gf is not None and len(gf.params) >= 3:
                            pending.append(((g.value[0], gf.params[0]), None, m))
                            if v.kind == "instance":
                                pending.append(((g.value[0], gf.params[1]), None, v))
                            owner = make_target(("def", v.value, "implicit"))
                            pending.append(((g.value[0], gf.params[2]), None, owner))


def _implicit_calls(project: Project, resolver: Resolver, scope: ScopeFacts, protocol: str, receiver,
                    scope_edges: list, pending: list) -> None:
    """Edges of calls implied by operators, ``for``, ``with`` and property reads."""
    if protocol == "get":  # a bare ``obj.attr`` statement: among the scope's property reads
        return
    if protocol == "metaclass":  # the class statement calls the metaclass: its __new__ and __init__
        outer = project.scopes.get(scope.parent) if scope.parent else None
        if outer is not None:
            for name in ("__new__", "__init__"):
                for m in resolver.metaclass_methods(scope.id, name):
                    scope_edges.append((outer, make_target(("def", m.value, "implicit"))))
                    f = project.scopes.get(m.value)
                    if f is not None and f.params:
                        pending.append(((m.value, f.params[0]), None, make_target(("def", scope.id, "self"))))
        return
    if protocol == "__bool__" and receiver[0] == "c":
        return  # ``if f():``: rarely an instance with __bool__, and costly to resolve for every test
    dunders = {"iter": ("__iter__",), "with": ("__enter__", "__exit__")}.get(protocol, (protocol,))
    if not any(d in project.dunders for d in dunders) and not (protocol == "__bool__" and "__len__" in project.dunders):
        return
    for v in ordered(resolver.values(receiver, scope)[0]):
        if v.kind != "instance":
            continue
        for dunder in dunders:
            methods = resolver.protocol_methods(v, dunder)
            if dunder == "__bool__" and not methods:  # a truth test without __bool__ asks __len__
                methods = resolver.protocol_methods(v, "__len__")
            for m in methods:
                if m.kind == "bound":
                    scope_edges.append((scope, make_target(("def", m.value[0], "implicit"))))
                    f = project.scopes.get(m.value[0])
                    if f is not None and f.params:
                        pending.append(((m.value[0], f.params[0]), None, v))
                    if dunder == "__iter__":
                        for it in resolver.callee_results(m)[0]:
                            for n in resolver.protocol_methods(it, "__next__"):
                                if n.kind == "bound":
                                    scope_edges.append((scope, make_target(("def", n.value[0], "implicit"))))


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
