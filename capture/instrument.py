"""The instrumenter: a pure ``ast`` -> ``ast`` rewrite driven by a point table.

`instrument_module(tree, path, points)` returns a new module tree (the input
is copied, never modified) plus the table of instrumented nodes the loader
registers with the recorder. The rewritten code refers to ``_ar_*`` names
(see `astrepo.capture.recorder.runtime_names`) that the module's first
statement makes builtins (not module globals: code listing a module's
namespace, as toolz's tests do, must not find them).

Events are integer frames (`astrepo.capture.codes`): an event code constant
(node key and tag), then ints; previews go to the buffer's side list through
the ``_ar_s*`` helpers, on sampled executions only (`sampler`: the first N,
then one in M; ``_ar_next(_ar_q[k])`` says which).

What a function with a ``function_boundary`` and an ``exception`` point becomes::

    def f(a, b):
        '''doc'''                                  # docstring stays first
        try:
            _ar_b = _ar_tl.b                       # the thread's buffer
        except Exception:
            <_ar_b = _ar_D, then the registering _ar_nb(), guarded>
        _ar_s = False
        try:
            _ar_s = _ar_next(_ar_q[3])             # True: a sampled execution, with previews
            if _ar_s:
                _ar_sv(_ar_b, (a, b)); _ar_b.append(<C1 code>)
            else:
                _ar_b.append(<C0 code>)
            _ar_b.append(_ar_clock())
        except Exception:
            pass
        try:
            <body; ``return x`` becomes: _ar_rv = x; <record R0/R1, exit time>; return _ar_rv>
            <record the implicit ``return None``>
        except BaseException as _ar_e:
            try: _ar_x(<X code>, _ar_e, _ar_b)
            except Exception: pass
            raise

A ``line`` point whose ``capture`` says ``counter`` (a counted function's first statement, in a
function with no other inline event) becomes ``_ar_next(_ar_q[k])`` on an ``itertools.count``:
no buffer fetch, no append; the recorder writes the count (an ``N`` frame) when the process ends.

A call expression with an ``expression`` point, in a function's own code,
becomes ``_ar_vs(_ar_b, <V1>, CALL) if <sampled> else (_ar_b.append(<V0>)
or CALL)`` when no call inside it has a value event (so the copy of CALL
costs linear code size; also in the function's comprehensions, where
``_ar_b`` becomes a cell of the function), else ``(_ar_y := CALL, _ar_vs(_ar_b, <V1>, _ar_y)
if <sampled> else _ar_b.append(<V0>), _ar_y := None)[0]`` (no copy: the
value goes through ``_ar_y``, reset at once so nothing lives longer). A
sampled value event (V1) is recorded when the call returns; an unsampled one
(V0) when the first form starts the call, when the second form has the value.
<sampled> is ``_ar_next(_ar_q[k])``, behind ``_ar_s and`` in functions whose
calls are sampled. At module or class level, in lambdas, and for the second
form in comprehensions (where ``_ar_y`` would leak into a class namespace,
bind in the function or change a lambda's closure) it becomes
``_ar_v(<V0>, <sampled>, CALL)``.

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

Known limits: modules gain one global, ``_ar_q`` (a list; the helpers are builtins);
functions gain locals ``_ar_b``, ``_ar_s``, ``_ar_rv``, ``_ar_y``
(visible to ``locals()``; ``_ar_b`` also in a comprehension's ``locals()`` when it records
values); lambdas get no boundary events; generator durations include
time suspended; a hook call counts one frame against the recursion limit
(the same depth as a builtin call would).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from astrepo.capture.ast_ids import FUNCTION_TYPES, AstIds, arg_list, assign_ids
from astrepo.capture.codes import INSTRUMENT_VERSION, event_code  # noqa: F401 (re-exported)
from astrepo.capture.points import PointTable
from astrepo.capture.recorder import SAMPLE_EVERY, SAMPLE_FIRST, is_secret_name



@dataclass(frozen=True, slots=True)
class Instrumented:
    """The result of instrumenting one module."""

    tree: ast.Module
    #: (node id, kind, qualname, line) of every node with a point
    table: tuple[tuple[str, str, str, int], ...]
    n_points: int


def instrument_source(source: str | bytes, path: str, points_for, elide: bool = True) -> Instrumented:
    """Parse, assign IDs, pick points (``points_for(tree, ids)``) and instrument."""
    tree = ast.parse(source)
    ids = assign_ids(tree, path)
    return instrument_module(tree, ids, points_for(tree, ids), elide)


def instrument_module(tree: ast.Module, ids: AstIds, points: PointTable, elide: bool = True) -> Instrumented:
    """Rewrite a copy of ``tree`` so it records the events of ``points``.

    ``elide``: leave out events a neighbour implies (the reader puts them back); False is for
    tests proving the decoded events are the same either way.
    """
    # Side tables are keyed by the original nodes: map them onto the copy.
    clone = copy.deepcopy(tree, memo := {})
    records = {memo[id(n)]: r for n, r in ids.records.items() if id(n) in memo}
    qualnames = {memo[id(n)]: q for n, q in ids.qualnames.items() if id(n) in memo}
    rewriter = _Rewriter(records, qualnames, points, elide)
    rewriter.visit(clone)
    table = []
    for node, record in records.items():
        if record.id in points:
            qual = qualnames.get(node) or _enclosing_qualname(record.scope)
            table.append((record.id, record.kind, qual, record.line))
    table.sort(key=lambda row: (row[3], row[0]))
    _add_prologue(clone, ids.path, tuple(table), tuple(rewriter.sampling), tuple(rewriter.implied),
                  tuple(rewriter.follows))
    ast.fix_missing_locations(clone)
    return Instrumented(clone, tuple(table), sum(len(v) for v in points.values()))


def _add_prologue(tree: ast.Module, path: str, table: tuple, sampling: tuple = (), implied: tuple = (),
                  follows: tuple = ()) -> None:
    """Register the module and create its samplers (``_ar_q``, its only added global), after the
    docstring and futures: ``_ar_q = __import__("astrepo.capture.recorder").capture.recorder
    .bind_module(path, table, ...)``, which also makes sure the ``_ar_*`` helpers are builtins."""
    body = tree.body
    i = 0
    if body and _is_docstring(body[0]):
        i = 1
    while i < len(body) and (_is_future(body[i]) or (i == 0 and _is_docstring(body[i]))):
        i += 1
    like = body[i] if i < len(body) else (body[-1] if body else None)
    recorder = ast.Attribute(value=ast.Attribute(value=_call("__import__", _const("astrepo.capture.recorder")),
                                                 attr="capture", ctx=ast.Load()), attr="recorder", ctx=ast.Load())
    bind = ast.Attribute(value=recorder, attr="bind_module", ctx=ast.Load())
    prologue = [
        _assign("_ar_q", ast.Call(func=bind, args=[_const(path), _const(table), _const(sampling), _const(implied),
                                                   _const(follows)], keywords=[])),
    ]
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


def _is_counter(point) -> bool:
    """A line point that only counts (``capture.counter``: a counted function's call counter)."""
    capture = getattr(point, "capture", None)
    return isinstance(capture, dict) and bool(capture.get("counter"))


def _sampling_of(point) -> tuple[int, int]:
    """(first, every) of a point's ``sampling`` (default `SAMPLE_FIRST`, `SAMPLE_EVERY`)."""
    raw = getattr(point, "sampling", None)
    first, every = SAMPLE_FIRST, SAMPLE_EVERY
    if isinstance(raw, dict):
        first = max(0, int(raw.get("first", first)))
        every = max(1, int(raw.get("every", every)))
    return first, every


def _sample_test(slot: int) -> ast.expr:
    """``_ar_next(_ar_q[slot])``: 1 on the executions that carry previews (builtin ``next`` on a
    C iterator: cheaper than calling its bound ``__next__``)."""
    return ast.Call(func=_name("_ar_next"), args=[
        ast.Subscript(value=_name("_ar_q"), slice=_const(slot), ctx=ast.Load())], keywords=[])


def _append(buf: ast.expr, code: int) -> ast.stmt:
    return ast.Expr(_append_call(buf, code))


def _append_call(buf: ast.expr, code: int) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=buf, attr="append", ctx=ast.Load()), args=[_const(code)], keywords=[])


