"""``astrepo events``: what traces recorded, filtered by kind, function, run and time."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION


def events(
    kind: Optional[str] = typer.Option(None, "--kind", help="call | return | exception | caught | line | branch | value | variable"),
    function: Optional[str] = typer.Option(None, "--function", help="Only events in this function (qualified name or its tail)."),
    run: Optional[str] = typer.Option(None, "--run", help="Run id or a unique prefix (default: the latest; with --since: every run)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only events at or after T: 10m, 2h, 1d, an ISO time, or epoch seconds."),
    count: bool = typer.Option(False, "--count", help="Only count the matching events (per kind)."),
    limit: int = typer.Option(50, "--limit", help="At most this many events (0: all)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List (or count) the events of traced runs."""
    import os
    import time
    from collections import Counter

    from astrepo.capture.events import EVENT_KINDS, filter_events, iter_run, list_runs, parse_since, since_events
    from astrepo.cli.render import emit_json, print_table
    from astrepo.errors import ConfigError

    if kind is not None and kind not in EVENT_KINDS:
        raise ConfigError(f"unknown event kind {kind!r}: use one of {', '.join(EVENT_KINDS)}")
    since_ns = None
    if since is not None:
        try:
            since_ns = parse_since(since, time.time_ns())
        except ValueError as err:
            raise ConfigError(str(err)) from err
    events_root = os.path.join(str(db), "events")
    runs = list_runs(events_root)
    if not runs:
        raise ConfigError(f"no traces under {events_root}: run `astrepo trace -- python app.py` first")
    if run is not None:
        matches = [r for r in runs if r == run] or [r for r in runs if r.startswith(run)]
        if not matches:
            raise ConfigError(f"no run {run!r} under {events_root} (latest: {runs[-1]})")
        if len(matches) > 1:
            raise ConfigError(f"run {run!r} is ambiguous: {', '.join(matches[:5])}")
        chosen = matches
    else:
        chosen = runs if since_ns is not None else runs[-1:]
    # Events stream from the segments: only the ones shown are kept (a run may hold millions).
    shown = []
    per_kind: Counter = Counter()
    used = []
    stats: Counter = Counter()
    for run_id in chosen:
        summary, run_events = iter_run(os.path.join(events_root, run_id))
        if since_ns is not None:
            if summary.end_ns and summary.end_ns < since_ns:
                continue
            run_events = since_events(run_events, since_ns)
        for e in filter_events(run_events, kind, function):
            per_kind[e.kind] += 1
            if not count and (not limit or len(shown) < limit):
                shown.append(e)
        stats.update(summary.stats)
        used.append(run_id)
    chosen = used
    total = sum(per_kind.values())
    label = chosen[0] if len(chosen) == 1 else f"{len(chosen)} runs"
    if count:
        by_kind = dict(sorted(per_kind.items()))
        if as_json:
            emit_json({"run": label, "runs": chosen, "count": total, "by_kind": by_kind, "stats": dict(stats)})
        else:
            print_table(f"run {label}", ["kind", "events"], [[k, f"{v:,}"] for k, v in by_kind.items()]
                        + [["total", f"{total:,}"]])
        return
    if as_json:
        emit_json({"run": label, "runs": chosen, "count": total, "events": [e.to_json() for e in shown]})
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
    print_table(f"run {label}: {len(shown)} of {total} events",
                ["kind", "name", "where", "detail", "duration", "call"], rows)


def register(app: typer.Typer) -> None:
    app.command("events")(events)
