"""Read-only access to the published graph: raw Cypher and table counts."""

from __future__ import annotations

import re
from typing import Any

from astrepo.errors import QueryError, StoreError
from astrepo.layout import Layout
from astrepo.graph.db import GraphDB
from astrepo.graph.schema import EDGE_TABLES
from astrepo.model import NodeKind
from astrepo.graph.store import GraphStore

_WRITE_CLAUSES = re.compile(r"\b(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|DROP|ALTER|COPY|INSTALL|LOAD|ATTACH|IMPORT|EXPORT|CHECKPOINT)\b",
                            re.IGNORECASE)


def run_cypher(layout: Layout, query: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """Run read-only Cypher on the published graph; rows come back as column->value dicts.

    The database is opened read-only, so a write fails in Kuzu itself; the
    keyword check before it only gives a clearer message.
    """
    if _WRITE_CLAUSES.search(_strip_strings(query)):
        raise QueryError("--cypher runs read-only queries; this one would modify the graph")
    db = GraphStore(layout).open_read()
    try:
        try:
            columns, rows = db.execute(query, params)
        except StoreError as err:
            raise QueryError(str(err).split(": ", 1)[-1]) from err
    finally:
        db.close()
    return columns, [dict(zip(columns, row)) for row in rows]


def graph_counts(layout: Layout) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per node table and per relationship table of the published graph."""
    db = GraphStore(layout).open_read()
    try:
        return count_tables(db)
    finally:
        db.close()


def _strip_strings(query: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", query)


def count_tables(db: GraphDB) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per node table and per relationship table."""
    nodes = {k.value: int(db.scalar(f"MATCH (n:{k.value}) RETURN count(*)") or 0) for k in NodeKind}
    edges = {k.value: int(db.scalar(f"MATCH ()-[r:{k.value}]->() RETURN count(*)") or 0) for k in EDGE_TABLES}
    return nodes, edges
