"""Static-analysis results as graph rows.

Per file (in the worker processes): CFG entry/exit nodes, per-function
metrics, roles and effects go into the file's node columns; CFG, data-flow
and exception edges become Arrow tables (with the owning file in ``_path``,
like every cached row). Project-wide (after name resolution): may-raise
propagation, fan-in/out, PageRank, recursion and impurity become MAY_RAISE
edges and Function columns joined in before loading; on a large project, the
call-graph columns and the grouping of the interprocedural flows are computed
in a forked child process, on the other core, beside the rest (`ChildWork`).
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import select
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, Generic, NamedTuple, TypeVar

import pyarrow as pa

from astrepo.ids import node_id_for
from astrepo.model import SCOPE_TABLES, Edge, EdgeKind, FileFacts, NodeKind, new_record
from astrepo.analyzers.dataflow import grouped_flows
from astrepo.analyzers.exceptions import ExceptionFacts, propagate_exceptions, short_name
from astrepo.analyzers.fileanalysis import FileAnalysis
from astrepo.analyzers.metrics import project_metrics, propagate_impurity
from astrepo.analyzers.symbols import ModuleInputs
from astrepo.graph.load import PATH_COLUMN, EdgePair
from astrepo.graph.schema import EDGE_TABLES, edge_columns

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Function columns computed per file (the rest are project-wide).
FILE_FUNCTION_COLUMNS = ("cyclomatic", "cognitive", "lines", "statements", "max_nesting", "roles", "effects", "pure")
#: Function columns computed over the whole project, joined in before loading.
PROJECT_FUNCTION_COLUMNS = ("impure_via_calls", "fan_in", "fan_out", "pagerank", "recursion", "may_raise",
                            "overrides")

#: How many base-class steps `overriding_methods` follows (the query language's MAX_DEPTH).
OVERRIDE_DEPTH = 12


class AnalysisInputs(NamedTuple):
    """What the project-wide analyses need of one file (kept between index runs)."""

    exceptions: tuple  #: ExceptionFacts fields as plain tuples: raises, guards, classes
    functions: list[tuple]  #: FunctionMetrics rows as plain tuples
    #: data-flow records binding calls across files, as plain tuples: call_args, params, callables, returns
    dataflow: tuple = ((), (), (), ())


def exception_type_id(name: str) -> str:
    """ID of an exception type as written (``KeyError``, ``errors.OutOfStock``)."""
    return node_id_for("<exception>", name, "exception_type")


def canonical_exceptions(facts: FileFacts, analysis: FileAnalysis) -> FileAnalysis:
    """Exception names that are import aliases (``from .errors import ShopError as Error``)
    replaced by the imported name, in raises, handlers and guards, so that matching by
    class name sees through aliases."""
    from astrepo.model import BindingKind

    scopes = {scope.id: scope for scope in facts.scopes}

    def canonical(name: str, scope_id: str) -> str:
        head, _, rest = name.partition(".")
        scope = scopes.get(scope_id)
        while scope is not None:
            binding = scope.bindings.get(head)
            if binding is not None:
                if binding.kind is BindingKind.IMPORT_FROM and binding.target.rsplit(".", 1)[-1] != head:
                    return binding.target + (f".{rest}" if rest else "")
                return name
            scope = scopes.get(scope.parent) if scope.parent else None
        return name

    tables = dict(analysis.tables)
    tables["raises"] = [r[:2] + (canonical(r[2], r[1]),) + r[3:] for r in tables.get("raises", [])]
    tables["catches"] = [c[:2] + (canonical(c[2], c[1]),) + c[3:] for c in tables.get("catches", [])]
    tables["guards"] = [g[:3] + (tuple(tuple(canonical(t, g[1]) for t in handler) for handler in g[3]),) + g[4:]
                        for g in tables.get("guards", [])]
    return analysis._replace(tables=tables)


def enrich_facts(facts: FileFacts, analysis: FileAnalysis) -> None:
    """Add the per-file analysis results to the file's node columns (in place)."""
    stmt = NodeKind.STMT
    for node_id, scope, kind, line in analysis.tables.get("cfg_nodes", ()):  # CfgNode rows
        facts.add_node(node_id, stmt, kind, (line, 0, line, 0), {"kind": kind, "scope": scope})
    roles: dict[str, list[str]] = defaultdict(list)
    for role in analysis.records("roles"):
        roles[role.node].append(role.role)
    functions = facts.node_tables.get(NodeKind.FUNCTION)
    if functions is not None:
        metrics = {m.id: m for m in analysis.records("functions")}
        for column in FILE_FUNCTION_COLUMNS:
            functions.attrs[column] = []
        for node_id in functions.ids:
            m = metrics.get(node_id)
            values = (m.cyclomatic, m.cognitive, m.lines, m.statements, m.max_nesting, sorted(m.roles),
                      list(m.effects), m.pure) if m else (1, 0, 0, 0, 0, [], [], True)
            for column, value in zip(FILE_FUNCTION_COLUMNS, values):
                functions.attrs[column].append(value)
        attrs = functions.attrs
        functions.attrs["implicit_entry"] = [
            implicit_entry(facts.path, short, kind, decorators)
            for short, kind, decorators in zip(attrs["short_name"], attrs["kind"], attrs["decorators"])]
    for kind in (NodeKind.CLASS, NodeKind.MODULE):
        table = facts.node_tables.get(kind)
        if table is not None:
            table.attrs["roles"] = [sorted(roles.get(i, ())) for i in table.ids]


