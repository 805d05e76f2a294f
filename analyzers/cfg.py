"""Statement-level control flow graphs of every module, class and function body.

Approach: a structural pass over each body's statements (no expressions)
builds edges between the statements' graph nodes: Stmt nodes, Function/Class
nodes for ``def``/``class`` statements, and two synthetic nodes per scope,
``entry`` and ``exit`` (IDs from `cfg_entry_id` / `cfg_exit_id`; their rows
come from `synthetic_nodes`). The builder keeps a stack of the enclosing
loops, ``try`` handlers and ``finally`` blocks, and routes every abrupt jump
(``return``, ``break``, ``continue``, an exception) to the innermost frame
that intercepts it. A ``finally`` block is built once; its ends get an edge
for each kind of jump that entered it (re-raise, continue returning, ...).

Edge labels:
* ``next``: fall-through, and normal entry into a ``finally`` block;
* ``true`` / ``false``: a condition (``if``/``elif``/``while``), a ``for``
  loop getting an item / being exhausted, an ``except`` clause matching or
  not, a ``case`` matching or not;
* ``loop``: end of a loop body back to its header; ``break``, ``continue``;
* ``return``: to the scope's exit (or out of a ``finally`` that a return went through);
* ``exception``: to the first handler of the innermost ``try``, or the exit;
* ``finally``: an abrupt jump (return/break/continue/exception) into a ``finally`` block.

Invariants: every statement with a graph node appears in its scope's CFG
(unreachable code has no incoming edge); the entry has exactly one outgoing
edge; edges are unique per (src, dst, label).

Known limits: exception edges are drawn from ``raise``/``assert``, from
every statement inside a ``try`` body (conservatively: whatever it contains
may raise), and from ``yield``/``await`` statements (a generator closed at a
``yield``, a task cancelled at an ``await``), but not from every call outside
a ``try`` to the exit (the exception analyzer covers those). A ``with``
block's context manager is assumed not to swallow exceptions. ``while True``
(and ``while 1``) has no ``false`` edge.
"""

from __future__ import annotations

from typing import NamedTuple

import tree_sitter

from astrepo.ids import NodeId, node_id_for
from astrepo.model import FileFacts, new_record
from astrepo.parse import KIND_NAMES
from astrepo.analyzers.statements import (
    AWAITS, YIELDS, ScopeBody, StatementIndex, StmtInfo, block_statements, clause_body, index_statements,
)

LABELS = ("next", "true", "false", "loop", "break", "continue", "return", "exception", "finally")

#: Statements that cannot raise by themselves.
_NEVER_RAISE = frozenset(("pass", "break", "continue", "global", "nonlocal", "try", "case", "except"))
_CATCH_ALL = frozenset(("BaseException", "builtins.BaseException"))


class CfgEdge(NamedTuple):
    """One control-flow edge between two statements of a scope."""

    scope: NodeId  #: the module/class/function whose body this is
    src: NodeId
    dst: NodeId
    label: str  #: one of LABELS


class CfgNode(NamedTuple):
    """A synthetic entry or exit node (stored as a Stmt row with kind entry/exit)."""

    id: NodeId
    scope: NodeId
    kind: str  #: "entry" | "exit"
    line: int  #: 1-based: the scope's first line (entry) or last line (exit)


def cfg_entry_id(path: str, scope: NodeId) -> NodeId:
    """ID of the synthetic entry node of ``scope``'s CFG."""
    return node_id_for(path, scope, "cfg_entry")


def cfg_exit_id(path: str, scope: NodeId) -> NodeId:
    """ID of the synthetic exit node of ``scope``'s CFG."""
    return node_id_for(path, scope, "cfg_exit")


def cfg_ids(index: StatementIndex, scope: NodeId) -> tuple[NodeId, NodeId]:
    """(entry, exit) node IDs of ``scope``'s CFG, hashed once per index (the CFG, its synthetic nodes
    and the data flow all need them)."""
    ids = index.cfg_ids.get(scope)
    if ids is None:
        ids = index.cfg_ids[scope] = (cfg_entry_id(index.path, scope), cfg_exit_id(index.path, scope))
    return ids


def synthetic_nodes(index: StatementIndex) -> list[CfgNode]:
    """Entry and exit nodes of every scope body in ``index``."""
    out = []
    for scope in index.scopes:
        start, end = scope.node.start_point[0] + 1, scope.node.end_point[0] + 1
        entry, exit_ = cfg_ids(index, scope.id)
        out.append(new_record(CfgNode, (entry, scope.id, "entry", start)))
        out.append(new_record(CfgNode, (exit_, scope.id, "exit", end)))
    return out


