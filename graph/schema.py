"""The graph schema, declared as data; the Kuzu DDL is generated from it.

Every node table has ``id`` (the node ID, primary key), ``name`` (qualified
dotted name or a short label), ``file`` (repo-relative path) and the span
columns. Table-specific columns follow, one comment each.
"""

from __future__ import annotations

from dataclasses import dataclass

from astrepo.model import EdgeKind, NodeKind

#: Version of the on-disk graph layout. A database with another version is
#: rebuilt (``astrepo index --rebuild``), never migrated in place.
#: History: 1 - first schema (files, modules, classes, functions, parameters,
#: call sites, statements, externals; CONTAINS/DEFINES/IMPORTS/INHERITS/CALLS).
#: 2 - runtime layer (graph/join.py): Run, Event, RuntimeStat; OBSERVED_AT, STAT_OF, RECORDED_IN;
#: CALLS edges with provenance ``runtime``.
#: 3 - static analyses (analyzers/): ExceptionType; CFG entry/exit Stmt rows; metrics, roles, effects,
#: fan-in/out, PageRank, recursion and may-raise types on functions; CFG_NEXT, REACHES, RAISES_AT,
#: IMPLICIT_RAISE, CATCHES, MAY_RAISE.
#: 4 - interprocedural data flow: PASSES (argument -> parameter), RETURNS_TO (return -> call site).
#: 5 - Module.exports (``__all__``).
#: 6 - Run.plan (the plan file of a planned run; Run.strategy is now always the strategy name),
#: Run.exceptions_stored (Event rows kept: at most a hundred per raise site).
#: 7 - places precomputed for questions: MAY_RAISE.origin_at/via_at (``file:line``), CATCHES and
#: IMPLICIT_RAISE carry the enclosing scope and the line (no per-row Stmt/CallSite lookups).
#: 8 - Function.overrides (a method reached by dispatch through a base class's method of that name).
#: 9 - Function.implicit_entry (may run without a call: lambda, decorated, main, dunder, test), MAY_RAISE.file.
#: 10 - reach.idx beside each generation (graph/query/reach_index.py): symbols, CALLS and INHERITS as arrays.
SCHEMA_VERSION = 10


@dataclass(frozen=True, slots=True)
class Column:
    """One property of a node or relationship table."""

    name: str
    type: str  #: Kuzu type: STRING, INT64, BOOLEAN, DOUBLE, STRING[]
    doc: str


COMMON_COLUMNS: tuple[Column, ...] = (
    Column("id", "STRING", "stable node ID (astrepo.ids)"),
    Column("name", "STRING", "qualified dotted name, or a short label"),
    Column("file", "STRING", "repo-relative POSIX path, '' for externals"),
    Column("start_line", "INT64", "1-based first line"),
    Column("start_col", "INT64", "0-based first column (UTF-8 bytes)"),
    Column("end_line", "INT64", "1-based last line"),
    Column("end_col", "INT64", "0-based end column, exclusive"),
)