def implicit_entry(path: str, short_name: str, kind: str, decorators: list[str] | None) -> bool:
    """Whether a function may run with no call to it in the project: a lambda, decorated (registered
    somewhere), ``main``, a dunder, a test, or in a test file (``tests/``, ``test_*.py``, conftest.py)."""
    base = path.rsplit("/", 1)[-1]
    return (kind == "lambda" or bool(decorators) or short_name == "main" or short_name.startswith("test")
            or (short_name.startswith("__") and short_name.endswith("__")) or "/tests/" in "/" + path
            or base.startswith("test_") or base == "conftest.py")


def analysis_edges(facts: FileFacts, analysis: FileAnalysis) -> tuple[dict[EdgePair, pa.Table], pa.Table | None]:
    """CFG, data-flow and exception edges of one file, and its ExceptionType rows."""
    return batch_analysis_edges([(facts, analysis)])


def batch_analysis_edges(files: list[tuple[FileFacts, FileAnalysis]]
                         ) -> tuple[dict[EdgePair, pa.Table], pa.Table | None]:
    """`analysis_edges` of several files in one table per edge table (rows in file order), and their
    ExceptionType rows (one per file and type), as concatenating the files' own tables would give.

    Arrow tables cost tens of microseconds each to build, pickle and unpickle whatever their size,
    so a batch of files is cheaper to send in one table than file by file.
    """
    # (table, from kind, to kind) -> rows (from, to, *properties in _EDGE_PROPS order, file); rows of
    # pairs the schema does not hold (or with an endpoint outside the graph) go to `dropped`. This
    # runs over every CFG and data-flow edge: rows are plain tuples, columns are made once at the end.
    buckets: dict[EdgePair, list[tuple]] = {}
    dropped: list[tuple] = []

    def bucket(key: EdgePair) -> list[tuple]:
        table, a, b = key
        rows = buckets[key] = [] if a is not None and b is not None and (a, b) in EDGE_TABLES[table][0] else dropped
        return rows

    type_names: list[str] = []
    type_files: list[str] = []
    exc = NodeKind.EXCEPTION_TYPE
    cfg, reach, raises, catches, implicit = (EdgeKind.CFG_NEXT, EdgeKind.REACHES, EdgeKind.RAISES_AT,
                                             EdgeKind.CATCHES, EdgeKind.IMPLICIT_RAISE)
    for facts, analysis in files:
        path = facts.path
        kind_of: dict[str, NodeKind] = {}
        for kind, table in facts.node_tables.items():
            kind_of.update(zip(table.ids, repeat(kind)))
        get = kind_of.get
        stmts = facts.node_tables.get(NodeKind.STMT)
        line_of = dict(zip(stmts.ids, stmts.spans[0])) if stmts is not None else {}
        tables = analysis.tables
        for scope, src, dst, label in tables.get("cfg_edges", ()):
            key = (cfg, get(src), get(dst))
            # (a bucket is never empty once made: a row goes in at once)
            (buckets.get(key) or bucket(key)).append((src, dst, label, scope, path))
        for src, dst, var, scope in tables.get("reaches", ()):
            key = (reach, get(src), get(dst))
            (buckets.get(key) or bucket(key)).append((src, dst, var, scope, path))
        types: dict[str, str] = {}  #: exception type -> its node ID

        def type_id(name: str) -> str:
            found = types.get(name)
            if found is None:
                found = types[name] = exception_type_id(name)
            return found

        for stmt, scope, type_, kind, cause, caught_by, _line in tables.get("raises", ()):
            if type_:
                key = (raises, get(stmt), exc)
                (buckets.get(key) or bucket(key)).append((stmt, type_id(type_), kind, cause, caught_by or "", scope,
                                                          path))
        for handler, scope, type_ in tables.get("catches", ()):
            key = (catches, get(handler), exc)
            (buckets.get(key) or bucket(key)).append((handler, type_id(type_), scope, line_of.get(handler, 0), path))
        for stmt, scope, type_, op, caught in tables.get("implicit", ()):
            key = (implicit, get(stmt), exc)
            (buckets.get(key) or bucket(key)).append((stmt, type_id(type_), op, bool(caught), scope,
                                                      line_of.get(stmt, 0), path))
        names = sorted(types)
        type_names += names
        type_files += [path] * len(names)
    out = {}
    for key, rows in buckets.items():
        if rows is dropped or not rows:
            continue
        schema = _EDGE_SCHEMAS[key[0]]
        arrays = [pa.array(values, field.type) for values, field in zip(zip(*rows), schema)]
        out[key] = pa.Table.from_arrays(arrays, schema=schema)
    return out, _exception_type_table(type_names, type_files)


