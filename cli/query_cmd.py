"""``astrepo query``: questions about the code, or raw read-only Cypher."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION, layout_for
from astrepo.cli.render import emit_json, print_table


def query(
    text: Optional[str] = typer.Argument(None, help='A question, e.g. "callers of place_order".'),
    cypher: Optional[str] = typer.Option(None, "--cypher", help="Run this read-only Cypher instead."),
    explain: bool = typer.Option(False, "--explain", help="Also show the Cypher the question compiled to."),
    llm: bool = typer.Option(False, "--llm", help="Let the configured LLM translate a question that does not parse "
                                                  "(ASTREPO_LLM_BASE_URL, ASTREPO_LLM_MODEL; never on by default)."),
    db: Path = DB_OPTION,
    limit: int = typer.Option(0, "--limit", help="At most this many rows (0: all)."),
    run: Optional[str] = typer.Option(None, "--run", help="Traced run for runtime questions (default: the latest)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Answer a question about the code (see the README for the phrases), or run --cypher."""
    from astrepo.errors import QueryError

    if cypher is not None:
        from astrepo.graph.read import run_cypher

        columns, rows = run_cypher(layout_for(db), cypher)
        rows = rows[:limit] if limit else rows
        if as_json:
            emit_json({"columns": columns, "rows": rows})
        else:
            print_table(None, columns, [[r[c] for c in columns] for r in rows])
        return
    if not text:
        raise QueryError('give a question, e.g. astrepo query "callers of NAME", or --cypher "MATCH ..."')
    from astrepo.graph.query import parse_query, run_query

    question: object = text
    translated_from = None
    if llm:
        try:
            question = parse_query(text)
        except QueryError:
            from astrepo.llm import llm_config
            from astrepo.graph.query.llm import translate_question

            question = translate_question(text, llm_config(str(db)))  # type: ignore[arg-type]
            translated_from = text
            if not as_json:
                from astrepo.cli.render import console

                console(stderr=True).print(f"[cyan]translated to:[/] {question.text}")
    result = run_query(question, db, limit, run)  # type: ignore[arg-type]
    if as_json:
        document = {"query": result.query, "rows": [r.as_dict() for r in result.rows]}
        if translated_from is not None:
            document["translated_from"] = translated_from
        if explain:
            document["cypher"] = [{"query": q, "parameters": p} for q, p in result.cypher]
        emit_json(document)
        return
    if explain:
        from astrepo.cli.render import console

        err = console(stderr=True)
        for q, p in result.cypher:
            err.print(f"[dim]{q}[/]  [cyan]{p}[/]")
    print_table(f"{result.query} ({len(result.rows)} rows)", ["name", "kind", "where", "why"],
                [[r.name, r.kind, f"{r.file}:{r.line}" if r.file else "", "; ".join(r.why)] for r in result.rows])


def register(app: typer.Typer) -> None:
    app.command("query")(query)
