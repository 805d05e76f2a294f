"""The instrumenter: a pure ``ast`` -> ``ast`` rewrite driven by a point table.

`instrument_module(tree, path, points)` returns a new module tree (the input
is copied, never modified) plus the table of instrumented nodes the loader
registers with the recorder. The rewritten code refers to ``_ar_*`` globals
(see `astrepo.capture.recorder.runtime_names`) that the import hook puts into
the module's namespace before running it.

Event codes are string constants ``"<tag>:<node id>"`` (see `EVENT_TAGS`); the
reader (`astrepo.capture.events`) decodes frames by tag.

What a function with a ``function_boundary`` and an ``exception`` point becomes::

    def f(a, b):
        '''doc'''                                  # docstring stays first
        _ar_b = _ar_D; _ar_t = 0                   # cannot fail
        try:
            _ar_b = _ar_tl.b; _ar_t = _ar_clock()
            _ar_b += ("C2:<id>", _ar_t, _ar_pv(a), _ar_pv(b))
        except Exception:
            pass
        try:
            <body; ``return x`` becomes: _ar_rv = x; <record>; return _ar_rv>
            <record the implicit ``return None``>
        except BaseException as _ar_e:
            try: _ar_x("X:<id>", _ar_t, _ar_e)
            except Exception: pass
            raise

Semantics preserved by construction: the docstring, signature, decorators,
``__qualname__``, the ``__class__`` cell and zero-argument ``super()`` are
untouched (nothing is moved into another function); ``from __future__``
imports stay first; every inserted node carries the position of the user
node it belongs to, so tracebacks (lines and 3.11 column carets), warnings
and ``f_lineno`` are those of the plain program; the bare ``raise`` keeps the
traceback; hook calls that could fail (RecursionError at the recursion limit,
MemoryError) are guarded so the user's exception is never replaced; nothing
is injected into class namespaces. Annotations are never rewritten (they may
be strings under ``from __future__ import annotations``).

Known limits: functions gain locals ``_ar_b``, ``_ar_t``, ``_ar_rv`` (visible to
``locals()``); lambdas get no boundary events; generator durations include
time suspended; a hook call counts one frame against the recursion limit
(the same depth as a builtin call would).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from astrepo.capture.ast_ids import FUNCTION_TYPES, AstIds, arg_list, assign_ids
from astrepo.capture.points import PointTable
from astrepo.capture.recorder import REDACTED, SAMPLE_EVERY, SAMPLE_FIRST, is_secret_name

#: Bump when the rewrite changes: part of the compiled-code cache key.
#: History: 1 - first version; 2 - no line points on docstrings and ``__future__`` imports;
#: 3 - sampled value previews (per-node counters ``_ar_c``, `SAMPLE_FIRST`/`SAMPLE_EVERY`).
INSTRUMENT_VERSION = 3

# Sampling of value previews: see SAMPLE_FIRST / SAMPLE_EVERY in astrepo.capture.recorder.

#: Event tags: tag -> (meaning, number of items after the code; "n" = from the code's count).
EVENT_TAGS = {
    "C": "call enter: ts, n argument previews",
    "A": "coroutine/async generator enter: ts, task id, n argument previews",
    "R": "return: duration ns, return preview",
    "X": "exception leaving a function: ts, type, message preview, line, raised here",
    "H": "exception caught by an except clause: ts, type, message preview, origin file, origin line",
    "L": "line (statement) executed",
    "T": "branch taken (if body, loop iteration, case)",
    "F": "branch not taken (if else / loop exhausted)",
    "V": "expression value: preview",
    "W": "variables written: n pairs (name, preview)",
}


@dataclass(frozen=True, slots=True)
class Instrumented:
    """The result of instrumenting one module."""

    tree: ast.Module
    #: (node id, kind, qualname, line) of every node with a point
    table: tuple[tuple[str, str, str, int], ...]
    n_points: int


def instrument_source(source: str | bytes, path: str, points_for) -> Instrumented:
    """Parse, assign IDs, pick points (``points_for(tree, ids)``) and instrument."""
    tree = ast.parse(source)
    ids = assign_ids(tree, path)
    return instrument_module(tree, ids, points_for(tree, ids))


def instrument_module(tree: ast.Module, ids: AstIds, points: PointTable) -> Instrumented:
    """Rewrite a copy of ``tree`` so it records the events of ``points``."""
    # Side tables are keyed by the original nodes: map them onto the copy.
    clone = copy.deepcopy(tree, memo := {})
    records = {memo[id(n)]: r for n, r in ids.records.items() if id(n) in memo}
    qualnames = {memo[id(n)]: q for n, q in ids.qualnames.items() if id(n) in memo}
    rewriter = _Rewriter(records, qualnames, points)
    rewriter.visit(clone)
    n_counters = rewriter.counters
    table = []
    for node, record in records.items():
        if record.id in points:
            qual = qualnames.get(node) or _enclosing_qualname(record.scope)
            table.append((record.id, record.kind, qual, record.line))
    table.sort(key=lambda row: (row[3], row[0]))
    _add_prologue(clone, ids.path, tuple(table), n_counters)
    ast.fix_missing_locations(clone)
    return Instrumented(clone, tuple(table), sum(len(v) for v in points.values()))


def _add_prologue(tree: ast.Module, path: str, table: tuple, n_counters: int = 0) -> None:
    """Bind the ``_ar_*`` runtime names, register the module and create its sampling counters,
    after the docstring and futures."""
    body = tree.body
    i = 0
    if body and _is_docstring(body[0]):
        i = 1
    while i < len(body) and (_is_future(body[i]) or (i == 0 and _is_docstring(body[i]))):
        i += 1
    like = body[i] if i < len(body) else (body[-1] if body else None)
    prologue = [
        ast.ImportFrom(module="astrepo.capture.recorder", names=[ast.alias(name="bind_module", asname="_ar_bind")],
                       level=0),
        ast.Expr(ast.Call(func=_name("_ar_bind"), args=[_call("globals"), _const(path), _const(table)],
                          keywords=[])),
    ]
    if n_counters:
        prologue.append(_assign("_ar_c", ast.BinOp(left=ast.List(elts=[_const(0)], ctx=ast.Load()), op=ast.Mult(),
                                                   right=_const(n_counters))))
    if like is not None:
        _locate(prologue, like)
    body[i:i] = prologue


def _enclosing_qualname(scope: str) -> str:
    return scope


# -- small AST builders -----------------------------------------------------------------

def _name(id_: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _const(value: object) -> ast.Constant:
    return ast.Constant(value=value)


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(func), args=list(args), keywords=[])


def _assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[_name(target, ast.Store())], value=value)


def _guarded(body: list[ast.stmt], on_error: list[ast.stmt] | None = None) -> ast.Try:
    """``try: body except Exception: pass`` (a zero-cost ``try`` in 3.11)."""
    return ast.Try(
        body=body,
        handlers=[ast.ExceptHandler(type=_name("Exception"), name=None, body=on_error or [ast.Pass()])],
        orelse=[], finalbody=[],
    )


def _extend(buf: ast.expr, items: list[ast.expr]) -> ast.stmt:
    """Append one whole event to a buffer with a single extend."""
    if isinstance(buf, ast.Name):
        return ast.AugAssign(target=_name(buf.id, ast.Store()), op=ast.Add(),
                             value=ast.Tuple(elts=items, ctx=ast.Load()))
    method = "append" if len(items) == 1 else "extend"
    arg = items[0] if len(items) == 1 else ast.Tuple(elts=items, ctx=ast.Load())
    return ast.Expr(ast.Call(func=ast.Attribute(value=buf, attr=method, ctx=ast.Load()), args=[arg], keywords=[]))


def _sampling_of(point) -> tuple[int, int]:
    """(first, every) of a point's ``sampling``; every is rounded up to a power of two."""
    raw = getattr(point, "sampling", None)
    first, every = SAMPLE_FIRST, SAMPLE_EVERY
    if isinstance(raw, dict):
        first = int(raw.get("first", first))
        every = max(1, int(raw.get("every", every)))
    every = 1 << (every - 1).bit_length()
    return first, every


