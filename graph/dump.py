"""A normalised text dump of a whole graph: one sorted line per node and per edge.

Two graphs are equal exactly when their dumps are; tests compare an
incremental index with a full rebuild this way.
"""

from __future__ import annotations

from astrepo.model import NodeKind
from astrepo.graph.db import GraphDB
from astrepo.graph.schema import EDGE_TABLES, RUNTIME_EDGE_TABLES, RUNTIME_NODE_TABLES, edge_columns, node_columns


def dump_graph(db: GraphDB) -> list[str]:
    """Every node with all its properties and every edge with its properties, sorted (the rows of
    ingested runs too)."""
    lines: list[str] = []
    node_tables = [(k.value, [c.name for c in node_columns(k)]) for k in NodeKind]
    node_tables += [(name, [c.name for c in cols]) for name, cols in RUNTIME_NODE_TABLES.items()]
    for name, cols in node_tables:
        _, rows = db.execute(f"MATCH (n:{name}) RETURN " + ", ".join(f"n.{c}" for c in cols))
        lines.extend(f"{name} " + " | ".join(repr(v) for v in row) for row in rows)
    edge_tables = [(k.value, [c.name for c in edge_columns(k)]) for k in EDGE_TABLES]
    edge_tables += [(name, [c.name for c in cols]) for name, (_, cols) in RUNTIME_EDGE_TABLES.items()]
    for name, props in edge_tables:
        ret = ", ".join(["a.id", "b.id"] + [f"r.{p}" for p in props])
        _, rows = db.execute(f"MATCH (a)-[r:{name}]->(b) RETURN {ret}")
        lines.extend(f"{name} " + " | ".join(repr(v) for v in row) for row in rows)
    lines.sort()
    return lines
