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
SCHEMA_VERSION = 1


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
        Column("short_name", "STRING", "last component of the module name"),
        Column("is_package", "BOOLEAN", "an __init__.py"),
        Column("docstring", "STRING", "module docstring"),
    ),
    NodeKind.CLASS: (
        Column("short_name", "STRING", "the class name as written"),
        Column("bases", "STRING[]", "base-class expressions as written"),
        Column("decorators", "STRING[]", "decorator expressions as written"),
        Column("docstring", "STRING", "class docstring"),
        Column("scope", "STRING", "ID of the enclosing module/class/function"),
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
}

_SCOPES = (NodeKind.MODULE, NodeKind.CLASS, NodeKind.FUNCTION)
_BODY = (NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.STMT, NodeKind.CALLSITE)

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
    return out