#: Property columns of each analysis edge table.
_EDGE_PROPS = {kind: tuple(c.name for c in edge_columns(kind)) for kind in
               (EdgeKind.CFG_NEXT, EdgeKind.REACHES, EdgeKind.RAISES_AT, EdgeKind.CATCHES, EdgeKind.IMPLICIT_RAISE)}
_ARROW_TYPES = {"STRING": pa.string(), "BOOLEAN": pa.bool_(), "INT64": pa.int64()}
#: Arrow schema of those edge tables as `analysis_edges` makes them: from, to, the properties, the
#: file (the types pyarrow infers from the values; given, they cost half as much to build).
_EDGE_SCHEMAS = {kind: pa.schema([("from", pa.string()), ("to", pa.string()),
                                  *((c.name, _ARROW_TYPES[c.type]) for c in edge_columns(kind)),
                                  (PATH_COLUMN, pa.string())]) for kind in _EDGE_PROPS}


def exception_type_rows(names: list[str], file: str) -> pa.Table | None:
    """ExceptionType rows (``file`` says who mentioned them; it is cleared when loading)."""
    return _exception_type_table(names, [file] * len(names))


def _exception_type_table(names: list[str], files: list[str]) -> pa.Table | None:
    if not names:
        return None
    n = len(names)
    return pa.table({
        "id": [exception_type_id(x) for x in names], "name": names, "file": files,
        "start_line": [0] * n, "start_col": [0] * n, "end_line": [0] * n, "end_col": [0] * n,
        "short_name": [short_name(x) for x in names],
    })


def analysis_inputs(analysis: FileAnalysis) -> AnalysisInputs:
    """The small part of a file's analysis that project-wide analyses read."""
    t = analysis.tables
    return AnalysisInputs((t.get("raises", []), t.get("guards", []), analysis.classes), t.get("functions", []),
                          tuple(t.get(name, []) for name in ("call_args", "params", "callables", "returns")))