def _guarded_fetch() -> list[ast.stmt]:
    """``_ar_b = _ar_tl.b``, registering the thread's buffer (``_ar_nb()``) on its first event."""
    register = _guarded([_assign("_ar_b", _call("_ar_nb"))])
    return [ast.Try(body=[_assign("_ar_b", ast.Attribute(value=_name("_ar_tl"), attr="b", ctx=ast.Load()))],
                    handlers=[ast.ExceptHandler(type=_name("Exception"), name=None,
                                                body=[_assign("_ar_b", _name("_ar_D")), register])],
                    orelse=[], finalbody=[])]


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


def _positioned(new: ast.AST, like: ast.AST) -> ast.AST:
    """Give ``new`` itself (not its children) the position of ``like``."""
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        setattr(new, attr, getattr(like, attr))
    return new


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


def _ends_in_jump(body: list[ast.stmt], loops: bool = False) -> bool:
    """Whether control never falls off the end of ``body`` (``loops``: break/continue count too)."""
    jumps = (ast.Return, ast.Raise, ast.Break, ast.Continue) if loops else (ast.Return, ast.Raise)
    return bool(body) and isinstance(body[-1], jumps)


class _Scope:
    """Rewrite state of the definition being walked."""

    __slots__ = ("kind", "node", "local", "fid", "boundary", "ret_code", "capture_return", "sampler")

    def __init__(self, kind: str, node: ast.AST | None) -> None:
        self.kind = kind  #: "module", "class", "function", "lambda"
        self.node = node
        self.local = False  #: the function holds its thread's buffer in ``_ar_b``
        self.fid = ""
        self.boundary = False  #: entry and returns are recorded
        self.ret_code = 0  #: R0 code of the function (R1 is one more)
        self.capture_return = False
        self.sampler = -1  #: slot of ``_ar_q`` deciding argument/return previews, -1: never sampled


