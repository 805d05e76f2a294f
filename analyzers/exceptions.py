"""Exception flow: what each function raises, catches and lets escape, within a file and across calls.

Approach, per file: a structural walk over each body keeps the stack of the
``try`` statements whose *body* encloses the current statement, and the
``except`` clause (types and ``as`` name) the statement sits in. Each
``raise`` becomes a `RaiseFact` with its type: the called or named class of
``raise X(...)`` / ``raise X`` / ``raise X(...) from Y``; for a bare
``raise``, or ``raise e`` of the handler's ``as`` name, the types the
enclosing handler catches (kind ``reraise``). A raise is *caught* when an
enclosing ``try`` of the same function has a handler for one of its
ancestors (`is_subclass`). Handlers give `CatchFact` rows. Operations that
may raise implicitly (subscript, attribute access, ``int()``, division,
``next()``, ...; see `astrepo.analyzers.statements`) are `ImplicitRaise`
rows, kept apart from explicit raises. Every call site gets a `CallSiteGuard`
listing the handlers around it.

Project level, `propagate_exceptions` pushes each function's uncaught
explicit raises to its callers over CALLS edges (call site -> function),
dropping what each call site's guards catch, and keeps for every (function,
type) one origin: the raise site and the chain of call sites it travelled.

Class hierarchy: the interpreter's builtin exception classes, plus every
class of the inputs by its short name (``class MyError(KeyError)``), also
across files. A name not known to derive from anything is assumed to derive
from ``Exception``, as user exceptions do; ``except Exception`` catches it.

Budget: propagation works in rounds (each round re-examines the callers of
functions whose may-raise set grew); after `MAX_ROUNDS` rounds it stops and
marks the result partial. Hierarchy walks stop at `MAX_HIERARCHY_DEPTH`.

Known limits: types are matched by short name (two classes with one name in
different modules are one); ``raise make_error()`` records the function
name as the type; exceptions swallowed by a ``with`` block's context manager
are still reported; implicit raises are not propagated across calls.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Mapping
from functools import partial
from typing import NamedTuple

import tree_sitter

from astrepo.ids import NodeId
from astrepo.model import Edge, EdgeKind, FileFacts, NodeKind, new_record
from astrepo.analyzers.statements import (
    StatementIndex, block_statements, clause_body, index_statements,
)

log = logging.getLogger(__name__)

#: Rounds of project-wide propagation before the result is marked partial.
MAX_ROUNDS = 64
#: Base-class hops followed when matching a type against a handler.
MAX_HIERARCHY_DEPTH = 32

#: Builtin exception classes -> their bases' names, from the running interpreter.
BUILTIN_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    name: tuple(b.__name__ for b in cls.__bases__ if b is not object)
    for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, BaseException)
}
#: Subclasses of BaseException that are not Exceptions.
_NOT_EXCEPTION = frozenset(n for n, c in vars(builtins).items()
                           if isinstance(c, type) and issubclass(c, BaseException) and not issubclass(c, Exception))


class RaiseFact(NamedTuple):
    """An explicit ``raise`` (one row per type it may raise)."""

    stmt: NodeId  #: the raise Stmt
    scope: NodeId  #: enclosing function (or module/class body)
    type: str  #: dotted type as written ("" for a bare raise outside any handler)
    kind: str  #: raise | raise_from | reraise
    cause: str  #: the ``from`` expression as written, "" if none
    caught_by: NodeId | None  #: except Stmt of the same scope that catches it, None if it escapes
    line: int


class CatchFact(NamedTuple):
    """An ``except`` clause and the types it names (one row per type)."""

    handler: NodeId  #: the except Stmt
    scope: NodeId
    type: str  #: dotted type as written; "BaseException" for a bare ``except:``


class ImplicitRaise(NamedTuple):
    """An operation that may raise without a ``raise`` statement."""

    stmt: NodeId
    scope: NodeId
    type: str  #: e.g. KeyError, AttributeError, ZeroDivisionError
    op: str  #: subscript | attribute | division | int() | .index() | ...
    caught: bool  #: an enclosing try of the same scope catches it


class CallSiteGuard(NamedTuple):
    """A call site and the handlers around it in its own scope (innermost try first)."""

    call: NodeId
    scope: NodeId
    stmt: NodeId
    handlers: tuple[tuple[str, ...], ...]  #: per enclosing try, the types its handlers catch


class ExceptionFacts(NamedTuple):
    """Per-file exception facts."""

    raises: list[RaiseFact]
    catches: list[CatchFact]
    implicit: list[ImplicitRaise]
    sites: list[CallSiteGuard]
    classes: list[tuple[str, tuple[str, ...]]]  #: (class short name, base short names)


class MayRaise(NamedTuple):
    """A function may let ``type`` escape; it comes from ``origin`` through ``via``."""

    function: NodeId
    type: str  #: dotted type as written at the raise
    origin: NodeId  #: the raise Stmt
    via: tuple[NodeId, ...]  #: call sites from ``function`` down to the raising function ((): raised here)


class Propagation(NamedTuple):
    """Project-wide may-raise sets."""

    may_raise: list[MayRaise]
    partial: bool  #: MAX_ROUNDS was reached
    rounds: int


def short_name(dotted: str) -> str:
    """Last component of a dotted name (``errors.NotFound`` -> ``NotFound``)."""
    return dotted.rsplit(".", 1)[-1]


def is_subclass(name: str, handler: str, hierarchy: dict[str, tuple[str, ...]]) -> bool:
    """Whether an ``except handler`` clause catches an exception of class ``name`` (short names).

    Unknown classes are taken to derive from Exception.
    """
    name, handler = short_name(name), short_name(handler)
    if handler == "BaseException" or name == handler:
        return True
    seen = {name}
    frontier = [name]
    for _ in range(MAX_HIERARCHY_DEPTH):
        nxt = []
        for n in frontier:
            bases = hierarchy.get(n)
            if bases is None:
                bases = BUILTIN_EXCEPTIONS.get(n)
            if bases is None:
                continue
            for b in bases:
                b = short_name(b)
                if b == handler:
                    return True
                if b not in seen:
                    seen.add(b)
                    nxt.append(b)
        if not nxt:
            break
        frontier = nxt
    if handler == "Exception":
        # A class we cannot trace to a builtin root is assumed to be an Exception.
        return not (seen & _NOT_EXCEPTION)
    return False


def catches(handlers: tuple[str, ...], name: str, hierarchy: dict[str, tuple[str, ...]]) -> bool:
    """Whether any of ``handlers`` catches ``name``."""
    return any(is_subclass(name, h, hierarchy) for h in handlers)


def analyze_exceptions(tree: tree_sitter.Tree, facts: FileFacts, index: StatementIndex | None = None,
                       guarded_only: bool = False) -> ExceptionFacts:
    """Explicit raises, handlers, implicit raises and call-site guards of one file (with ``guarded_only``,
    ``sites`` holds only the call sites inside a ``try`` body: the others add nothing to propagation)."""
    if index is None:
        index = index_statements(tree, facts)
    classes = [(s.qualname.rsplit(".", 1)[-1], tuple(short_name(b) for b in s.bases))
               for s in facts.scopes if s.kind == "class"]
    hierarchy = merge_hierarchy([classes])
    walker = _Walker(index, hierarchy, guarded_only)
    for scope in index.scopes:
        walker.body(scope.body, [], None)
    return ExceptionFacts(walker.raises, walker.catches, walker.implicit, walker.sites, classes)


def merge_hierarchy(class_lists: Iterable[list[tuple[str, tuple[str, ...]]]]) -> dict[str, tuple[str, ...]]:
    """Short class name -> base short names, merged over files (bases of same-named classes united)."""
    out: dict[str, tuple[str, ...]] = {}
    for classes in class_lists:
        for name, bases in classes:
            old = out.get(name, ())
            out[name] = old + tuple(b for b in bases if b not in old and b != name)
    return out


# (except Stmt id, types) of the handlers of one try
_Try = list[tuple[NodeId, tuple[str, ...]]]


class _Walker:
    def __init__(self, index: StatementIndex, hierarchy: dict[str, tuple[str, ...]], guarded_only: bool) -> None:
        self.index = index
        self.all_sites = not guarded_only
        self.hierarchy = hierarchy
        self.raises: list[RaiseFact] = []
        self.catches: list[CatchFact] = []
        self.implicit: list[ImplicitRaise] = []
        self.sites: list[CallSiteGuard] = []

    def caught_by(self, tries: list[_Try], name: str) -> NodeId | None:
        for handlers in reversed(tries):
            for handler_id, types in handlers:
                if catches(types, name, self.hierarchy):
                    return handler_id
        return None

    def body(self, stmts: list[tree_sitter.Node], tries: list[_Try],
             handler: tuple[tuple[str, ...], str] | None) -> None:
        """Walk statements; ``tries``: enclosing try bodies; ``handler``: (types, as-name) of the enclosing except."""
        for node in stmts:
            info = self.index.info(node)
            if info is None:
                continue
            if info.calls and (tries or self.all_sites):
                guards = tuple(tuple(t for _, types in handlers for t in types) for handlers in reversed(tries))
                self.sites.extend(new_record(CallSiteGuard, (c, info.scope, info.id, guards)) for c in info.calls)
            for typ, op in sorted(info.implicit):
                self.implicit.append(new_record(ImplicitRaise, (info.id, info.scope, typ, op,
                                                   bool(tries) and self.caught_by(tries, typ) is not None)))
            t = node.type
            if info.kind == "raise":
                self.raise_(node, info, tries, handler)
            elif t == "try_statement":
                self.try_(node, info.scope, tries, handler)
            elif t in ("if_statement", "while_statement", "for_statement", "with_statement"):
                block = node.child_by_field_name("consequence" if t == "if_statement" else "body")
                self.body(block_statements(block), tries, handler)
                for alt in node.children_by_field_name("alternative"):
                    if alt.type == "elif_clause":
                        self.body([alt], tries, handler)
                    else:
                        self.body(clause_body(alt), tries, handler)
            elif t == "elif_clause":
                self.body(block_statements(node.child_by_field_name("consequence")), tries, handler)
            elif t == "match_statement":
                cases = node.child_by_field_name("body")
                if cases is not None:
                    for case in cases.named_children:
                        if case.type == "case_clause":
                            self.body([case], tries, handler)
            elif t == "case_clause":
                self.body(clause_body(node), tries, handler)

    def try_(self, node: tree_sitter.Node, scope: NodeId, tries: list[_Try],
             handler: tuple[tuple[str, ...], str] | None) -> None:
        handlers: _Try = []
        clauses = []
        for c in node.named_children:
            if c.type in ("except_clause", "except_group_clause"):
                info = self.index.info(c)
                if info is None:
                    continue
                types, alias = _handler_types(c)
                # A handler that re-raises what it caught guards nothing: the exception escapes.
                if not _reraises(c, alias):
                    handlers.append((info.id, types))
                clauses.append((c, types, alias, info))
                self.catches.extend(CatchFact(info.id, scope, t) for t in types)
        self.body(block_statements(node.child_by_field_name("body")), tries + [handlers] if handlers else tries, handler)
        for c, types, alias, info in clauses:
            if info.calls and (tries or self.all_sites):  # calls in the except expression itself
                guards = tuple(tuple(t for _, ts in h for t in ts) for h in reversed(tries))
                self.sites.extend(CallSiteGuard(call, info.scope, info.id, guards) for call in info.calls)
            self.body(clause_body(c), tries, (types, alias))
        for c in node.named_children:
            if c.type in ("else_clause", "finally_clause"):
                self.body(clause_body(c), tries, handler)

    def raise_(self, node: tree_sitter.Node, info, tries: list[_Try],
               handler: tuple[tuple[str, ...], str] | None) -> None:
        cause_node = node.child_by_field_name("cause")
        cause = cause_node.text.decode() if cause_node is not None and cause_node.text else ""
        exc = next((c for c in node.named_children if c != cause_node and c.type != "comment"), None)
        if exc is None or (handler is not None and handler[1] and exc.type == "identifier"
                           and exc.text == handler[1].encode()):
            types = handler[0] if handler is not None else ("",)
            kind = "reraise"
        else:
            target = exc.child_by_field_name("function") if exc.type == "call" else exc
            types = (_dotted(target) or _dotted(exc),)
            kind = "raise_from" if cause_node is not None else "raise"
        for typ in types:
            caught = self.caught_by(tries, typ) if typ else None
            self.raises.append(RaiseFact(info.id, info.scope, typ, kind, cause, caught, info.line))


def _reraises(clause: tree_sitter.Node, alias: str) -> bool:
    """Whether an except clause re-raises what it caught (``raise`` / ``raise <alias>``),
    outside nested definitions."""
    stack = list(clause.named_children)
    while stack:
        node = stack.pop()
        if node.type in ("function_definition", "class_definition", "lambda"):
            continue
        if node.type == "raise_statement":
            exc = node.named_children[0] if node.named_child_count else None
            if exc is None or (alias and exc.type == "identifier" and exc.text == alias.encode()):
                return True
        stack.extend(node.named_children)
    return False


def _dotted(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    if node.type in ("identifier", "attribute"):
        return node.text.decode()
    return ""


def _handler_types(clause: tree_sitter.Node) -> tuple[tuple[str, ...], str]:
    """(types caught, ``as`` name) of an except clause."""
    alias = ""
    expr = None
    for c in clause.named_children:
        if c.type in ("block", "comment"):
            continue
        expr = c
        break
    if expr is None:
        return ("BaseException",), ""
    if expr.type == "as_pattern":
        target = expr.child_by_field_name("alias")
        if target is not None and target.text:
            alias = target.text.decode()
        expr = expr.named_children[0] if expr.named_child_count else None
    if expr is None:
        return ("BaseException",), alias
    if expr.type in ("tuple", "parenthesized_expression", "expression_list"):
        items = [c for c in expr.named_children if c.type != "comment"]
        if len(items) == 1 and items[0].type == "tuple":
            items = items[0].named_children
        names = tuple(_dotted(c) or c.text.decode() for c in items if c.text)
        return names, alias
    return (_dotted(expr) or expr.text.decode(),), alias


def propagate_exceptions(files: Iterable[ExceptionFacts], calls: Iterable[Edge],
                         call_scopes: Mapping[str, str] | None = None,
                         max_rounds: int = MAX_ROUNDS, records: bool = True) -> Propagation:
    """May-raise sets of every function over the call graph, each with its origin and call path.

    Args:
        files: the per-file `ExceptionFacts` of the whole project (their ``sites`` may
            hold only the guarded call sites when ``call_scopes`` is given; their rows may be
            plain tuples of the records' fields).
        calls: CALLS edges; those from a CallSite to a Function are followed.
        call_scopes: CallSite ID -> calling scope, for call sites without a guard row
            (from the files' `CallFact` rows).
        max_rounds: propagation rounds before giving up (result marked partial).
        records: False for the may-raise facts as plain tuples of `MayRaise`'s fields (70k
            records on Django cost ~20 ms to make, for a caller reading them by position).
    """
    files = list(files)
    hierarchy = merge_hierarchy(f.classes for f in files)
    call_scopes = call_scopes or {}
    # Rows are read by position (RaiseFact, CallSiteGuard), so plain tuples do as well as records;
    # a may-raise fact is a plain (function, type, origin, via) tuple until the end.
    may: dict[NodeId, dict[str, tuple]] = {}
    for f in files:
        for stmt, scope, typ, _, _, caught_by, _ in f.raises:
            if caught_by is None and typ:
                per = may.get(scope)
                if per is None:
                    per = may[scope] = {}
                if typ not in per:
                    per[typ] = (scope, typ, stmt, ())
    site_info = {s[0]: s for f in files for s in f.sites}
    # callee -> [(call site, caller scope, stmt, guards)]
    callers: dict[NodeId, list[tuple]] = {}
    calls_kind, callsite, function = EdgeKind.CALLS, NodeKind.CALLSITE, NodeKind.FUNCTION
    for kind, src, src_kind, dst, dst_kind, _ in calls:
        if kind is calls_kind and src_kind is callsite and dst_kind is function:
            site = site_info.get(src)
            if site is None:
                scope = call_scopes.get(src)
                if scope is None:
                    continue
                site = (src, scope, "", ())
            if site[1] != dst:
                lst = callers.get(dst)
                if lst is None:
                    callers[dst] = [site]
                else:
                    lst.append(site)
    for lst in callers.values():
        if len(lst) > 1:
            lst.sort()
    caught: dict[tuple, bool] = {}  #: (guards, type) -> whether the guards catch it

    def guarded(handlers: tuple[tuple[str, ...], ...], typ: str) -> bool:
        key = (handlers, typ)
        found = caught.get(key)
        if found is None:
            found = caught[key] = any(catches(h, typ, hierarchy) for h in handlers)
        return found

    changed = sorted(may)
    rounds = 0
    cut_short = False
    while changed:
        if rounds >= max_rounds:
            cut_short = True
            log.warning("exception propagation stopped after %d rounds; may-raise sets are partial", rounds)
            break
        rounds += 1
        grew: set[NodeId] = set()
        for callee in changed:
            raised = may.get(callee)
            if not raised:
                continue
            for call, scope, _, handlers in callers.get(callee, ()):
                target = may.get(scope)
                if target is None:
                    target = may[scope] = {}
                elif raised.keys() <= target.keys():  # (in C) the caller has every type already
                    continue
                added = False
                for typ, origin in raised.items():
                    if typ in target or handlers and guarded(handlers, typ):
                        continue
                    target[typ] = (scope, typ, origin[2], (call, *origin[3]))
                    added = True
                if added:
                    grew.add(scope)
        changed = sorted(grew)
    # Sorted by function, then type: each (function, type) has one fact, so this is the order of the
    # facts themselves, for sorting 15k keys and small lists rather than 70k tuples (on Django).
    out: list = []
    for function in sorted(may):
        per = may[function]
        out += map(per.__getitem__, sorted(per))
    if records:
        out = list(map(partial(new_record, MayRaise), out))
    return Propagation(out, cut_short, rounds)