def _sampled(counter: int, point, full: list[ast.stmt], light: list[ast.stmt]) -> list[ast.stmt]:
    """``_ar_c[k] += 1; if _ar_c[k] <= first or not _ar_c[k] & (every - 1): full else: light``."""
    first, every = _sampling_of(point)
    slot = lambda ctx=None: ast.Subscript(value=_name("_ar_c"), slice=_const(counter), ctx=ctx or ast.Load())  # noqa: E731
    if every == 1:
        return full
    bump = ast.AugAssign(target=slot(ast.Store()), op=ast.Add(), value=_const(1))
    test = ast.BoolOp(op=ast.Or(), values=[
        ast.Compare(left=slot(), ops=[ast.LtE()], comparators=[_const(first)]),
        ast.UnaryOp(op=ast.Not(), operand=ast.BinOp(left=slot(), op=ast.BitAnd(), right=_const(every - 1))),
    ])
    return [bump, ast.If(test=test, body=full, orelse=light)]


def _append(buf: ast.expr, code: str) -> ast.stmt:
    return ast.Expr(ast.Call(func=ast.Attribute(value=buf, attr="append", ctx=ast.Load()),
                             args=[_const(code)], keywords=[]))


def _locate(nodes: ast.AST | list, like: ast.AST) -> None:
    """Give every node in ``nodes`` the full position of ``like``."""
    items = nodes if isinstance(nodes, list) else [nodes]
    lineno = getattr(like, "lineno", 1)
    col = getattr(like, "col_offset", 0)
    end_lineno = getattr(like, "end_lineno", lineno) or lineno
    end_col = getattr(like, "end_col_offset", col) or col
    for item in items:
        for n in ast.walk(item):
            if "lineno" in n._attributes:
                n.lineno, n.col_offset, n.end_lineno, n.end_col_offset = lineno, col, end_lineno, end_col


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_future(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


def _target_names(target: ast.expr, out: list[str]) -> list[str]:
    if isinstance(target, ast.Name):
        out.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _target_names(elt, out)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, out)
    return out


