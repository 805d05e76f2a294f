"""``astrepo events``: what a trace recorded, filtered."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION


def events(
    kind: Optional[str] = typer.Option(None, "--kind", help="call | return | exception | caught | line | branch | value | variable"),
    function: Optional[str] = typer.Option(None, "--function", help="Only events in this function (qualified name or its tail)."),
    run: Optional[str] = typer.Option(None, "--run", help="Run id (default: the latest)."),
    count: bool = typer.Option(False, "--count", help="Only count the matching events (per kind)."),
    limit: int = typer.Option(50, "--limit", help="At most this many events (0: all)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List (or count) the events of a traced run."""
    import os
    from collections import Counter

    from astrepo.capture.events import EVENT_KINDS, filter_events, list_runs, read_run
    from astrepo.cli.render import emit_json, print_table
    from astrepo.errors import ConfigError

    if kind is not None and kind not in EVENT_KINDS:
        raise ConfigError(f"unknown event kind {kind!r}: use one of {', '.join(EVENT_KINDS)}")
    events_root = os.path.join(str(db), "events")
    runs = list_runs(events_root)
    if not runs:
        raise ConfigError(f"no traces under {events_root}: run `astrepo trace -- python app.py` first")
    run_id = run or runs[-1]
    if run_id not in runs:
        raise ConfigError(f"no run {run_id!r} under {events_root} (latest: {runs[-1]})")
    all_events, summary = read_run(os.path.join(events_root, run_id))
    selected = filter_events(all_events, kind, function)
    if count:
        per_kind = dict(sorted(Counter(e.kind for e in selected).items()))
        if as_json:
            emit_json({"run": run_id, "count": len(selected), "by_kind": per_kind, "stats": summary.stats})
        else:
            print_table(f"run {run_id}", ["kind", "events"], [[k, f"{v:,}"] for k, v in per_kind.items()]
                        + [["total", f"{len(selected):,}"]])
        return
    shown = selected[:limit] if limit else selected
    if as_json:
        emit_json({"run": run_id, "count": len(selected), "events": [e.to_json() for e in shown]})
        return
    rows = []
    for e in shown:
        detail = ""
        if "args" in e.data:
            detail = ", ".join(a["repr"] for a in e.data["args"])
        elif "value" in e.data:
            detail = e.data["value"]["repr"]
        elif "exc_type" in e.data:
            detail = f"{e.data['exc_type']}: {e.data['message']}"
        elif "values" in e.data:
            detail = ", ".join(f"{k}={v['repr']}" for k, v in e.data["values"].items())
        elif "taken" in e.data:
            detail = "taken" if e.data["taken"] else "not taken"
        dur = f"{e.duration_ns / 1e3:.1f} us" if e.duration_ns is not None else ""
        rows.append([e.kind, e.name, f"{e.path}:{e.line}", detail[:80], dur, e.call_id])
    print_table(f"run {run_id}: {len(shown)} of {len(selected)} events",
                ["kind", "name", "where", "detail", "duration", "call"], rows)


def register(app: typer.Typer) -> None:
    app.command("events")(events)