class ProjectAnalysis(NamedTuple):
    """Project-wide results: Function columns by ID, MAY_RAISE edges, interprocedural data-flow edges
    (PASSES, RETURNS_TO), and whether propagation was cut short."""

    function_columns: dict[str, dict[str, Any]]
    may_raise: list[Edge]
    flows: list[Edge]
    exception_types: pa.Table | None
    partial: bool


class ProjectIndex(NamedTuple):
    """What the may-raise edges look up in the files' `ModuleInputs`, indexed once."""

    call_scope: dict[str, str]  #: call site -> its scope (in the same file)
    call_line: dict[str, int]  #: call site -> its 1-based line
    scope_file: dict[str, str]  #: scope -> its file
    scope_kind: dict[str, str]  #: scope -> module | class | function | lambda


#: Getters of the records' fields, for C-level loops.
_ID, _SCOPE, _LINE, _KIND, _PARENT, _QUALNAME = map(attrgetter, ("id", "scope", "line", "kind", "parent", "qualname"))


def index_modules(modules: list[ModuleInputs]) -> ProjectIndex:
    """`ProjectIndex` of every file (a later file wins for an ID two files hold)."""
    index = ProjectIndex({}, {}, {}, {})
    call_scope, call_line, scope_file, scope_kind = index
    # dict.update over zipped columns: the loops run in C (169k call sites, 43k scopes on Django)
    for module in modules:
        calls, scopes = module.calls, module.scopes
        ids = list(map(_ID, calls))
        call_scope.update(zip(ids, map(_SCOPE, calls)))
        call_line.update(zip(ids, map(_LINE, calls)))
        ids = list(map(_ID, scopes))
        scope_file.update(zip(ids, repeat(module.path)))
        scope_kind.update(zip(ids, map(_KIND, scopes)))
    return index


def overriding_methods(modules: list[ModuleInputs], edges: list[Edge],
                       kinds: dict[str, str] | None = None) -> set[str]:
    """Methods whose class inherits (within OVERRIDE_DEPTH project base classes) from a class that
    defines a function of the same name: reached by dynamic dispatch through the base.
    ``kinds``: `ProjectIndex.scope_kind` of the modules, when the caller has it (read only)."""
    kind: dict[str, str] = {} if kinds is None else kinds
    parent: dict[str, str | None] = {}
    qualname: dict[str, str] = {}
    for module in modules:
        ids = list(map(_ID, module.scopes))
        if kinds is None:
            kind.update(zip(ids, map(_KIND, module.scopes)))
        parent.update(zip(ids, map(_PARENT, module.scopes)))
        qualname.update(zip(ids, map(_QUALNAME, module.scopes)))
    bases: dict[str, list[str]] = defaultdict(list)
    inherits, class_kind = EdgeKind.INHERITS, NodeKind.CLASS
    for e in edges:
        if e.kind is inherits and e.dst_kind is class_kind:
            bases[e.src].append(e.dst)
    defined: dict[str, set[str]] = defaultdict(set)  #: class -> names of the functions defined in its body
    methods: list[tuple[str, str, str]] = []  #: (method, class, short name), lambdas apart
    for scope_id, scope_parent in parent.items():
        scope_kind = kind[scope_id]
        if (scope_kind == "function" or scope_kind == "lambda") and kind.get(scope_parent) == "class":
            short = qualname[scope_id].rsplit(".", 1)[-1]
            defined[scope_parent].add(short)
            if scope_kind == "function":
                methods.append((scope_id, scope_parent, short))
    inherited: dict[str, set[str]] = {}  #: class -> names its bases define

    def names_above(cls: str) -> set[str]:
        found = inherited.get(cls)
        if found is None:
            found = set()
            seen, level = {cls}, [cls]
            for _ in range(OVERRIDE_DEPTH):
                level = [b for c in level for b in bases.get(c, ()) if b not in seen]
                if not level:
                    break
                seen.update(level)
                for b in level:
                    found |= defined.get(b, set())
            inherited[cls] = found
        return found

    return {method for method, cls, short in methods if cls in bases and short in names_above(cls)}


