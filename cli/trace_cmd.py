"""``astrepo trace``: run a command with runtime capture, ingest what it recorded; its exit code passes through."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from astrepo.cli.options import DB_OPTION


def trace(
    ctx: typer.Context,
    command: Optional[List[str]] = typer.Argument(None, help="The command, after --."),
    plan: Optional[Path] = typer.Option(None, "--plan", help="Instrumentation plan (JSON, from astrepo plan)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="minimal | balanced | full_trace (without --plan)."),
    db: Path = DB_OPTION,
    root: Path = typer.Option(Path("."), "--root", help="Project root: only modules under it are instrumented."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the run's report as one HTML page."),
    no_ingest: bool = typer.Option(False, "--no-ingest", help="Only record; do not join the events into the graph."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line on stderr."),
) -> int:
    """Run COMMAND (e.g. `-- python app.py`, `-- python -m pytest`) and record what happens."""
    import shlex
    import sys

    from astrepo.capture.run import run_traced
    from astrepo.errors import AstrepoError, ConfigError

    if plan is not None and strategy is not None:
        raise ConfigError("give either --plan or --strategy, not both")
    args = list(command or []) + list(ctx.args)
    if plan is None and strategy is not None:  # with an index, the planner decides (issue 7)
        from astrepo.capture.plan import plan_for_trace

        planned = plan_for_trace(str(db), str(root), strategy)
        if planned is not None:
            plan, strategy = Path(planned), None
    result = run_traced(args, str(root), str(db), str(plan) if plan else None, strategy)
    note = f"events in {result.events_dir}"
    if not no_ingest:
        from astrepo.graph.ingest import ingest_run
        from astrepo.graph.join import RunInfo

        info = RunInfo(command=shlex.join(args), root=str(root.resolve()),
                       strategy=_plan_strategy(plan) if plan else (strategy or "balanced"),
                       plan=str(plan) if plan else "", exit_code=result.exit_code, duration_s=result.seconds)
        try:
            ingested = ingest_run(db, result.run_id, info)
            s = ingested.summary
            note = (f"{s['events']:,} events, {s['calls']:,} calls, {s['exceptions']:,} exceptions"
                    + ("" if ingested.published else " (no index yet: joined at the next `astrepo index`)"))
            if html is not None:
                from astrepo.graph.report import write_html_report

                write_html_report(db, result.run_id, html)
                note += f", report {html}"
        except AstrepoError as err:  # the command's exit code still wins
            sys.stderr.write(f"astrepo: run {result.run_id} recorded but not ingested: {err}\n")
    if not quiet:
        sys.stderr.write(f"astrepo: trace {result.run_id}: exit {result.exit_code}, "
                         f"{result.seconds:.2f} s, {note}\n")
    return result.exit_code


def _plan_strategy(plan: Path) -> str:
    """The strategy a plan file was made for (its ``strategy`` field)."""
    from astrepo.capture.points import plan_from_json

    try:
        return plan_from_json(plan.read_text(encoding="utf-8")).strategy
    except (OSError, ValueError):
        return ""


def register(app: typer.Typer) -> None:
    app.command("trace", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(trace)