def _ends_in_jump(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))


class _Scope:
    """Rewrite state of the definition being walked."""

    __slots__ = ("kind", "node", "buffer", "fid", "ret_code", "boundary", "sampled")

    def __init__(self, kind: str, node: ast.AST | None) -> None:
        self.kind = kind  #: "module", "class", "function"
        self.node = node
        self.buffer: ast.expr | None = None  #: how this scope reaches its thread's buffer
        self.fid = ""
        self.ret_code = ""  #: set when returns are recorded
        self.boundary = False
        self.sampled = False  #: previews of arguments/return only when ``_ar_s`` (see `_sampled`)


class _Rewriter(ast.NodeTransformer):
    """In-place rewrite of a (copied) module tree."""

    def __init__(self, records: dict, qualnames: dict, points: PointTable) -> None:
        self.records = records
        self.qualnames = qualnames
        self.points = points
        self.scopes: list[_Scope] = []
        self.counters = 0  #: sampling counters allocated (``_ar_c`` slots)

    def _counter(self) -> int:
        self.counters += 1
        return self.counters - 1

    # -- helpers -------------------------------------------------------------
    def _point(self, node: ast.AST, kind: str):
        record = self.records.get(node)
        if record is None:
            return None, None
        kinds = self.points.get(record.id)
        if not kinds or kind not in kinds:
            return record.id, None
        return record.id, kinds[kind]

    def _buf(self) -> ast.expr:
        scope = self.scopes[-1]
        if scope.buffer is not None:
            return _name(scope.buffer.id) if isinstance(scope.buffer, ast.Name) else copy.deepcopy(scope.buffer)
        return ast.Attribute(value=_name("_ar_tl"), attr="b", ctx=ast.Load())

    def _needs_local_buffer(self, func: ast.AST) -> bool:
        """Whether a function's own statements have inline events (then it fetches its buffer once)."""
        stack = list(func.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            record = self.records.get(node)
            if record is not None:
                kinds = self.points.get(record.id)
                if kinds and ({"line", "branch", "variable"} & kinds.keys()):
                    return True
            if isinstance(node, ast.stmt) or isinstance(node, (ast.ExceptHandler, ast.match_case)):
                stack.extend(ast.iter_child_nodes(node))
        return False

    # -- statement lists -------------------------------------------------------
    def _stmts(self, body: list[ast.stmt], docstring_allowed: bool = False) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for i, stmt in enumerate(body):
            protected = (docstring_allowed and i == 0 and _is_docstring(stmt)) or _is_future(stmt)
            sid, line_point = self._point(stmt, "line")
            _, var_point = self._point(stmt, "variable")
            new = self.visit(stmt)
            if line_point is not None and not protected:
                event = _append(self._buf(), f"L:{sid}")
                _locate(event, stmt)
                out.append(event)
            if isinstance(new, list):
                out.extend(new)
            elif new is not None:
                out.append(new)
            if var_point is not None:
                event = self._variables_event(stmt, sid)
                if event is not None:
                    out.append(event)
        return out

    def _variables_event(self, stmt: ast.stmt, sid: str) -> ast.stmt | None:
        if isinstance(stmt, ast.Assign):
            names: list[str] = []
            for target in stmt.targets:
                _target_names(target, names)
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
            names = _target_names(stmt.target, [])
        else:
            return None
        names = list(dict.fromkeys(names))
        if not names:
            return None
        items: list[ast.expr] = [_const(f"W{len(names)}:{sid}")]
        for name in names:
            items.append(_const(name))
            items.append(_const(REDACTED) if is_secret_name(name) else _call("_ar_pv", _name(name)))
        _, point = self._point(stmt, "variable")
        event = _guarded(_sampled(self._counter(), point, [_extend(self._buf(), items)],
                                  [_append(self._buf(), f"W0:{sid}")]))
        _locate(event, stmt)
        return event

    def _branch(self, node: ast.AST, tag: str, like: ast.AST) -> ast.stmt | None:
        sid, point = self._point(node, "branch")
        if point is None:
            return None
        event = _append(self._buf(), f"{tag}:{sid}")
        _locate(event, like)
        return event

    # -- scopes ------------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> ast.Module:
        self.scopes.append(_Scope("module", node))
        node.body = self._stmts(node.body, docstring_allowed=True)
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        for kw in node.keywords:
            kw.value = self.visit(kw.value)
        self.scopes.append(_Scope("class", node))
        node.body = self._stmts(node.body, docstring_allowed=True) or [ast.Pass()]
        self.scopes.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node.args = self._outer_args(node.args)
        self.scopes.append(_Scope("function", node))  # lambda: no local buffer, no statements
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def _outer_args(self, args: ast.arguments) -> ast.arguments:
        args.defaults = [self.visit(d) for d in args.defaults]
        args.kw_defaults = [self.visit(d) if d is not None else None for d in args.kw_defaults]
        return args

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args = self._outer_args(node.args)
        fid, boundary = self._point(node, "function_boundary")
        _, exc_point = self._point(node, "exception")
        scope = _Scope("function", node)
        scope.fid = fid or ""
        local = boundary is not None or self._needs_local_buffer(node)
        if local:
            scope.buffer = _name("_ar_b")
        if boundary is not None:
            scope.boundary = True
            scope.ret_code = f"R:{fid}"
            capture = boundary.capture
            scope.sampled = bool(capture.get("args") or capture.get("return")) and _sampling_of(boundary)[1] > 1
        self.scopes.append(scope)
        body = list(node.body)
        doc = [body.pop(0)] if body and _is_docstring(body[0]) else []
        first = body[0] if body else node
        new_body = self._stmts(body)
        if boundary is not None:
            capture_return = bool(boundary.capture.get("return"))
            self._rewrite_returns(new_body, scope, capture_return)
            if not _ends_in_jump(new_body):
                end = self._return_event(scope, None, capture_return)
                _locate(end, body[-1] if body else node)
                new_body.append(end)
        self.scopes.pop()
        prologue: list[ast.stmt] = []
        if local:
            prologue.append(_assign("_ar_b", _name("_ar_D")))
            prologue.append(_assign("_ar_t", _const(0)))
            fetch: list[ast.stmt] = [_assign("_ar_b", ast.Attribute(value=_name("_ar_tl"), attr="b", ctx=ast.Load()))]
            if boundary is not None:
                fetch.append(_assign("_ar_t", _call("_ar_clock")))
                if scope.sampled:
                    prologue.append(_assign("_ar_s", _const(0)))
                    fetch.extend(_sampled(self._counter(), boundary,
                                          [_assign("_ar_s", _const(1)), self._enter_event(node, fid, boundary)],
                                          [self._enter_event(node, fid, boundary, light=True)]))
                else:
                    fetch.append(self._enter_event(node, fid, boundary))
            prologue.append(_guarded(fetch))
        if exc_point is not None:
            t0 = _name("_ar_t") if local else _const(0)
            handler_body: list[ast.stmt] = [
                _guarded([ast.Expr(_call("_ar_x", _const(f"X:{fid}"), t0, _name("_ar_e")))]),
                ast.Raise(exc=None, cause=None),
            ]
            wrapped: list[ast.stmt] = [ast.Try(
                body=new_body or [ast.Pass()],
                handlers=[ast.ExceptHandler(type=_name("BaseException"), name="_ar_e", body=handler_body)],
                orelse=[], finalbody=[],
            )]
            _locate(wrapped[0].handlers, first)
            # The try itself takes the first statement's position; its body keeps its own.
            for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                setattr(wrapped[0], attr, getattr(first, attr, 1))
            new_body = wrapped
        _locate(prologue, first)
        node.body = doc + prologue + (new_body or [ast.Pass()])
        return node

    def _enter_event(self, node: ast.AST, fid: str, boundary, light: bool = False) -> ast.stmt:
        params = arg_list(node.args)
        previews: list[ast.expr] = []
        if boundary.capture.get("args") and not light:
            for p in params:
                previews.append(_const(REDACTED) if is_secret_name(p.arg) else _call("_ar_pv", _name(p.arg)))
        is_async = isinstance(node, ast.AsyncFunctionDef)
        tag = "A" if is_async else "C"
        items: list[ast.expr] = [_const(f"{tag}{len(previews)}:{fid}"), _name("_ar_t")]
        if is_async:
            items.append(_call("_ar_task"))
        return _extend(_name("_ar_b"), items + previews)

    def _return_event(self, scope: _Scope, value: ast.expr | None, capture_return: bool) -> ast.stmt:
        preview = _call("_ar_pv", value) if (capture_return and value is not None) else _const(None)
        if capture_return and scope.sampled:
            # Ellipsis: "not sampled" (the reader keeps no value for it).
            preview = ast.IfExp(test=_name("_ar_s"), body=preview, orelse=_const(Ellipsis))
        duration = ast.BinOp(left=_call("_ar_clock"), op=ast.Sub(), right=_name("_ar_t"))
        return _guarded([_extend(_name("_ar_b"), [_const(scope.ret_code), duration, preview])])

    def _rewrite_returns(self, body: list[ast.stmt], scope: _Scope, capture_return: bool) -> None:
        """Replace ``return x`` (in this function only) by: evaluate, record, return."""
        for parent, field_name, stmts in list(_stmt_lists(body)):
            i = 0
            while i < len(stmts):
                stmt = stmts[i]
                if isinstance(stmt, ast.Return):
                    if stmt.value is None:
                        event = self._return_event(scope, None, capture_return)
                        _locate(event, stmt)
                        stmts[i:i + 1] = [event, stmt]
                        i += 2
                        continue
                    keep = _assign("_ar_rv", stmt.value)
                    _locate(keep.targets, stmt)
                    keep.lineno, keep.col_offset = stmt.lineno, stmt.col_offset
                    keep.end_lineno, keep.end_col_offset = stmt.end_lineno, stmt.end_col_offset
                    event = self._return_event(scope, _name("_ar_rv"), capture_return)
                    _locate(event, stmt)
                    stmt.value = _name("_ar_rv")
                    _locate(stmt.value, stmt)
                    stmts[i:i + 1] = [keep, event, stmt]
                    i += 3
                    continue
                i += 1

    # -- statements with events -------------------------------------------------------
    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field_name, old in ast.iter_fields(node):
            if isinstance(old, list):
                if old and isinstance(old[0], ast.stmt):
                    setattr(node, field_name, self._stmts(old))
                else:
                    new_values = []
                    for value in old:
                        if isinstance(value, ast.AST):
                            value = self.visit(value)
                            if value is None:
                                continue
                            if not isinstance(value, ast.AST):
                                new_values.extend(value)
                                continue
                        new_values.append(value)
                    old[:] = new_values
            elif isinstance(old, ast.AST):
                new_node = self.visit(old)
                if new_node is None:
                    delattr(node, field_name)
                else:
                    setattr(node, field_name, new_node)
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        node.test = self.visit(node.test)
        node.body = self._stmts(node.body)
        node.orelse = self._stmts(node.orelse)
        self._add_branches(node, node.body, "orelse")
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node.test = self.visit(node.test)
        node.body = self._stmts(node.body)
        node.orelse = self._stmts(node.orelse)
        self._add_branches(node, node.body, "orelse")
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node.iter = self.visit(node.iter)
        node.body = self._stmts(node.body)
        node.orelse = self._stmts(node.orelse)
        self._add_branches(node, node.body, "orelse")
        return node

    visit_AsyncFor = visit_For

    def _add_branches(self, node: ast.AST, body: list[ast.stmt], else_field: str) -> None:
        taken = self._branch(node, "T", body[0] if body else node)
        if taken is None:
            return
        body.insert(0, taken)
        orelse = getattr(node, else_field)
        not_taken = self._branch(node, "F", orelse[0] if orelse else node)
        orelse.insert(0, not_taken)

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        if node.guard is not None:
            node.guard = self.visit(node.guard)
        node.body = self._stmts(node.body)
        taken = self._branch(node, "T", node.body[0])
        if taken is not None:
            node.body.insert(0, taken)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.type is not None:
            node.type = self.visit(node.type)
        node.body = self._stmts(node.body)
        hid, point = self._point(node, "exception")
        if point is not None:
            event = _guarded([ast.Expr(_call("_ar_h", _const(f"H:{hid}")))])
            _locate(event, node.body[0] if node.body else node)
            node.body.insert(0, event)
        return node

    # -- expressions ----------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        cid, point = self._point(node, "expression")
        if point is None:
            return node
        func = node.func
        if isinstance(func, ast.Name) and (func.id == "super" or func.id.startswith("_ar_")):
            return node
        wrapper = ast.Call(func=_name("_ar_v"), args=[_const(f"V:{cid}"), node], keywords=[])
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            setattr(wrapper, attr, getattr(node, attr))
        _locate([wrapper.func, wrapper.args[0]], node)
        return wrapper

    # Annotations are never rewritten (strings under PEP 563, evaluated lazily by typing).
    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        node.target = self.visit(node.target)
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node


def _stmt_lists(body: list[ast.stmt]):
    """Every statement list in ``body`` (itself included), not entering nested definitions."""
    yield None, "body", body
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field_name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield node, field_name, value
                stack.extend(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                        yield item, "body", item.body
                        stack.extend(item.body)
