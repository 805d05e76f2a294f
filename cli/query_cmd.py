"""``astrepo query``: questions about the graph (``--cypher`` for raw read-only Cypher)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION, layout_for
from astrepo.cli.render import emit_json, print_table


def query(
    text: Optional[str] = typer.Argument(None, help="A question, e.g. \"callers of X\"."),
    cypher: Optional[str] = typer.Option(None, "--cypher", help="Run this read-only Cypher instead."),
    db: Path = DB_OPTION,
    limit: int = typer.Option(0, "--limit", help="At most this many rows (0: all)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Answer a question about the code, or run raw Cypher with --cypher."""
    from astrepo.errors import QueryError
    from astrepo.graph.read import run_cypher

    if cypher is None:
        raise QueryError("only --cypher \"MATCH ...\" queries are supported so far")
    columns, rows = run_cypher(layout_for(db), cypher)
    if limit:
        rows = rows[:limit]
    if as_json:
        emit_json({"columns": columns, "rows": rows})
        return
    print_table(None, columns, [[r[c] for c in columns] for r in rows])


def register(app: typer.Typer) -> None:
    app.command("query")(query)
