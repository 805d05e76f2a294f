"""The question language over the graph, and its Python API.

>>> from astrepo.graph.query import run_query
>>> result = run_query("callers of place_order", db=".astrepo")  # doctest: +SKIP
>>> [row.name for row in result.rows]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from astrepo.layout import Layout
from astrepo.graph.query.engine import QueryEngine, QueryResult, Row
from astrepo.graph.query.grammar import Query, parse_query
from astrepo.graph.store import GraphStore

__all__ = ["QueryEngine", "QueryResult", "Row", "open_engine", "parse_query", "run_query"]


def open_engine(db: str | Path = ".astrepo") -> QueryEngine:
    """An engine on the published graph under ``db``, for many questions (close ``engine.db`` when done)."""
    layout = Layout(Path(db))
    return QueryEngine(GraphStore(layout).open_read(), layout)


def run_query(text: "str | Query", db: str | Path = ".astrepo", limit: int = 0,
              run: str | None = None) -> QueryResult:
    """Answer one question on the graph under ``db`` (runtime questions: ``run``, default the latest)."""
    engine = open_engine(db)
    try:
        return engine.answer(text, limit, run)
    finally:
        engine.db.close()