#: Function-level CALLS edges from which the child's share (`child_work`) is computed in a child
#: process (`ChildWork`): below, it is too small to be worth a fork (Django has 81k).
MIN_EDGES_FOR_CHILD = 20_000
#: Seconds the parent waits for that child once it has done its own share, before doing the child's
#: work itself (a child that hangs, e.g. on a lock another thread held at the fork, costs no more).
CHILD_TIMEOUT = 60.0


def analyze_project(inputs: list[AnalysisInputs], edges: list[Edge], modules: list[ModuleInputs]) -> ProjectAnalysis:
    """May-raise sets, call-graph metrics, impurity, overriding methods and interprocedural flows over
    the whole project: ``edges`` are name resolution's, ``modules`` every file's inputs (MAY_RAISE
    edges say where their raise and call sites are)."""
    index = index_modules(modules)
    # The edges each analysis reads, split once (each keeps its own filter, so the split is only a
    # saving): CALLS from call sites to functions and to classes, from scopes to either, and INHERITS.
    site_calls, site_news, scope_calls, inherits = [], [], [], []
    calls_kind, inherits_kind, callsite = EdgeKind.CALLS, EdgeKind.INHERITS, NodeKind.CALLSITE
    function_kind, class_kind = NodeKind.FUNCTION, NodeKind.CLASS
    for edge in edges:
        kind = edge[0]
        if kind is calls_kind:
            dst_kind = edge[4]
            if dst_kind is function_kind:
                (site_calls if edge[2] is callsite else scope_calls).append(edge)
            elif dst_kind is class_kind:
                (site_news if edge[2] is callsite else scope_calls).append(edge)
        elif kind is inherits_kind:
            inherits.append(edge)
    # The call-graph columns and the grouped flows need nothing the exception analysis computes: on
    # a large project they are computed in a child process, on another core. (Forked after the
    # work above: a page either process writes after the fork is copied for it.) The shares are
    # about even; on Django the fork costs ~0.35 s of CPU in page copies and pickling, and takes
    # the longer process's CPU time from ~1.8 s (all of it here) to ~1.2 s (bench/analyses_bench.py).
    child = ChildWork(partial(child_work, inputs, scope_calls, inherits, modules, index.scope_kind,
                              site_calls + site_news), fork=len(scope_calls) >= MIN_EDGES_FOR_CHILD)
    try:
        # Per-file rows stay plain tuples: the analyses read them by position.
        files = [ExceptionFacts(raises, [], [], guards, list(classes))
                 for (raises, guards, classes), _, _ in inputs]
        propagation = propagate_exceptions(files, site_calls, index.call_scope, records=False)
        columns: dict[str, dict[str, Any]] = defaultdict(dict)
        edges_out = may_raise_edges(propagation.may_raise, files, index, columns)
        metrics, impure, overrides, (args, rets) = child.result()
    finally:
        child.cancel()
    flows = flow_edges(args, rets)
    for function, fan_in, fan_out, pagerank, recursion in metrics:
        row = columns[function]
        row["fan_in"], row["fan_out"], row["pagerank"], row["recursion"] = fan_in, fan_out, pagerank, recursion
    for function in impure:
        columns[function]["impure_via_calls"] = True
    for function in overrides:
        columns[function]["overrides"] = True
    names = sorted({fact[1] for fact in propagation.may_raise})  # (type)
    return ProjectAnalysis(dict(columns), edges_out, flows, exception_type_rows(names, ""), propagation.partial)


