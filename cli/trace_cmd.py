"""``astrepo trace``: run a command with runtime capture; its exit code passes through."""

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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line on stderr."),
) -> int:
    """Run COMMAND (e.g. `-- python app.py`, `-- python -m pytest`) and record what happens."""
    import sys

    from astrepo.capture.run import run_traced
    from astrepo.errors import ConfigError

    if plan is not None and strategy is not None:
        raise ConfigError("give either --plan or --strategy, not both")
    args = list(command or []) + list(ctx.args)
    result = run_traced(args, str(root), str(db), str(plan) if plan else None, strategy)
    if not quiet:
        sys.stderr.write(f"astrepo: trace {result.run_id}: exit {result.exit_code}, "
                         f"{result.seconds:.2f} s, events in {result.events_dir}\n")
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command("trace", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(trace)