def build_cfg(tree: tree_sitter.Tree, facts: FileFacts, index: StatementIndex | None = None) -> list[CfgEdge]:
    """Control-flow edges of every module, class and function body of one file.

    Args:
        tree: the file's tree-sitter tree (the one ``facts`` were extracted from).
        facts: the file's facts (Stmt/Function/Class node IDs).
        index: the file's `StatementIndex`, when already computed.
    """
    if index is None:
        index = index_statements(tree, facts)
    edges: list[CfgEdge] = []
    for scope in index.scopes:
        edges.extend(_Builder(index, scope).run())
    return edges


class _Loop:
    __slots__ = ("header", "breaks")

    def __init__(self, header: NodeId) -> None:
        self.header = header
        self.breaks: list[tuple[NodeId, str]] = []


class _Handlers:
    __slots__ = ("first",)

    def __init__(self, first: NodeId) -> None:
        self.first = first


class _Finally:
    __slots__ = ("entry", "pending")

    def __init__(self, entry: NodeId) -> None:
        self.entry = entry
        self.pending: set[str] = set()


Preds = list[tuple[NodeId, str]]


class _Builder:
    def __init__(self, index: StatementIndex, scope: ScopeBody) -> None:
        self.index = index
        self.scope = scope
        self.entry, self.exit = cfg_ids(index, scope.id)
        self.edges: dict[tuple[NodeId, NodeId, str], None] = {}
        self.frames: list[_Loop | _Handlers | _Finally] = []

    def run(self) -> list[CfgEdge]:
        ends = self.seq(self.scope.body, [(self.entry, "next")])
        self.connect(ends, self.exit)
        sid = self.scope.id
        return [new_record(CfgEdge, (sid, a, b, label)) for a, b, label in self.edges]

    # -- helpers ---------------------------------------------------------------
    def add(self, src: NodeId, dst: NodeId, label: str) -> None:
        self.edges[(src, dst, label)] = None

    def connect(self, preds: Preds, dst: NodeId) -> None:
        for src, label in preds:
            self.edges[(src, dst, label)] = None

    def first_id(self, stmts: list[tree_sitter.Node]) -> NodeId | None:
        for node in stmts:
            info = self.index.info(node)
            if info is not None:
                return info.id
        return None

    def jump(self, src: NodeId, kind: str, frames: list | None = None) -> None:
        """Route an abrupt jump of ``kind`` (return/break/continue/exception) from ``src``."""
        frames = self.frames if frames is None else frames
        for frame in reversed(frames):
            if isinstance(frame, _Finally):
                self.add(src, frame.entry, "finally")
                frame.pending.add(kind)
                return
            if kind == "exception" and isinstance(frame, _Handlers):
                self.add(src, frame.first, "exception")
                return
            if isinstance(frame, _Loop) and kind in ("break", "continue"):
                if kind == "continue":
                    self.add(src, frame.header, "continue")
                else:
                    frame.breaks.append((src, "break"))
                return
        if kind in ("return", "exception"):
            self.add(src, self.exit, kind)

    def may_raise(self, info: StmtInfo) -> bool:
        if info.flags & (YIELDS | AWAITS):
            return True
        if info.kind in _NEVER_RAISE:
            return False
        return any(not isinstance(f, _Loop) for f in self.frames)

    # -- statements ------------------------------------------------------------
    def seq(self, stmts: list[tree_sitter.Node], preds: Preds) -> Preds:
        for node in stmts:
            info = self.index.info(node)
            if info is None:
                continue  # inside a syntax error: no node
            self.connect(preds, info.id)
            preds = self.stmt(node, info)
        return preds

    def stmt(self, node: tree_sitter.Node, info: StmtInfo) -> Preds:
        t = KIND_NAMES[node.kind_id]
        sid = info.id
        kind = info.kind
        if kind == "raise":
            self.jump(sid, "exception")
            return []
        if self.may_raise(info) or kind == "assert":
            self.jump(sid, "exception")
        if kind == "return":
            self.jump(sid, "return")
            return []
        if kind in ("break", "continue"):
            self.jump(sid, kind)
            return []
        if t == "if_statement":
            return self.if_(node, sid)
        if t in ("while_statement", "for_statement"):
            return self.loop(node, sid, t == "while_statement")
        if t == "try_statement":
            return self.try_(node, sid)
        if t == "with_statement":
            return self.seq(block_statements(node.child_by_field_name("body")), [(sid, "next")])
        if t == "match_statement":
            return self.match(node, sid)
        return [(sid, "next")]

    def if_(self, node: tree_sitter.Node, sid: NodeId) -> Preds:
        out = self.seq(block_statements(node.child_by_field_name("consequence")), [(sid, "true")])
        false: Preds = [(sid, "false")]
        for alt in node.children_by_field_name("alternative"):
            if alt.type == "elif_clause":
                info = self.index.info(alt)
                if info is None:
                    continue
                self.connect(false, info.id)
                if self.may_raise(info):
                    self.jump(info.id, "exception")
                out += self.seq(block_statements(alt.child_by_field_name("consequence")), [(info.id, "true")])
                false = [(info.id, "false")]
            else:
                out += self.seq(clause_body(alt), false)
                false = []
        return out + false

    def loop(self, node: tree_sitter.Node, sid: NodeId, is_while: bool) -> Preds:
        frame = _Loop(sid)
        self.frames.append(frame)
        ends = self.seq(block_statements(node.child_by_field_name("body")), [(sid, "true")])
        self.frames.pop()
        for src, label in ends:
            self.add(src, sid, "loop")
        cond = node.child_by_field_name("condition") if is_while else None
        endless = cond is not None and cond.text in (b"True", b"1")
        out: Preds = []
        if not endless:
            alt = node.child_by_field_name("alternative")
            out = self.seq(clause_body(alt), [(sid, "false")]) if alt is not None else [(sid, "false")]
        return out + frame.breaks

    def try_(self, node: tree_sitter.Node, sid: NodeId) -> Preds:
        handlers = [c for c in node.named_children if c.type in ("except_clause", "except_group_clause")]
        else_body: list[tree_sitter.Node] = []
        final_body: list[tree_sitter.Node] = []
        for c in node.named_children:
            if c.type == "else_clause":
                else_body = clause_body(c)
            elif c.type == "finally_clause":
                final_body = clause_body(c)
        final_entry = self.first_id(final_body)
        fin = _Finally(final_entry) if final_entry is not None else None
        if fin is not None:
            self.frames.append(fin)
        handler_infos = [(h, self.index.info(h)) for h in handlers]
        handler_infos = [(h, i) for h, i in handler_infos if i is not None]
        if handler_infos:
            self.frames.append(_Handlers(handler_infos[0][1].id))
        ends = self.seq(block_statements(node.child_by_field_name("body")), [(sid, "next")])
        if handler_infos:
            self.frames.pop()
        ends = self.seq(else_body, ends)
        for i, (h, info) in enumerate(handler_infos):
            ends += self.seq(clause_body(h), [(info.id, "true")])
            if _catches_all(h):
                break
            if i + 1 < len(handler_infos):
                self.add(info.id, handler_infos[i + 1][1].id, "false")
            else:
                self.jump(info.id, "exception")  # no clause matched: propagates
        if fin is None:
            return ends
        self.frames.pop()
        self.connect(ends, fin.entry)
        fin_ends = self.seq(final_body, [])
        for kind in sorted(fin.pending):
            for src, _ in fin_ends:
                self.jump(src, kind)
        # Entered only by jumps (every path through the try returned or raised): no fall-through.
        return fin_ends if ends else []

    def match(self, node: tree_sitter.Node, sid: NodeId) -> Preds:
        body = node.child_by_field_name("body")
        cases = [c for c in body.named_children if c.type == "case_clause"] if body is not None else []
        nxt: Preds = [(sid, "next")]
        out: Preds = []
        for case in cases:
            info = self.index.info(case)
            if info is None:
                continue
            self.connect(nxt, info.id)
            out += self.seq(clause_body(case), [(info.id, "true")])
            nxt = [] if _irrefutable(case) else [(info.id, "false")]
        return out + nxt


def _catches_all(handler: tree_sitter.Node) -> bool:
    """A bare ``except:`` or ``except BaseException``."""
    types = [c for c in handler.named_children if c.type not in ("block", "comment")]
    if not types:
        return True
    first = types[0]
    if first.type == "as_pattern" and first.named_child_count:
        first = first.named_children[0]
    return first.text is not None and first.text.decode() in _CATCH_ALL


def _irrefutable(case: tree_sitter.Node) -> bool:
    """``case _:`` or ``case name:`` without a guard matches anything."""
    patterns = [c for c in case.named_children if c.type == "case_pattern"]
    if len(patterns) != 1 or any(c.type == "if_clause" for c in case.named_children):
        return False
    p = patterns[0]
    if p.named_child_count == 0:
        return p.text == b"_"
    inner = p.named_children[0]
    return p.named_child_count == 1 and inner.type == "dotted_name" and inner.named_child_count == 1
