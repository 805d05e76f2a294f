"""``astrepo show FILE|NAME``: the source with a run's recorded values and counts overlaid."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION, layout_for


def show(
    target: str = typer.Argument(..., help="A project file (repo-relative) or a function's (dotted) name."),
    run: Optional[str] = typer.Option(None, "--run", help="Run id or a unique prefix (default: the latest)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Print TARGET's source: per line how often it ran (`!` never), last values, exceptions."""
    import sys

    from astrepo.cli.render import emit_json
    from astrepo.errors import ConfigError
    from astrepo.graph.ingest import resolve_run
    from astrepo.graph.report import build_overlay, overlay_json, render_text, select_lines

    run_id = resolve_run(db, run)
    path, span = _resolve_target(db, run_id, target)
    overlay = build_overlay(db, run_id, path)
    if span is not None:
        overlay.files = [select_lines(f, *span) for f in overlay.files]
    if not overlay.files:
        raise ConfigError(f"run {run_id} recorded nothing for {target}")
    if as_json:
        emit_json(overlay_json(overlay))
        return
    sys.stdout.write("\n".join(render_text(overlay)) + "\n")


def _resolve_target(db: Path, run_id: str, target: str) -> tuple[str, tuple[int, int] | None]:
    """(repo-relative file, optional line span) for a file path or a function name."""
    from astrepo.errors import AstrepoError, ConfigError
    from astrepo.graph.join import read_run_table

    stats = read_run_table(db, run_id, "RuntimeStat")
    files = sorted(set(stats.column("file").to_pylist())) if stats is not None else []
    wanted = target.replace("\\", "/").removeprefix("./")
    if wanted in files:
        return wanted, None
    tails = [f for f in files if f.endswith("/" + wanted)]
    if len(tails) == 1:
        return tails[0], None
    if wanted.endswith(".py"):
        raise ConfigError(f"run {run_id} recorded nothing in {target} (files: {', '.join(files[:8]) or 'none'})")
    from astrepo.graph.read import run_cypher

    try:
        _, rows = run_cypher(layout_for(db), "MATCH (f:Function) WHERE f.name = $n OR f.name ENDS WITH $tail "
                             "RETURN f.name AS name, f.file AS file, f.start_line AS a, f.end_line AS b "
                             "ORDER BY f.name", {"n": target, "tail": "." + target})
    except AstrepoError as err:
        raise ConfigError(f"{target} is not a recorded file, and names need the index: {err}") from err
    if not rows:
        raise ConfigError(f"no function or file named {target!r} (recorded files: {', '.join(files[:8]) or 'none'})")
    exact = [r for r in rows if r["name"] == target]
    rows = exact or rows
    if len(rows) > 1:
        raise ConfigError(f"{target!r} is ambiguous: {', '.join(r['name'] for r in rows[:6])}")
    return rows[0]["file"], (rows[0]["a"], rows[0]["b"])


def register(app: typer.Typer) -> None:
    app.command("show")(show)
