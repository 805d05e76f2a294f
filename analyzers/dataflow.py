"""Reaching definitions inside each function, and argument/return flow across calls.

Approach: classic forward may-analysis over the statement-level CFG of each
function (`astrepo.analyzers.cfg`). A *definition* is a (node, name) pair:
parameters define their name at the function's entry (the Parameter node);
a statement defines the names it binds (assignment and augmented assignment
targets, ``for``/``with`` targets, ``except ... as``, walrus, imports, match
captures, nested ``def``/``class``). Definition sets are bit sets (Python
ints); a statement generates its own definitions and kills the others of the
same names. Each statement reads at its entry, so a name it both reads and
binds (``x += 1``, ``for x in f(x)``) sees the definitions reaching it.
The result is one `Reach` per (definition, using statement, name).

Interprocedurally, `interprocedural_edges` binds the arguments of each
resolved call site to the callee's parameters (positional with the method
receiver offset, keywords by name, the rest to ``*args``/``**kwargs``), and
links each ``return <value>`` of a callee to the call sites that receive it.

Budget: a function's fixpoint stops after `MAX_PASSES` sweeps over its
statements (far above what structured code needs: loop nesting depth + 2);
its result is then marked partial in `DataflowResult.partial` and logged.

Invariants: only names bound in the function itself take part: names
declared ``global``/``nonlocal`` and names never bound locally (globals,
builtins, closure variables) produce no edges; comprehension and lambda
variables are not definitions of the function.

Known limits: attribute and subscript stores (``self.x = ...``,
``d[k] = ...``) are not definitions of a name (they are mutations, see
metrics); ``del x`` is a read, not a kill; a nested function's reads of the
enclosing function's variables are not edges; star arguments are not bound.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial
from operator import itemgetter
from typing import NamedTuple

import tree_sitter

from astrepo.ids import NodeId
from astrepo.model import Edge, EdgeKind, FileFacts, NodeKind, new_record
from astrepo.analyzers.cfg import CfgEdge, build_cfg, cfg_ids
from astrepo.analyzers.statements import StatementIndex, index_statements

log = logging.getLogger(__name__)

#: Sweeps over one function's statements before its fixpoint is given up
#: (and the function's result marked partial).
MAX_PASSES = 50


class Reach(NamedTuple):
    """A definition of ``var`` at ``src`` (Stmt, Parameter, Function or Class node) reaches a read at ``dst``."""

    src: NodeId
    dst: NodeId  #: the Stmt (or Function/Class for decorators/defaults) reading ``var``
    var: str
    scope: NodeId  #: the function


class CallArgs(NamedTuple):
    """The arguments of one call site, as written."""

    call: NodeId  #: CallSite node
    scope: NodeId  #: the calling function/module
    stmt: NodeId  #: the statement holding the call
    positional: int  #: number of plain positional arguments
    keywords: tuple[str, ...]  #: keyword argument names, in order
    has_star: bool  #: ``*args`` or ``**kwargs`` in the call


class ParamInfo(NamedTuple):
    """One parameter of a function."""

    id: NodeId
    function: NodeId
    name: str
    position: int
    kind: str  #: positional_only | positional | vararg | keyword_only | kwarg


class CallableInfo(NamedTuple):
    """What binding arguments needs to know of a function or class."""

    id: NodeId
    receiver: bool  #: a method whose first parameter is bound by ``obj.m(...)`` (not a staticmethod)
    init: NodeId | None  #: for a class: its ``__init__`` method, if defined in its body


class ReturnSite(NamedTuple):
    """A ``return <value>`` statement."""

    stmt: NodeId
    function: NodeId


class DataflowResult(NamedTuple):
    """Per-file data-flow facts."""

    reaches: list[Reach]
    call_args: list[CallArgs]
    params: list[ParamInfo]
    callables: list[CallableInfo]
    returns: list[ReturnSite]
    partial: list[NodeId]  #: functions whose fixpoint hit MAX_PASSES


class ArgFlow(NamedTuple):
    """An argument of a call site flows into a parameter of the callee."""

    call: NodeId
    param: NodeId
    argument: str  #: "0", "1", ... for positional arguments, the name for keywords


class ReturnFlow(NamedTuple):
    """The value of a ``return`` flows to a call site of its function."""

    stmt: NodeId
    call: NodeId


def analyze_dataflow(tree: tree_sitter.Tree, facts: FileFacts, index: StatementIndex | None = None,
                     cfg: list[CfgEdge] | None = None) -> DataflowResult:
    """Reaching definitions of every function of one file, plus its call/parameter facts."""
    if index is None:
        index = index_statements(tree, facts)
    if cfg is None:
        cfg = build_cfg(tree, facts, index)
    preds_by_scope: dict[NodeId, dict[NodeId, list[NodeId]]] = {}
    for e in cfg:
        preds_by_scope.setdefault(e.scope, {}).setdefault(e.dst, []).append(e.src)
    stmts_by_scope: dict[NodeId, list] = {}
    for info in index.stmts:
        stmts_by_scope.setdefault(info.scope, []).append(info)
    reaches: list[Reach] = []
    partial: list[NodeId] = []
    for scope in index.scopes:
        if scope.kind != "function":
            continue
        ok = _reaching(scope, stmts_by_scope.get(scope.id, []), preds_by_scope.get(scope.id, {}),
                       cfg_ids(index, scope.id)[0], reaches)
        if not ok:
            log.warning("%s: reaching definitions of %s stopped after %d passes", index.path, scope.id, MAX_PASSES)
            partial.append(scope.id)
    call_args = [
        _call_args(call, args, info.scope, info.id)
        for info in index.stmts for call, args in info.call_args
    ]
    returns = [new_record(ReturnSite, (info.id, info.scope)) for info in index.stmts
               if info.kind == "return" and info.node.named_child_count
               and index.scope_by_id.get(info.scope) is not None and index.scope_by_id[info.scope].kind == "function"]
    return DataflowResult(reaches, call_args, _params(facts), _callables(facts), returns, partial)


def _reaching(scope, stmts: list, preds: dict[NodeId, list[NodeId]], entry: NodeId, out: list[Reach]) -> bool:
    excluded = scope.declared_global
    # Definitions: bit i <-> defs[i] = (node, name).
    def_nodes: list[NodeId] = []
    def_names: list[str] = []
    name_mask: dict[str, int] = {}
    gen: dict[NodeId, int] = {}
    entry_gen = 0
    for name, pid in scope.params:
        bit = 1 << len(def_nodes)
        def_nodes.append(pid)
        def_names.append(name)
        name_mask[name] = name_mask.get(name, 0) | bit
        entry_gen |= bit
    for info in stmts:
        g = 0
        for name in info.defs:
            if name in excluded:
                continue
            bit = 1 << len(def_nodes)
            def_nodes.append(info.id)
            def_names.append(name)
            name_mask[name] = name_mask.get(name, 0) | bit
            g |= bit
        if g:
            gen[info.id] = g
    if not def_nodes:
        return True
    # Statements by position in ``stmts``; slot n is the entry (its out set fixed), n + 1 any other
    # predecessor (no statement of this body: its out set stays empty).
    n = len(stmts)
    position = {info.id: i for i, info in enumerate(stmts)}
    position[entry] = n
    pred_slots = [[position.get(p, n + 1) for p in preds.get(info.id, ())] for info in stmts]
    gens = [gen.get(info.id, 0) for info in stmts]
    # kill = every definition of the names this node defines (its own included; gen re-adds them)
    keeps = []
    for g in gens:
        k = 0
        bits = g
        while bits:
            low = bits & -bits
            k |= name_mask[def_names[low.bit_length() - 1]]
            bits ^= low
        keeps.append(~k)
    out_sets = [0] * n + [entry_gen, 0]
    in_sets = [0] * n
    changed = True
    passes = 0
    while changed:
        passes += 1
        if passes > MAX_PASSES:
            return False
        changed = passes == 1  # every out set is new after the first pass
        for i in range(n):
            reach_in = 0
            for p in pred_slots[i]:
                reach_in |= out_sets[p]
            in_sets[i] = reach_in
            new = (reach_in & keeps[i]) | gens[i]
            if out_sets[i] != new:
                out_sets[i] = new
                changed = True
    sid = scope.id
    for i, info in enumerate(stmts):
        if not info.uses:
            continue
        reach_in = in_sets[i]
        if not reach_in:
            continue
        for name in dict.fromkeys(info.uses):
            bits = reach_in & name_mask.get(name, 0)
            while bits:
                low = bits & -bits
                out.append(new_record(Reach, (def_nodes[low.bit_length() - 1], info.id, name, sid)))
                bits ^= low
    return True


def _call_args(call: NodeId, args: tree_sitter.Node, scope: NodeId, stmt: NodeId) -> CallArgs:
    positional = 0
    keywords: list[str] = []
    star = False
    for a in args.named_children:
        t = a.type
        if t == "keyword_argument":
            name = a.named_children[0] if a.named_child_count else None
            if name is not None:
                keywords.append(name.text.decode())
        elif t in ("list_splat", "dictionary_splat"):
            star = True
        elif t != "comment":
            if keywords:
                continue  # a positional after keywords is a syntax error
            positional += 1
    return new_record(CallArgs, (call, scope, stmt, positional, tuple(keywords), star))


def _params(facts: FileFacts) -> list[ParamInfo]:
    table = facts.node_tables.get(NodeKind.PARAMETER)
    if table is None:
        return []
    a = table.attrs
    return list(map(partial(new_record, ParamInfo),
                    zip(table.ids, a["function"], a["short_name"], a["position"], a["kind"])))


def _callables(facts: FileFacts) -> list[CallableInfo]:
    table = facts.node_tables.get(NodeKind.FUNCTION)
    out: list[CallableInfo] = []
    inits: dict[str, NodeId] = {}
    if table is not None:
        a = table.attrs
        for fid, kind, decorators, short, scope in zip(table.ids, a["kind"], a["decorators"], a["short_name"], a["scope"]):
            receiver = kind == "method" and "staticmethod" not in decorators
            out.append(CallableInfo(NodeId(fid), receiver, None))
            if kind == "method" and short == "__init__":
                inits.setdefault(scope, NodeId(fid))
    classes = facts.node_tables.get(NodeKind.CLASS)
    if classes is not None:
        out.extend(CallableInfo(NodeId(cid), True, inits.get(cid)) for cid in classes.ids)
    return out


def interprocedural_edges(calls: Iterable[Edge], call_args: Iterable[CallArgs], params: Iterable[ParamInfo],
                          callables: Iterable[CallableInfo],
                          returns: Iterable[ReturnSite]) -> tuple[list[ArgFlow], list[ReturnFlow]]:
    """Argument -> parameter and return -> call-site flows over resolved CALLS edges.

    Args:
        calls: CALLS edges; only those from a CallSite to a Function or Class are used.
        call_args, params, callables, returns: the per-file `DataflowResult` parts of all files
            (records or plain tuples of their fields).
    Returns:
        (argument flows, return flows), sorted.
    """
    args, rets = grouped_flows(calls, call_args, params, callables, returns)
    arg_flow, ret_flow = partial(new_record, ArgFlow), partial(new_record, ReturnFlow)
    return ([arg_flow((call, param, argument)) for call, bound in args for param, argument in bound],
            [ret_flow((stmt, call)) for stmt, sites in rets for call in sites])


def grouped_flows(calls: Iterable[Edge], call_args: Iterable[tuple], params: Iterable[tuple],
                  callables: Iterable[tuple], returns: Iterable[tuple]
                  ) -> tuple[list[tuple[NodeId, Sequence[tuple[NodeId, str]]]], list[tuple[NodeId, list[NodeId]]]]:
    """`interprocedural_edges` grouped: [(call site, [(parameter, argument), ...])] and
    [(return stmt, [call site, ...])], in the order of the sorted flows.

    Sorting groups (a string key each, then small lists) instead of the flows themselves is what
    makes this cheap: list.sort over Django's 157k (call, parameter, argument) tuples costs 3x more.
    """
    call_args, callables = list(call_args), list(callables)
    by_call = dict(zip(map(itemgetter(0), call_args), call_args))  # CallArgs fields by position
    info = dict(zip(map(itemgetter(0), callables), callables))  # CallableInfo
    params_of: dict[NodeId, list[tuple]] = {}
    for p in params:
        params_of.setdefault(p[1], []).append(p)
    signatures: dict[NodeId, _Signature] = {}  # built for called functions only
    returns_of: dict[NodeId, list[NodeId]] = {}
    for stmt, function in returns:
        returns_of.setdefault(function, []).append(stmt)
    # (function, receiver, positional count, keywords) -> its sorted (parameter, argument) flows:
    # Django's 150k bindings of arguments have 14k distinct shapes.
    shapes: dict[tuple, tuple[tuple[NodeId, str], ...]] = {}
    bound: dict[NodeId, tuple | list] = {}  #: call site -> its sorted (parameter, argument) flows
    sites_of: dict[NodeId, list[NodeId]] = {}  #: function with returns -> its call sites (one per edge)
    calls_kind, callsite, class_kind = EdgeKind.CALLS, NodeKind.CALLSITE, NodeKind.CLASS
    for kind, call, src_kind, dst, dst_kind, _ in calls:
        if kind is not calls_kind or src_kind is not callsite:
            continue
        site = by_call.get(call)
        target = info.get(dst)
        if site is None or target is None:
            continue
        func = dst
        receiver = target[1]
        if dst_kind is class_kind:
            func = target[2]
            if func is None:
                continue
            receiver = True
        elif func in returns_of:
            found = sites_of.get(func)
            if found is None:
                sites_of[func] = [call]
            else:
                found.append(call)
            # A method is taken to be called bound (``obj.m(x)``, ``self.m(x)``);
            # the rare unbound ``Cls.m(obj, x)`` shifts its arguments by one.
        positional, keywords = site[3], site[4]  # CallArgs
        if positional or keywords:
            shape = (func, receiver, positional, keywords)
            flows = shapes.get(shape)
            if flows is None:
                sig = signatures.get(func)
                if sig is None:
                    sig = signatures[func] = _signature(sorted(params_of.get(func, ()), key=itemgetter(3)))
                out: list[tuple[NodeId, str]] = []
                _bind(positional, keywords, sig, 1 if receiver else 0, out)
                out.sort()
                flows = shapes[shape] = tuple(out)
            if flows:
                # One lookup for the common call site with one callee; a second callee's flows
                # (even the same tuple) are added to the first's.
                known = len(bound)
                old = bound.setdefault(call, flows)
                if len(bound) == known:
                    bound[call] = sorted((*old, *flows))
    args = [(call, bound[call]) for call in sorted(bound)]
    for sites in sites_of.values():
        sites.sort()
    by_stmt: dict[NodeId, list[NodeId]] = {}
    for function, stmts in returns_of.items():
        sites = sites_of.get(function)
        if sites:
            for stmt in stmts:
                old = by_stmt.get(stmt)
                by_stmt[stmt] = sites if old is None else sorted(old + sites)
    return args, [(stmt, by_stmt[stmt]) for stmt in sorted(by_stmt)]


class _Signature(NamedTuple):
    positional: list[NodeId]  #: IDs of the parameters that take positional arguments, in order
    vararg: NodeId | None
    kwarg: NodeId | None
    by_name: dict[str, NodeId]  #: parameters that take keyword arguments


def _signature(plist: list[tuple]) -> _Signature:
    """From a function's `ParamInfo` rows (id, function, name, position, kind) sorted by position."""
    return _Signature(
        [p[0] for p in plist if p[4] in ("positional_only", "positional")],
        next((p[0] for p in plist if p[4] == "vararg"), None),
        next((p[0] for p in plist if p[4] == "kwarg"), None),
        {p[2]: p[0] for p in plist if p[4] in ("positional", "keyword_only")},
    )


#: "0", "1", ...: the argument labels of positional arguments
_POSITIONS = tuple(map(str, range(256)))


def _bind(count: int, keywords: tuple[str, ...], sig: _Signature, offset: int, out: list[tuple]) -> None:
    """Append (parameter, argument) for ``count`` positional and the ``keywords`` arguments of a call."""
    positional, vararg = sig.positional, sig.vararg
    for i in range(count):
        j = i + offset
        label = _POSITIONS[i] if i < 256 else str(i)
        if j < len(positional):
            out.append((positional[j], label))
        elif vararg is not None:
            out.append((vararg, label))
    if keywords:
        by_name, kwarg = sig.by_name, sig.kwarg
        for name in keywords:
            p = by_name.get(name)
            if p is not None:
                out.append((p, name))
            elif kwarg is not None:
                out.append((kwarg, name))