class _Rewriter(ast.NodeTransformer):
    """In-place rewrite of a (copied) module tree."""

    def __init__(self, records: dict, qualnames: dict, points: PointTable, elide: bool = True) -> None:
        self.elide = elide
        self.records = records
        self.qualnames = qualnames
        self.points = points
        self.scopes: list[_Scope] = []
        self.sampling: list[tuple[int, int]] = []  #: (first, every) of each ``_ar_q`` slot
        #: (line event code, branch event code): branch events implied by a line event (not appended)
        self.implied: list[tuple[int, int]] = []
        #: (call-enter event code, line event code): line events implied by the event before them
        self.follows: list[tuple[int, int]] = []
        self.nested = 0  #: depth inside comprehensions (not the function's own scope)
        self.next_stmt: ast.stmt | None = None  #: the statement after the one being visited

    def _sampler(self, point=None) -> int:
        """A new ``_ar_q`` slot with ``point``'s sampling (the default without one)."""
        self.sampling.append(_sampling_of(point))
        return len(self.sampling) - 1

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
        """The buffer: ``_ar_b`` in functions, else ``_ar_nb()`` (only in guarded statements)."""
        return _name("_ar_b") if self.scopes[-1].local else _call("_ar_nb")

    def _value_test(self, point=None) -> ast.expr:
        """Whether this execution previews its values: ``_ar_next(_ar_q[k])``; in the own code of a
        function whose calls are sampled, only during sampled calls: ``_ar_s and _ar_next(...)``
        (so most executions skip the sampler)."""
        test = _sample_test(self._sampler(point))
        if self.scopes[-1].sampler >= 0 and not self.nested:
            return ast.BoolOp(op=ast.And(), values=[_name("_ar_s"), test])
        return test

    def _event(self, stmt: ast.stmt, like: ast.AST) -> ast.stmt:
        """A statement appending an event, placed at ``like``; guarded where it calls a helper."""
        out = stmt if self.scopes[-1].local else _guarded([stmt])
        _locate(out, like)
        return out

    def _needs_local_buffer(self, func: ast.AST) -> bool:
        """Whether a function's own code has inline events (then it fetches its buffer once)."""
        stack = list(func.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            record = self.records.get(node)
            if record is not None:
                kinds = self.points.get(record.id)
                if kinds and ({"branch", "variable", "expression"} & kinds.keys()
                              or ("line" in kinds and not _is_counter(kinds["line"]))):
                    return True
            stack.extend(ast.iter_child_nodes(node))
        return False

    # -- statement lists -------------------------------------------------------
    def _stmts(self, body: list[ast.stmt], docstring_allowed: bool = False,
               first_implied: bool = False) -> list[ast.stmt]:
        """Rewrite a statement list; ``first_implied``: the first statement's line event is left
        out (the caller recorded what implies it)."""
        out: list[ast.stmt] = []
        for i, stmt in enumerate(body):
            protected = (docstring_allowed and i == 0 and _is_docstring(stmt)) or _is_future(stmt)
            sid, line_point = self._point(stmt, "line")
            _, var_point = self._point(stmt, "variable")
            self.next_stmt = body[i + 1] if i + 1 < len(body) else None
            new = self.visit(stmt)
            if line_point is not None and not protected and not (first_implied and i == 0):
                if _is_counter(line_point) and self.scopes[-1].kind == "function" and not self.scopes[-1].local:
                    # ``_ar_next(_ar_q[k])`` on an ``itertools.count``: no buffer, no append.
                    self.sampling.append((-1, event_code(sid, "N")))
                    counter = ast.Expr(_sample_test(len(self.sampling) - 1))
                    out.append(self._event(counter, stmt))
                else:
                    out.append(self._event(_append(self._buf(), event_code(sid, "L")), stmt))
            if isinstance(new, list):
                out.extend(new)
            elif new is not None:
                out.append(new)
            if var_point is not None:
                event = self._variables_event(stmt, sid, var_point)
                if event is not None:
                    out.append(event)
        return out

    def _variables_event(self, stmt: ast.stmt, sid: str, point) -> ast.stmt | None:
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
        values = [_name("_ar_SECRET") if is_secret_name(n) else _name(n) for n in names]
        full = [ast.Expr(ast.Call(func=_name("_ar_sw"), args=[
                    self._buf(), _const(tuple(names)), ast.Tuple(elts=values, ctx=ast.Load())], keywords=[])),
                _append(self._buf(), event_code(sid, "W1"))]
        light = [_append(self._buf(), event_code(sid, "W0"))]
        if _sampling_of(point)[1] == 1:
            body = full
        else:
            body = [ast.If(test=self._value_test(point), body=full, orelse=light)]
        event = _guarded(body)  # reading a name the statement did not bind (e.g. ``del``-ed) must not fail
        _locate(event, stmt)
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
        self.scopes.append(_Scope("lambda", node))  # no local buffer, no statements
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def _comprehension(self, node: ast.AST) -> ast.AST:
        self.nested += 1
        try:
            return self.generic_visit(node)
        finally:
            self.nested -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

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
        scope.local = boundary is not None or self._needs_local_buffer(node)
        capture_args = False
        if boundary is not None:
            scope.boundary = True
            scope.ret_code = event_code(fid, "R0")
            capture_args = bool(boundary.capture.get("args"))
            scope.capture_return = bool(boundary.capture.get("return"))
            if capture_args or scope.capture_return:
                scope.sampler = self._sampler(boundary)
        saved_nested, self.nested = self.nested, 0
        self.scopes.append(scope)
        body = list(node.body)
        doc = [body.pop(0)] if body and _is_docstring(body[0]) else []
        first = body[0] if body else node
        # The first statement always runs right after the call-enter event: its line event is implied.
        first_line = self._point(first, "line") if scope.boundary and body and self.elide else (None, None)
        if first_line[1] is not None:
            letter = "A" if isinstance(node, ast.AsyncFunctionDef) else "C"
            line_code = event_code(first_line[0], "L")
            self.follows.extend((event_code(fid, letter + v), line_code) for v in "01")
        new_body = self._stmts(body, first_implied=first_line[1] is not None)
        if scope.boundary:
            self._rewrite_returns(new_body, scope)
            if not _ends_in_jump(new_body):
                end = self._return_event(scope, None)
                _locate(end, body[-1] if body else node)
                new_body.append(end)
        self.scopes.pop()
        self.nested = saved_nested
        prologue: list[ast.stmt] = []
        if scope.local:
            prologue.extend(_guarded_fetch())
            if scope.boundary:
                if scope.sampler >= 0:
                    prologue.append(_assign("_ar_s", _const(False)))  # read by unguarded value events
                prologue.append(_guarded(self._enter_event(node, fid, scope, capture_args)))
        if exc_point is not None:
            args: list[ast.expr] = [_const(event_code(fid, "X")), _name("_ar_e")]
            if scope.local:
                args.append(_name("_ar_b"))
            handler_body: list[ast.stmt] = [
                _guarded([ast.Expr(ast.Call(func=_name("_ar_x"), args=args, keywords=[]))]),
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

    def _enter_event(self, node: ast.AST, fid: str, scope: _Scope, capture_args: bool) -> list[ast.stmt]:
        """The call-enter frame: C0/C1 (A0/A1 for coroutines), then the timestamp (and task id)."""
        is_async = isinstance(node, ast.AsyncFunctionDef)
        letter = "A" if is_async else "C"
        items: list[ast.expr] = [_call("_ar_clock")] + ([_call("_ar_task")] if is_async else [])

        def code(sampled: bool) -> list[ast.stmt]:
            out: list[ast.stmt] = []
            if sampled and capture_args:
                values = [_name("_ar_SECRET") if is_secret_name(p.arg) else _name(p.arg)
                          for p in arg_list(node.args)]
                out.append(ast.Expr(ast.Call(func=_name("_ar_sv"), args=[
                    _name("_ar_b"), ast.Tuple(elts=values, ctx=ast.Load())], keywords=[])))
            out.append(_append(_name("_ar_b"), event_code(fid, letter + ("1" if sampled and capture_args else "0"))))
            return out

        # Two appends (code, then items) beat one ``+=`` of a tuple; the reader joins split frames.
        rest = [ast.Expr(_append_call(_name("_ar_b"), 0)) for _ in items]
        for stmt, item in zip(rest, items):
            stmt.value.args = [item]
        if scope.sampler < 0:
            return code(False) + rest
        first, every = self.sampling[scope.sampler]
        if every == 1:
            return [_assign("_ar_s", _const(True))] + code(True) + rest
        return [_assign("_ar_s", _sample_test(scope.sampler)),
                ast.If(test=_name("_ar_s"), body=code(True), orelse=code(False))] + rest

    def _return_event(self, scope: _Scope, value: ast.expr | None) -> ast.stmt:
        """The return frame: R0/R1, then the exit timestamp (the reader subtracts the call's: no
        subtraction, no third int per call here)."""
        duration = ast.Expr(ast.Call(func=ast.Attribute(value=_name("_ar_b"), attr="append", ctx=ast.Load()),
                                     args=[_call("_ar_clock")], keywords=[]))
        if not scope.capture_return or scope.sampler < 0:
            return _guarded([_append(_name("_ar_b"), scope.ret_code), duration])
        full = [ast.Expr(ast.Call(func=_name("_ar_s1"), args=[_name("_ar_b"), value or _const(None)], keywords=[])),
                _append(_name("_ar_b"), scope.ret_code + 1)]
        light = [_append(_name("_ar_b"), scope.ret_code)]
        return _guarded([ast.If(test=_name("_ar_s"), body=full, orelse=light), duration])

    def _rewrite_returns(self, body: list[ast.stmt], scope: _Scope) -> None:
        """Replace ``return x`` (in this function only) by: evaluate, record, return."""
        for parent, field_name, stmts in list(_stmt_lists(body)):
            i = 0
            while i < len(stmts):
                stmt = stmts[i]
                if isinstance(stmt, ast.Return):
                    if stmt.value is None:
                        event = self._return_event(scope, None)
                        _locate(event, stmt)
                        stmts[i:i + 1] = [event, stmt]
                        i += 2
                        continue
                    keep = _assign("_ar_rv", stmt.value)
                    _locate(keep.targets, stmt)
                    keep.lineno, keep.col_offset = stmt.lineno, stmt.col_offset
                    keep.end_lineno, keep.end_col_offset = stmt.end_lineno, stmt.end_col_offset
                    event = self._return_event(scope, _name("_ar_rv"))
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
        return self._branches(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        node.test = self.visit(node.test)
        return self._branches(node)

    def visit_For(self, node: ast.For) -> ast.AST:
        node.iter = self.visit(node.iter)
        return self._branches(node)

    visit_AsyncFor = visit_For

    def _branches(self, node: ast.If | ast.While | ast.For | ast.AsyncFor) -> ast.AST:
        """Rewrite the body and ``else`` of ``node`` and record which way it went (T at the
        start of the body, F at the start of ``else``)."""
        first, first_else = (node.body or [None])[0], (node.orelse or [None])[0]
        if isinstance(node, ast.If) and not node.orelse and _ends_in_jump(node.body, loops=True):
            # A guard clause: the statement after it is reached only when the test was false.
            first_else = self.next_stmt
        node.body = self._stmts(node.body)
        node.orelse = self._stmts(node.orelse)
        if self._branch_event(node, "T", node.body, first):
            self._branch_event(node, "F", node.orelse, first_else)
        return node

    def _branch_event(self, node: ast.AST, tag: str, body: list[ast.stmt], first: ast.stmt | None) -> bool:
        """Put the ``tag`` event of ``node`` first in ``body``; False when ``node`` has no branch point.

        When ``body`` starts with the line event of its first statement, the branch event is
        implied (that statement is reached from the branch only): the module table says so and
        the reader puts it back, so the instrumented code skips one append per iteration.
        """
        sid, point = self._point(node, "branch")
        if point is None:
            return False
        line_id, line_point = self._point(first, "line") if first is not None else (None, None)
        if line_point is not None and self.elide and not _is_future(first):
            self.implied.append((event_code(line_id, "L"), event_code(sid, tag)))
            return True
        body.insert(0, self._event(_append(self._buf(), event_code(sid, tag)), body[0] if body else node))
        return True

    def visit_match_case(self, node: ast.match_case) -> ast.AST:
        if node.guard is not None:
            node.guard = self.visit(node.guard)
        first = node.body[0]
        node.body = self._stmts(node.body)
        self._branch_event(node, "T", node.body, first)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.type is not None:
            node.type = self.visit(node.type)
        node.body = self._stmts(node.body)
        hid, point = self._point(node, "exception")
        if point is not None:
            event = _guarded([ast.Expr(_call("_ar_h", _const(event_code(hid, "H"))))])
            _locate(event, node.body[0] if node.body else node)
            node.body.insert(0, event)
        return node

    # -- expressions ----------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> ast.AST:
        leaf = not self._has_recorded_calls(node)
        self.generic_visit(node)
        cid, point = self._point(node, "expression")
        if point is None or self._exempt(node):
            return node
        code = event_code(cid, "V0")
        test = self._value_test()
        # In a comprehension of a function, a leaf call uses the function's ``_ar_b`` (a closure
        # cell then: only the comprehension's hidden function sees it); anything needing ``_ar_y``
        # (which would bind in the function, and cannot in a comprehension's iterable) does not.
        inline = self.scopes[-1].local and (leaf or not self.nested)
        if not inline:
            # ``_ar_v(V0, _ar_next(_ar_q[k]), CALL)``: the helper fetches the buffer and returns the value.
            head = [_name("_ar_v"), _const(code), test]
            _locate(head, node)
            return _positioned(ast.Call(func=head[0], args=[head[1], head[2], node], keywords=[]), node)
        sampled_head = [_name("_ar_vs"), _name("_ar_b"), _const(code + 1)]
        _locate(sampled_head + [test], node)
        if leaf:
            # ``_ar_vs(_ar_b, V1, CALL) if <sampled> else (_ar_b.append(V0) or CALL)``: no call inside
            # is instrumented, so duplicating CALL stays linear; the unsampled way needs no temporary
            # (the event is appended when the call starts: ``append`` returns None, ``or`` goes on).
            counted = _append_call(_name("_ar_b"), code)
            _locate(counted, node)
            sampled = _positioned(ast.Call(func=sampled_head[0], args=[*sampled_head[1:], copy.deepcopy(node)],
                                           keywords=[]), node)
            plain = _positioned(ast.BoolOp(op=ast.Or(), values=[counted, node]), node)
            return _positioned(ast.IfExp(test=test, body=sampled, orelse=plain), node)
        # ``(_ar_y := CALL, _ar_vs(_ar_b, V1, _ar_y) if <sampled> else _ar_b.append(V0), _ar_y := None)[0]``
        value = _name("_ar_y")
        _locate(value, node)
        record = _positioned(ast.IfExp(test=test, body=_positioned(ast.Call(
            func=sampled_head[0], args=[*sampled_head[1:], value], keywords=[]), node),
            orelse=_append_call(_name("_ar_b"), code)), node)
        _locate(record.orelse, node)
        reset = ast.NamedExpr(target=_name("_ar_y", ast.Store()), value=_const(None))
        target = _name("_ar_y", ast.Store())
        _locate([reset, target], node)
        keep = _positioned(ast.NamedExpr(target=target, value=node), node)
        items = _positioned(ast.Tuple(elts=[keep, record, reset], ctx=ast.Load()), node)
        index = _const(0)
        _locate(index, node)
        return _positioned(ast.Subscript(value=items, slice=index, ctx=ast.Load()), node)

    @staticmethod
    def _exempt(node: ast.Call) -> bool:
        """Calls never wrapped: zero-argument ``super()`` (it needs its frame) and our own helpers."""
        func = node.func
        return isinstance(func, ast.Name) and (func.id == "super" or func.id.startswith("_ar_"))

    def _has_recorded_calls(self, node: ast.Call) -> bool:
        """Whether a call anywhere inside ``node`` has a value event (then ``node`` is not copied)."""
        stack = list(ast.iter_child_nodes(node))
        while stack:
            inner = stack.pop()
            if isinstance(inner, ast.Call) and not self._exempt(inner) and self._point(inner, "expression")[1]:
                return True
            stack.extend(ast.iter_child_nodes(inner))
        return False

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