NODE_COLUMNS: dict[NodeKind, tuple[Column, ...]] = {
    NodeKind.FILE: (
        Column("hash", "STRING", "content hash of the bytes on disk"),
        Column("bytes", "INT64", "size on disk"),
        Column("lines", "INT64", "number of lines"),
        Column("module", "STRING", "dotted module name"),
        Column("status", "STRING", "ok | syntax_error | skipped"),
        Column("reason", "STRING", "why the file was skipped, if it was"),
    ),
    NodeKind.MODULE: (
        Column("roles", "STRING[]", "e.g. cli_entry (has `if __name__ == \"__main__\"`)"),
        Column("short_name", "STRING", "last component of the module name"),
        Column("is_package", "BOOLEAN", "an __init__.py"),
        Column("docstring", "STRING", "module docstring"),
        Column("exports", "STRING[]", "names listed in the module's `__all__` (string literals)"),
    ),
    NodeKind.CLASS: (
        Column("short_name", "STRING", "the class name as written"),
        Column("bases", "STRING[]", "base-class expressions as written"),
        Column("decorators", "STRING[]", "decorator expressions as written"),
        Column("docstring", "STRING", "class docstring"),
        Column("scope", "STRING", "ID of the enclosing module/class/function"),
        Column("roles", "STRING[]", "dataclass, exception, abstract, protocol, context_manager, ..."),
    ),
    NodeKind.FUNCTION: (
        Column("short_name", "STRING", "the function name, or <lambdaN>"),
        Column("kind", "STRING", "function | method | nested | lambda"),
        Column("is_async", "BOOLEAN", "async def"),
        Column("decorators", "STRING[]", "decorator expressions as written"),
        Column("signature", "STRING", "parameter list and return annotation as written"),
        Column("docstring", "STRING", "function docstring"),
        Column("n_params", "INT64", "number of parameters"),
        Column("returns", "STRING", "return annotation as written"),
        Column("scope", "STRING", "ID of the enclosing module/class/function"),
        Column("cyclomatic", "INT64", "cyclomatic complexity"),
        Column("cognitive", "INT64", "cognitive complexity"),
        Column("lines", "INT64", "last line - first line + 1"),
        Column("statements", "INT64", "own statements (a nested definition counts as one)"),
        Column("max_nesting", "INT64", "deepest nesting of blocks"),
        Column("roles", "STRING[]", "test, cli_entry, view, celery_task, coroutine, generator, ..."),
        Column("effects", "STRING[]", "side effects found in the body: file_io, network, subprocess, ..."),
        Column("pure", "BOOLEAN", "no side effect in the body itself"),
        Column("impure_via_calls", "BOOLEAN", "calls (transitively) an impure project function"),
        Column("fan_in", "INT64", "distinct project scopes calling it"),
        Column("fan_out", "INT64", "distinct project functions/classes it calls"),
        Column("pagerank", "DOUBLE", "PageRank over the function-level call graph"),
        Column("recursion", "STRING", "'' | direct | mutual | direct+mutual"),
        Column("may_raise", "STRING[]", "exception types that may escape it (explicit raises, propagated)"),
        Column("overrides", "BOOLEAN", "a method whose class inherits one of the same name from a project class"),
        Column("implicit_entry", "BOOLEAN", "may run with no call in the project: a lambda, decorated, main, a "
                                            "dunder, a test or in a test file"),
    ),
    NodeKind.PARAMETER: (
        Column("short_name", "STRING", "parameter name"),
        Column("position", "INT64", "0-based position in the parameter list"),
        Column("kind", "STRING", "positional_only | positional | vararg | keyword_only | kwarg"),
        Column("annotation", "STRING", "annotation as written"),
        Column("default_value", "STRING", "default value as written"),
        Column("function", "STRING", "ID of the owning function"),
    ),
    NodeKind.CALLSITE: (
        Column("callee", "STRING", "dotted text of the called expression, '' if not a name chain"),
        Column("n_args", "INT64", "number of arguments as written"),
        Column("caller", "STRING", "ID of the enclosing module/class/function"),
    ),
    NodeKind.STMT: (
        Column("kind", "STRING", "canonical statement kind (astrepo.ids.STMT_KINDS)"),
        Column("scope", "STRING", "ID of the enclosing module/class/function"),
    ),
    NodeKind.EXTERNAL: (
        Column("kind", "STRING", "builtin | module | symbol"),
    ),
    NodeKind.EXCEPTION_TYPE: (
        Column("short_name", "STRING", "last component of the type name as written"),
    ),
}

_SCOPES = (NodeKind.MODULE, NodeKind.CLASS, NodeKind.FUNCTION)
_BODY = (NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.STMT, NodeKind.CALLSITE)
_CFG = (NodeKind.STMT, NodeKind.FUNCTION, NodeKind.CLASS)