def child_work(inputs: list[AnalysisInputs], scope_calls: list[Edge], inherits: list[Edge],
               modules: list[ModuleInputs], scope_kind: dict[str, str], site_calls: list[Edge]
               ) -> tuple[list[tuple], list[str], list[str], tuple[list, list]]:
    """`analyze_project`'s share for a child process, as plain tuples and strings (cheap to send
    back): (id, fan_in, fan_out, pagerank, recursion) rows, impure functions (themselves or through
    calls), overriding methods, and the flows over the resolved calls from call sites grouped by
    `grouped_flows` (``site_calls``)."""
    metrics = [(m[0], m[1], m[2], m[3], m[5]) for m in project_metrics(scope_calls)]
    impure = propagate_impurity(chain.from_iterable(functions for _, functions, _ in inputs), scope_calls)
    overrides = overriding_methods(modules, inherits, scope_kind)
    parts: list[list] = [[], [], [], []]
    for file_inputs in inputs:
        for bucket, rows in zip(parts, file_inputs.dataflow):
            bucket.extend(rows)
    return metrics, list(impure), list(overrides), grouped_flows(site_calls, *parts)


class ChildWork(Generic[T]):
    """``work`` (a function of no arguments) computed in a forked child process, beside the caller.

    The child shares the parent's memory (copy on write), so nothing is sent to it; it runs ``work``,
    pickles the result back through a pipe and leaves with ``os._exit`` (no exit handlers, no
    flushing of the parent's buffers). Where the child cannot start, fails, or is not done
    `CHILD_TIMEOUT` seconds after `result` is asked for, `result` runs ``work`` itself: the result
    is the same either way. Always `cancel` (a no-op once the result is in).
    """

    def __init__(self, work: Callable[[], T], fork: bool = True) -> None:
        self.work = work
        #: what the log calls it (not its repr: a partial's shows all its arguments)
        self.name = getattr(getattr(work, "func", work), "__qualname__", "work")
        self.pid: int | None = None
        self._read_end = -1
        if not fork:
            return
        try:
            read_end, write_end = os.pipe()
        except OSError as err:
            log.debug("no child process for %s: %s", self.name, err)
            return
        try:
            pid = os.fork()
        except (AttributeError, OSError) as err:
            log.debug("no child process for %s: %s", self.name, err)
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child
            gc.disable()  # a collection would touch, and so copy, every page of the shared heap
            status = 1
            try:
                os.close(read_end)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.pid, self._read_end = pid, read_end

    def result(self) -> T:
        """The child's result once it is done (or ``work()`` computed here, see above)."""
        if self.pid is None:
            return self.work()
        chunks: list[bytes] = []
        deadline = time.monotonic() + CHILD_TIMEOUT
        while True:
            ready, _, _ = select.select([self._read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                log.warning("a child process computing %s was not done after %.0f s; computing here",
                            self.name, CHILD_TIMEOUT)
                chunks = []
                break
            chunk = os.read(self._read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        # At the end of its output the child is leaving: wait for it; else stop it.
        status = self._reap(kill=not chunks)
        if status == 0 and chunks:
            return pickle.loads(b"".join(chunks))
        return self.work()

    def cancel(self) -> None:
        """Stop the child if it still runs, and reap it."""
        self._reap(kill=True)

    def _reap(self, kill: bool) -> int | None:
        """Reap the child (killed first if ``kill``); its wait status (None: no child)."""
        if self.pid is None:
            return None
        pid, self.pid = self.pid, None
        os.close(self._read_end)
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # reaped elsewhere
                pass
        _, status = os.waitpid(pid, 0)
        return status


def may_raise_edges(facts: list, files: list[ExceptionFacts], index: ProjectIndex,
                    columns: dict[str, dict[str, Any]]) -> list[Edge]:
    """MAY_RAISE edges of `propagate_exceptions`' facts (sorted by function, then type: one per pair)
    of project scopes, with where their raise and call sites are; sets each function's ``may_raise``
    column (in ``columns``) to its sorted types."""
    scope_file, scope_kind, call_scope, call_line = index.scope_file, index.scope_kind, index.call_scope, index.call_line
    raise_at = {r[0]: f"{scope_file[r[1]]}:{r[6]}" for f in files for r in f.raises if r[1] in scope_file}
    # ``file:line`` of every call site on a path (a few thousand, on paths of 300k steps on Django)
    places = {call: f"{scope_file[call_scope[call]]}:{call_line[call]}"
              for call in set(chain.from_iterable(fact[3] for fact in facts)) if call in call_line}
    place = places.get
    type_ids: dict[str, str] = {}
    may, exc = EdgeKind.MAY_RAISE, NodeKind.EXCEPTION_TYPE
    out: list[Edge] = []
    types: list[str] = []
    last = None
    for function, typ, origin, via in facts:
        if function != last:
            if last is not None:
                columns[last]["may_raise"] = types
            last, types = function, []
            kind = scope_kind.get(function)
            if kind is not None:
                kind = SCOPE_TABLES[kind]
                file = scope_file[function]
        types.append(typ)
        if kind is None:
            continue
        type_id = type_ids.get(typ)
        if type_id is None:
            type_id = type_ids[typ] = exception_type_id(typ)
        # The places are stored only when all are known ('' origin_at: the reader looks them up).
        via_at = list(map(place, via, repeat("")))
        origin_at = raise_at.get(origin, "") if all(via_at) else ""
        out.append(new_record(Edge, (may, function, kind, type_id, exc, (
            ("origin", origin), ("via", list(via)), ("origin_at", origin_at), ("via_at", via_at if origin_at else []),
            ("file", file)))))
    if last is not None:
        columns[last]["may_raise"] = types
    return out


def flow_edges(args: list, rets: list) -> list[Edge]:
    """PASSES (call site -> parameter) and RETURNS_TO (return -> call site) edges of `grouped_flows`'
    groups (sorted, as `interprocedural_edges` sorts its flows)."""
    passes, callsite, param = EdgeKind.PASSES, NodeKind.CALLSITE, NodeKind.PARAMETER
    attrs: dict[str, tuple] = {}  #: argument -> the edge's properties (shared: few distinct)
    out = []
    append = out.append
    for call, bound in args:
        for p, argument in bound:
            props = attrs.get(argument)
            if props is None:
                props = attrs[argument] = (("argument", argument),)
            append(new_record(Edge, (passes, call, callsite, p, param, props)))
    returns_to, stmt_kind = EdgeKind.RETURNS_TO, NodeKind.STMT
    for stmt, sites in rets:
        out.extend([new_record(Edge, (returns_to, stmt, stmt_kind, call, callsite, ())) for call in sites])
    return out


#: Value of each project-wide Function column for a function the analyses say nothing about.
_PROJECT_DEFAULTS = {"impure_via_calls": False, "fan_in": 0, "fan_out": 0, "pagerank": 0.0, "recursion": "",
                     "may_raise": [], "overrides": False}


def join_function_columns(table: pa.Table, columns: dict[str, dict[str, Any]]) -> pa.Table:
    """Replace the project-wide Function columns of an Arrow table with ``columns`` (by ID)."""
    ids = table.column("id").to_pylist()
    position = dict(zip(ids, range(len(ids))))
    if len(position) == len(ids):  # each function's values put in its row
        values = {name: [_PROJECT_DEFAULTS[name]] * len(ids) for name in PROJECT_FUNCTION_COLUMNS}
        for function, row in columns.items():
            k = position.get(function)
            if k is not None:
                for name, value in row.items():
                    column = values.get(name)
                    if column is not None:
                        column[k] = value
    else:  # an ID twice: row by row
        values = {name: [columns.get(i, {}).get(name, _PROJECT_DEFAULTS[name]) for i in ids]
                  for name in PROJECT_FUNCTION_COLUMNS}
    for name in PROJECT_FUNCTION_COLUMNS:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(values[name], type=table.schema.field(index).type))
    return table


def dedupe_exception_types(parts: list[pa.Table]) -> pa.Table | None:
    """One row per exception type (several files mention the same type)."""
    rows: dict[str, dict[str, Any]] = {}
    for part in parts:
        for row in part.to_pylist():
            rows.setdefault(row["id"], {**row, "file": ""})
    if not rows:
        return None
    ordered = [rows[k] for k in sorted(rows)]
    return pa.Table.from_pylist(ordered, schema=parts[0].schema)
