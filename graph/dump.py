"""A normalised text dump of a whole graph: one sorted line per node and per edge.

Two graphs are equal exactly when their dumps are; tests compare an
incremental index with a full rebuild this way.
"""

from __future__ import annotations

from astrepo.model import NodeKind
from astrepo.graph.db import GraphDB
from astrepo.graph.schema import EDGE_TABLES, edge_columns, node_columns


def dump_graph(db: GraphDB) -> list[str]:
    """Every node with all its properties and every edge with its properties, sorted."""
    lines: list[str] = []
    for kind in NodeKind:
        cols = [c.name for c in node_columns(kind)]
        _, rows = db.execute(f"MATCH (n:{kind.value}) RETURN " + ", ".join(f"n.{c}" for c in cols))
        lines.extend(f"{kind.value} " + " | ".join(repr(v) for v in row) for row in rows)
    for kind, (pairs, _) in EDGE_TABLES.items():
        props = [c.name for c in edge_columns(kind)]
        ret = ", ".join(["a.id", "b.id"] + [f"r.{p}" for p in props])
        _, rows = db.execute(f"MATCH (a)-[r:{kind.value}]->(b) RETURN {ret}")
        lines.extend(f"{kind.value} " + " | ".join(repr(v) for v in row) for row in rows)
    lines.sort()
    return lines
