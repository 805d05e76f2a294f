"""Loading nodes and edges into a generation: bulk COPY, and incremental deltas.

Rows go to Kuzu as pyarrow tables through ``COPY`` (pandas' string dtype
crashes Kuzu's COPY; Arrow does not), grouped by table and, for
relationships, by (from, to) table pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter, itemgetter

import pyarrow as pa

from astrepo.model import Edge, EdgeColumns, EdgeKind, FileFacts, Node, NodeColumns, NodeKind

EdgePair = tuple[EdgeKind, NodeKind, NodeKind]

#: Extra column of cached intra-file edge rows: the file they belong to.
PATH_COLUMN = "_path"
from astrepo.graph.db import GraphDB
from astrepo.graph.schema import EDGE_TABLES, edge_columns, node_columns

_ARROW_TYPES = {
    "STRING": pa.string(),
    "INT64": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "DOUBLE": pa.float64(),
    "STRING[]": pa.list_(pa.string()),
}

_DEFAULTS = {"STRING": "", "INT64": 0, "BOOLEAN": False, "DOUBLE": 0.0, "STRING[]": []}


def nodes_to_arrow(kind: NodeKind, nodes: list[Node]) -> pa.Table:
    """Typed node records of one table as an Arrow table."""
    table = NodeColumns(kind)
    for n in nodes:
        table.add(n.id, n.name, n.file, n.span, n.attrs)
    return columns_to_arrow([table])


def columns_to_arrow(tables: list[NodeColumns]) -> pa.Table:
    """Column-wise rows of one node table (from several files) as one Arrow table."""
    kind = tables[0].kind
    columns = node_columns(kind)
    data: dict[str, list] = {c.name: [] for c in columns}
    for t in tables:
        data["id"].extend(t.ids)
        data["name"].extend(t.names)
        data["file"].extend(t.files)
        for name, values in zip(("start_line", "start_col", "end_line", "end_col"), t.spans):
            data[name].extend(values)
        for col in columns[7:]:
            values = t.attrs.get(col.name)
            data[col.name].extend(values if values is not None else [_DEFAULTS[col.type]] * len(t))
    return pa.table({c.name: pa.array(data[c.name], type=_ARROW_TYPES[c.type]) for c in columns})


def edge_columns_to_arrow(tables: list[tuple[str, EdgeColumns]]) -> pa.Table:
    """Column-wise intra-file edges of one table pair (with their files' paths) as one Arrow table.

    The extra ``path`` column says which file the edge belongs to; it is
    dropped before loading.
    """
    src: list[str] = []
    dst: list[str] = []
    paths: list[str] = []
    for path, t in tables:
        src.extend(t.src)
        dst.extend(t.dst)
        paths.extend([path] * len(t))
    data: dict[str, pa.Array] = {"from": pa.array(src, type=pa.string()), "to": pa.array(dst, type=pa.string())}
    for col in edge_columns(tables[0][1].kind):
        data[col.name] = pa.array([_DEFAULTS[col.type]] * len(src), type=_ARROW_TYPES[col.type])
    data[PATH_COLUMN] = pa.array(paths, type=pa.string())
    return pa.table(data)


def facts_to_arrow(facts: list[FileFacts]) -> tuple[dict[NodeKind, pa.Table], dict[EdgePair, pa.Table]]:
    """The nodes and intra-file edges of several files, as one Arrow table per table (pair)."""
    node_groups: dict[NodeKind, list[NodeColumns]] = defaultdict(list)
    edge_groups: dict[EdgePair, list[tuple[str, EdgeColumns]]] = defaultdict(list)
    for f in facts:
        for kind, table in f.node_tables.items():
            node_groups[kind].append(table)
        for key, table in f.edge_tables.items():
            edge_groups[key].append((f.path, table))
    return ({k: columns_to_arrow(v) for k, v in node_groups.items()},
            {k: edge_columns_to_arrow(v) for k, v in edge_groups.items()})


def edges_to_arrow(kind: EdgeKind, edges: list[Edge]) -> pa.Table:
    """Typed edge records of one table pair as an Arrow table (from, to, properties...)."""
    data: dict[str, pa.Array] = {
        "from": pa.array(list(map(_SRC, edges)), type=pa.string()),
        "to": pa.array(list(map(_DST, edges)), type=pa.string()),
    }
    columns = edge_columns(kind)
    if columns:
        attrs = list(map(_ATTRS, edges))
        values = _attr_columns(attrs, columns) if attrs else [[] for _ in columns]
        if values is None:  # attributes missing or out of the schema's order: through a dict each
            dicts = [dict(a) for a in attrs]
            values = [[d.get(c.name, _DEFAULTS[c.type]) for d in dicts] for c in columns]
        for col, column_values in zip(columns, values):
            data[col.name] = pa.array(column_values, type=_ARROW_TYPES[col.type])
    return pa.table(data)


def _attr_columns(attrs: list[tuple], columns: tuple) -> list[list] | None:
    """Column values of attribute tuples that all hold the first columns' names in the schema's
    order (the others get their defaults); None for anything else.

    Built with C-level iteration only: this runs over every resolved edge.
    """
    width = len(attrs[0])
    if width > len(columns) or not all(map(width.__eq__, map(len, attrs))):
        return None
    out = []
    for i, col in enumerate(columns):
        if i >= width:
            out.append([_DEFAULTS[col.type]] * len(attrs))
            continue
        pairs = list(map(itemgetter(i), attrs))
        if set(map(_FIRST, pairs)) != {col.name}:
            return None
        out.append(list(map(_SECOND, pairs)))
    return out


_SRC, _DST, _ATTRS = attrgetter("src"), attrgetter("dst"), attrgetter("attrs")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def load_arrow(db: GraphDB, node_tables: dict[NodeKind, list[pa.Table]],
               edge_tables: dict[EdgePair, list[pa.Table]]) -> None:
    """COPY Arrow tables (several per table, concatenated) into the graph, nodes first."""
    for kind in NodeKind:
        parts = node_tables.get(kind)
        if parts:
            db.copy_from(kind.value, pa.concat_tables(parts))
    for (kind, src_kind, dst_kind) in sorted(edge_tables, key=lambda k: tuple(x.value for x in k)):
        parts = edge_tables[(kind, src_kind, dst_kind)]
        if parts:
            _check_pair(kind, src_kind, dst_kind)
            table = pa.concat_tables(parts)
            if PATH_COLUMN in table.column_names:
                table = table.drop_columns([PATH_COLUMN])
            db.copy_from(kind.value, table, f"from='{src_kind.value}', to='{dst_kind.value}'")


def _check_pair(kind: EdgeKind, src_kind: NodeKind, dst_kind: NodeKind) -> None:
    if (src_kind, dst_kind) not in EDGE_TABLES[kind][0]:
        raise ValueError(f"schema has no {kind.value} from {src_kind.value} to {dst_kind.value}")


def load_nodes(db: GraphDB, nodes: Iterable[Node]) -> dict[str, int]:
    """COPY nodes into their tables; return how many went into each."""
    by_kind: dict[NodeKind, list[Node]] = defaultdict(list)
    for node in nodes:
        by_kind[node.kind].append(node)
    counts = {}
    for kind, group in by_kind.items():
        db.copy_from(kind.value, nodes_to_arrow(kind, group))
        counts[kind.value] = len(group)
    return counts


def load_edges(db: GraphDB, edges: Iterable[Edge]) -> dict[str, int]:
    """COPY edges into their relationship tables; return how many went into each."""
    by_pair: dict[tuple[EdgeKind, NodeKind, NodeKind], list[Edge]] = defaultdict(list)
    for edge in edges:
        by_pair[(edge.kind, edge.src_kind, edge.dst_kind)].append(edge)
    counts: dict[str, int] = defaultdict(int)
    for (kind, src_kind, dst_kind), group in sorted(by_pair.items(), key=lambda kv: tuple(x.value for x in kv[0])):
        _check_pair(kind, src_kind, dst_kind)
        db.copy_from(kind.value, edges_to_arrow(kind, group), f"from='{src_kind.value}', to='{dst_kind.value}'")
        counts[kind.value] += len(group)
    return dict(counts)