#: For each relationship table: its (from, to) table pairs and its columns.
EDGE_TABLES: dict[EdgeKind, tuple[tuple[tuple[NodeKind, NodeKind], ...], tuple[Column, ...]]] = {
    EdgeKind.CONTAINS: (
        ((NodeKind.FILE, NodeKind.MODULE),)
        + tuple((src, dst) for src in (*_SCOPES, NodeKind.STMT, NodeKind.CALLSITE) for dst in _BODY),
        (),
    ),
    EdgeKind.DEFINES: (
        tuple((src, dst) for src in _SCOPES for dst in (NodeKind.CLASS, NodeKind.FUNCTION))
        + ((NodeKind.FUNCTION, NodeKind.PARAMETER),),
        (),
    ),
    EdgeKind.IMPORTS: (
        ((NodeKind.MODULE, NodeKind.MODULE), (NodeKind.MODULE, NodeKind.EXTERNAL)),
        (Column("line", "INT64", "line of the first import of the target"),),
    ),
    EdgeKind.INHERITS: (
        ((NodeKind.CLASS, NodeKind.CLASS), (NodeKind.CLASS, NodeKind.EXTERNAL)),
        (Column("position", "INT64", "0-based position in the base list"),),
    ),
    EdgeKind.CALLS: (
        tuple((src, dst) for src in (NodeKind.CALLSITE, *_SCOPES)
              for dst in (NodeKind.FUNCTION, NodeKind.CLASS, NodeKind.EXTERNAL)),
        (Column("provenance", "STRING", "how the target was found (e.g. local, import, self, runtime)"),),
    ),
    EdgeKind.CFG_NEXT: (
        tuple((a, b) for a in _CFG for b in _CFG),
        (Column("label", "STRING", "next | true | false | loop | break | continue | return | exception | finally"),
         Column("scope", "STRING", "the module/class/function whose body this is")),
    ),
    EdgeKind.REACHES: (
        tuple((a, b) for a in (NodeKind.STMT, NodeKind.PARAMETER, NodeKind.FUNCTION, NodeKind.CLASS) for b in _CFG),
        (Column("var", "STRING", "the variable defined at the source and read at the target"),
         Column("scope", "STRING", "the function")),
    ),
    EdgeKind.RAISES_AT: (
        tuple((a, NodeKind.EXCEPTION_TYPE) for a in _CFG),
        (Column("kind", "STRING", "raise | raise_from | reraise"),
         Column("cause", "STRING", "the `from` expression as written"),
         Column("caught_by", "STRING", "except Stmt of the same scope catching it, '' if it escapes"),
         Column("scope", "STRING", "enclosing function")),
    ),
    EdgeKind.IMPLICIT_RAISE: (
        tuple((a, NodeKind.EXCEPTION_TYPE) for a in _CFG),
        (Column("op", "STRING", "subscript | attribute | division | int() | ..."),
         Column("caught", "BOOLEAN", "an enclosing try of the same scope catches it"),
         Column("scope", "STRING", "enclosing function (or module/class body)"),
         Column("line", "INT64", "1-based line of the statement")),
    ),
    EdgeKind.CATCHES: (
        tuple((a, NodeKind.EXCEPTION_TYPE) for a in _CFG),
        (Column("scope", "STRING", "enclosing function (or module/class body)"),
         Column("line", "INT64", "1-based line of the except clause")),
    ),
    EdgeKind.MAY_RAISE: (
        tuple((a, NodeKind.EXCEPTION_TYPE) for a in _SCOPES),
        (Column("origin", "STRING", "the raise Stmt"),
         Column("via", "STRING[]", "call sites from this function down to the raising one"),
         Column("origin_at", "STRING", "the raise Stmt's place, file:line ('' if unknown)"),
         Column("via_at", "STRING[]", "the places (file:line) of the `via` call sites"),
         Column("file", "STRING", "the file of the function (or module/class) that may raise")),
    ),
    EdgeKind.PASSES: (
        ((NodeKind.CALLSITE, NodeKind.PARAMETER),),
        (Column("argument", "STRING", "0, 1, ... for a positional argument, the name for a keyword"),),
    ),
    EdgeKind.RETURNS_TO: (
        ((NodeKind.STMT, NodeKind.CALLSITE),),
        (),
    ),
}


# -- the runtime layer (extends the static layer; rows from graph/join.py) -------------------------

