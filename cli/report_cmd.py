"""``astrepo report``: the ingested runs, and one self-contained HTML page per run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION


def report(
    html: Optional[Path] = typer.Option(None, "--html", help="Write the run's page to this file."),
    run: Optional[str] = typer.Option(None, "--run", help="Run id or a unique prefix (default: the latest)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List the ingested runs; with --html, write one run's report page (ingesting it first if needed)."""
    import os
    import sys

    from astrepo.capture.events import list_runs
    from astrepo.cli.render import emit_json, print_table
    from astrepo.graph.ingest import ingest_run, resolve_run
    from astrepo.graph.join import list_ingested

    ingested = {r["id"] for r in list_ingested(db)}
    if run is not None and run not in ingested and run in list_runs(os.path.join(str(db), "events")):
        ingest_run(db, run)  # recorded (e.g. with --no-ingest, or while the index was locked)
    if html is not None:
        from astrepo.graph.report import write_html_report

        run_id = resolve_run(db, run)
        write_html_report(db, run_id, html)
        if as_json:
            emit_json({"run": run_id, "html": str(html)})
        else:
            sys.stderr.write(f"astrepo: report of run {run_id} written to {html}\n")
        return
    runs = list_ingested(db)
    if as_json:
        emit_json({"runs": runs})
        return
    print_table("ingested runs", ["run", "command", "exit", "seconds", "events", "calls", "exceptions", "strategy"],
                [[r["id"], r.get("command", ""), r.get("exit_code"), f"{r.get('duration_s', 0):.2f}",
                  f"{r.get('events', 0):,}", f"{r.get('calls', 0):,}", r.get("exceptions", 0), r.get("strategy", "")]
                 for r in runs])


def register(app: typer.Typer) -> None:
    app.command("report")(report)
