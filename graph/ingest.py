"""Ingesting a traced run: join its segments, save the rows, publish a generation with them.

The library side of what ``astrepo trace`` does after the command ends (and
of ``astrepo report`` for runs not ingested yet). Everything that writes
happens under the writer lock.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from astrepo.capture.events import list_runs
from astrepo.errors import ConfigError
from astrepo.layout import Layout, WriterLock
from astrepo.graph.build import republish_current
from astrepo.graph.join import RunInfo, join_run, list_ingested, node_index_from_rows, save_run_rows
from astrepo.graph.rowcache import load_rows
from astrepo.graph.store import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one run did."""

    run: str
    rows_dir: str
    summary: dict  #: the run's summary (graph/join.py)
    published: bool  #: a new generation holds it; False when there is no index yet
    runtime: dict  #: runtime row counts of the new generation (stale ones included)


def ingest_run(db_dir: Path, run: str, info: RunInfo | None = None) -> IngestResult:
    """Join run ``run`` (under ``<db>/events``) and publish a generation holding it.

    Raises:
        ConfigError: no such run.
        IndexLocked: another process is writing the index.
    """
    layout = Layout(Path(db_dir))
    run_dir = layout.events_dir / run
    if not run_dir.is_dir():
        raise ConfigError(f"no run {run!r} under {layout.events_dir}")
    store = GraphStore(layout)
    with WriterLock(layout):
        current = store.current_path()
        kept = load_rows(current, []) if current is not None else None
        index = node_index_from_rows(kept[0]) if kept is not None else None
        rows = join_run(str(run_dir), info, index)
        path = save_run_rows(layout.root, rows)
        runtime = republish_current(layout, store)
    if runtime is None:
        log.info("no index at %s yet: run %s is kept and loaded by the next `astrepo index`", layout.root, run)
    return IngestResult(run, str(path), rows.summary, runtime is not None, runtime or {})


def resolve_run(db_dir: Path, run: str | None) -> str:
    """The id of an ingested run: ``run`` itself, a unique prefix of one, or the latest."""
    runs = [r["id"] for r in list_ingested(Path(db_dir))]
    if not runs:
        raw = list_runs(os.path.join(str(db_dir), "events"))
        hint = f" (recorded but not ingested: {raw[-1]}; run `astrepo report --run {raw[-1]}`)" if raw else ""
        raise ConfigError(f"no ingested runs under {db_dir}{hint}: run `astrepo trace -- python app.py` first")
    if run is None:
        return runs[-1]
    if run in runs:
        return run
    matches = [r for r in runs if r.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"run {run!r} is ambiguous: {', '.join(matches[:5])}")
    raise ConfigError(f"no ingested run {run!r} under {db_dir} (latest: {runs[-1]})")