#: Node tables of traced runs: one ``Run`` per ingested trace, an ``Event`` per exception
#: occurrence, a ``RuntimeStat`` per (run, instrumented node). IDs: the run id,
#: ``<run>:<pid>:<tid>:<n>``, ``<run>:<node id>``.
RUNTIME_NODE_TABLES: dict[str, tuple[Column, ...]] = {
    "Run": (
        Column("id", "STRING", "run id (sortable: start time first)"),
        Column("command", "STRING", "the traced command line"),
        Column("root", "STRING", "project root the run instrumented"),
        Column("strategy", "STRING", "strategy (minimal | balanced | full_trace)"),
        Column("plan", "STRING", "the plan file of a planned run, empty for a built-in strategy"),
        Column("start_ns", "INT64", "wall-clock start, ns since the epoch"),
        Column("start", "STRING", "start as ISO 8601 (UTC)"),
        Column("duration_s", "DOUBLE", "wall-clock duration of the command, seconds"),
        Column("exit_code", "INT64", "the command's exit code (128+N when killed by signal N)"),
        Column("processes", "INT64", "Python processes that recorded"),
        Column("events", "INT64", "events recorded (all kinds)"),
        Column("calls", "INT64", "call events"),
        Column("exceptions", "INT64", "exception occurrences"),
        Column("exceptions_stored", "INT64", "exception occurrences kept as Event nodes (the rest only counted)"),
        Column("overflow", "INT64", "events dropped because buffers overflowed"),
        Column("errors", "INT64", "failures swallowed by the recorder"),
    ),
    "Event": (
        Column("id", "STRING", "<run>:<pid>:<tid>:<n>"),
        Column("run", "STRING", "run id"),
        Column("kind", "STRING", "exception"),
        Column("outcome", "STRING", "caught | escaped (left the outermost recorded function)"),
        Column("name", "STRING", "qualified name (within its module) of the function where it was raised"),
        Column("exc_type", "STRING", "exception type, dotted"),
        Column("message", "STRING", "str() of the exception, truncated and redacted"),
        Column("pid", "INT64", "process id"),
        Column("thread", "STRING", "thread name"),
        Column("ts_ns", "INT64", "when it was first seen, ns since the epoch"),
        Column("call_id", "STRING", "<pid>:<tid>:<n> of the call it was raised in"),
        Column("file", "STRING", "origin file (repo-relative if in the project)"),
        Column("line", "INT64", "1-based origin line"),
        Column("frames", "INT64", "recorded functions it propagated through"),
    ),
    "RuntimeStat": (
        Column("id", "STRING", "<run>:<node id>"),
        Column("run", "STRING", "run id"),
        Column("node", "STRING", "ID of the node the statistics are about"),
        Column("node_kind", "STRING", "capture kind of the node: function, call, if, assign, ..."),
        Column("name", "STRING", "qualified name of the node's scope"),
        Column("file", "STRING", "repo-relative path"),
        Column("line", "INT64", "1-based line of the node"),
        Column("calls", "INT64", "function: calls"),
        Column("exceptions", "INT64", "function: exceptions leaving it; except clause: exceptions caught"),
        Column("total_ns", "INT64", "function: summed duration of finished calls, ns"),
        Column("mean_ns", "DOUBLE", "function: mean duration, ns"),
        Column("max_ns", "INT64", "function: longest call, ns"),
        Column("arg_types", "STRING[]", "function: 'param: type|type' per parameter, as observed"),
        Column("return_types", "STRING[]", "function: observed return types"),
        Column("hits", "INT64", "statement / call site / except clause: times it ran"),
        Column("taken", "INT64", "branch: times the body was entered"),
        Column("not_taken", "INT64", "branch: times it was skipped (else / loop exit)"),
        Column("value_types", "STRING[]", "call site / assignment: observed value types"),
        Column("last_value", "STRING", "call site / assignment: preview of the last value"),
    ),
}

#: Relationship tables of the runtime layer: (from, to) table-name pairs and columns.
_OBSERVABLE = ("Module", "Class", "Function", "CallSite", "Stmt")
RUNTIME_EDGE_TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[Column, ...]]] = {
    "OBSERVED_AT": (
        tuple(("Event", dst) for dst in _OBSERVABLE),
        (Column("role", "STRING", "raised | propagated | caught"),
         Column("position", "INT64", "0 at the raise site, then outward in the order it passed")),
    ),
    "STAT_OF": (tuple(("RuntimeStat", dst) for dst in _OBSERVABLE), ()),
    "RECORDED_IN": ((("Event", "Run"), ("RuntimeStat", "Run")), ()),
}


def node_columns(kind: NodeKind) -> tuple[Column, ...]:
    """All columns of a node table, common ones first."""
    return COMMON_COLUMNS + NODE_COLUMNS[kind]


def edge_columns(kind: EdgeKind) -> tuple[Column, ...]:
    """Property columns of a relationship table."""
    return EDGE_TABLES[kind][1]


def ddl_statements() -> list[str]:
    """CREATE statements for the whole schema, node tables first."""
    out = []
    for kind in NodeKind:
        cols = ", ".join(f"{c.name} {c.type}" for c in node_columns(kind))
        out.append(f"CREATE NODE TABLE {kind.value}({cols}, PRIMARY KEY(id))")
    for kind, (pairs, cols) in EDGE_TABLES.items():
        pair_sql = ", ".join(f"FROM {a.value} TO {b.value}" for a, b in pairs)
        col_sql = "".join(f", {c.name} {c.type}" for c in cols)
        out.append(f"CREATE REL TABLE {kind.value}({pair_sql}{col_sql})")
    for name, columns in RUNTIME_NODE_TABLES.items():
        cols = ", ".join(f"{c.name} {c.type}" for c in columns)
        out.append(f"CREATE NODE TABLE {name}({cols}, PRIMARY KEY(id))")
    for name, (pairs, columns) in RUNTIME_EDGE_TABLES.items():
        pair_sql = ", ".join(f"FROM {a} TO {b}" for a, b in pairs)
        col_sql = "".join(f", {c.name} {c.type}" for c in columns)
        out.append(f"CREATE REL TABLE {name}({pair_sql}{col_sql})")
    return out
