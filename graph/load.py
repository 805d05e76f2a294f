"""Loading nodes and edges into a generation: bulk COPY, and incremental deltas.

Rows go to Kuzu as pyarrow tables through ``COPY`` (pandas' string dtype
crashes Kuzu's COPY; Arrow does not), grouped by table and, for
relationships, by (from, to) table pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa

from astrepo.model import Edge, EdgeKind, Node, NodeKind
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
    """One node table's rows as an Arrow table with the schema's column types."""
    columns = node_columns(kind)
    data: dict[str, list] = {
        "id": [n.id for n in nodes],
        "name": [n.name for n in nodes],
        "file": [n.file for n in nodes],
        "start_line": [n.span.start_line for n in nodes],
        "start_col": [n.span.start_col for n in nodes],
        "end_line": [n.span.end_line for n in nodes],
        "end_col": [n.span.end_col for n in nodes],
    }
    for col in columns[7:]:
        default = _DEFAULTS[col.type]
        data[col.name] = [n.attrs.get(col.name, default) for n in nodes]
    return pa.table({c.name: pa.array(data[c.name], type=_ARROW_TYPES[c.type]) for c in columns})


def edges_to_arrow(kind: EdgeKind, edges: list[Edge]) -> pa.Table:
    """One relationship table pair's rows as an Arrow table (from, to, properties...)."""
    data: dict[str, pa.Array] = {
        "from": pa.array([e.src for e in edges], type=pa.string()),
        "to": pa.array([e.dst for e in edges], type=pa.string()),
    }
    for col in edge_columns(kind):
        default = _DEFAULTS[col.type]
        values = [dict(e.attrs).get(col.name, default) for e in edges]
        data[col.name] = pa.array(values, type=_ARROW_TYPES[col.type])
    return pa.table(data)


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
        if (src_kind, dst_kind) not in EDGE_TABLES[kind][0]:
            raise ValueError(f"schema has no {kind.value} from {src_kind.value} to {dst_kind.value}")
        db.copy_from(kind.value, edges_to_arrow(kind, group), f"from='{src_kind.value}', to='{dst_kind.value}'")
        counts[kind.value] += len(group)
    return dict(counts)


def delete_files(db: GraphDB, paths: list[str]) -> None:
    """Remove every node (and its edges) that belongs to one of ``paths``."""
    if not paths:
        return
    for kind in NodeKind:
        if kind is NodeKind.EXTERNAL:
            continue
        db.execute(f"MATCH (n:{kind.value}) WHERE n.file IN $paths DETACH DELETE n", {"paths": paths})


def delete_edges(db: GraphDB, edges: Iterable[Edge]) -> None:
    """Remove specific relationships (both endpoints still exist)."""
    for edge in edges:
        kind = edge.kind.value
        db.execute(
            f"MATCH (a:{edge.src_kind.value} {{id: $a}})-[r:{kind}]->(b:{edge.dst_kind.value} {{id: $b}}) "
            + "".join(f"WHERE r.{k} = ${k} " if i == 0 else f"AND r.{k} = ${k} " for i, (k, _) in enumerate(edge.attrs))
            + "DELETE r",
            {"a": edge.src, "b": edge.dst, **dict(edge.attrs)},
        )


def delete_nodes(db: GraphDB, kind: NodeKind, ids: list[str]) -> None:
    """Remove nodes of one table by ID, with their edges."""
    if ids:
        db.execute(f"MATCH (n:{kind.value}) WHERE n.id IN $ids DETACH DELETE n", {"ids": ids})
