"""The index pipeline: discover, parse and extract per file, resolve across files, load.

A run is full (first run, ``--rebuild``, or an unusable previous state) or
incremental: only added and modified files are parsed, and cross-file edges
are re-resolved from every file's cached resolution inputs. A full run
bulk-loads a fresh database with COPY; an incremental one copies the current
database and applies the difference between the previous generation's rows
(graph/rowcache.py) and the new ones (graph/delta.py). Either way the new
generation is published atomically, an incremental run yields exactly the
graph of a full one, and an interrupted run leaves the previous graph in place.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from astrepo.discover import SourceFile, discover_files
from astrepo.errors import ConfigError, SchemaMismatch
from astrepo.facts import FACTS_VERSION
from astrepo.gcpause import free_in_background, gc_paused
from astrepo.index_state import STATE_VERSION, Changes, FileEntry, IndexState, detect_changes
from astrepo.layout import Layout, WriterLock
from astrepo.model import Severity
from astrepo.source import DEFAULT_MAX_BYTES
from astrepo.graph.store import GraphStore, check_schema

# What a run that finds every file unchanged needs is imported above; the rest of the pipeline
# (pyarrow, the analyzers, the loaders: ~0.3 s of a 0.5 s no-op run) in the functions using it.
if TYPE_CHECKING:
    from astrepo.analyzers.callgraph import ModuleInputs, Resolution
    from astrepo.graph.analysis_rows import ProjectAnalysis
    from astrepo.graph.generation import Preload
    from astrepo.graph.perfile import FileResult, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """What to index and how."""

    root: Path
    db_dir: Path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 0  #: worker processes; 0 means one per core
    rebuild: bool = False


@dataclass(slots=True)
class IndexSummary:
    """What an index run did."""

    root: str
    files: int = 0
    added: int = 0
    modified: int = 0
    deleted: int = 0
    unchanged: int = 0
    full: bool = False
    skipped: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    node_counts: dict[str, int] = field(default_factory=dict)
    edge_counts: dict[str, int] = field(default_factory=dict)
    calls: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: rows of traced runs loaded into the generation, and ``stale`` ones dropped (graph/join.py)
    runtime: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.added + self.modified + self.deleted

    @property
    def nodes(self) -> int:
        return sum(self.node_counts.values())

    @property
    def edges(self) -> int:
        return sum(self.edge_counts.values())


def build_index(config: IndexConfig, progress: Progress | None = None, keep: list | None = None) -> IndexSummary:
    """Index ``config.root`` into the database under ``config.db_dir``.

    ``keep``: for a caller that ends its process right after (the command line, with
    ``os._exit``): the run's working state is put there instead of being freed, and kept out
    of the garbage collector's way. Freeing Django's (the previous and the new index state,
    name resolution's memo tables) costs about a second of CPU that an ending process need not
    spend.

    Raises:
        ConfigError: the root is not a folder.
        IndexLocked: another process is writing this index.
        StoreError: the database could not be written.
    """
    root = config.root.resolve()
    if not root.is_dir():
        raise ConfigError(f"{config.root} is not a folder")
    layout = Layout(config.db_dir)
    store = GraphStore(layout)
    with WriterLock(layout), gc_paused(collect=keep is None):
        try:
            return _build_locked(config, root, layout, store, progress, keep)
        finally:
            # The caller ends its process next (also after an error or Ctrl-C): before the collector
            # is back, so that no collection walks the millions of objects the run made (seconds).
            if keep is not None:
                gc.freeze()


def _build_locked(config: IndexConfig, root: Path, layout: Layout, store: GraphStore,
                  progress: Progress | None, keep: list | None) -> IndexSummary:
    """The pipeline proper; the caller holds the writer lock (``keep``: see `build_index`)."""
    jobs = config.jobs or os.cpu_count() or 1
    summary = IndexSummary(root=str(root))
    started = time.perf_counter()
    # 1. Discover files and compare them with what the current graph holds.
    t = time.perf_counter()
    files = discover_files(root, config.include, config.exclude)
    usable = None if config.rebuild else _usable_state(store, root)
    previous, previous_counts = usable if usable else (None, {})
    changes = detect_changes(files, previous, {})
    old_global = None
    if previous is not None and (changes.to_parse or changes.deleted):
        from astrepo.graph.rowcache import load_global

        # The delta is computed against the previous generation's rows; without them, do a full run.
        old_global = load_global(store.current_path())  # type: ignore[arg-type]
        if old_global is None:
            previous, previous_counts = None, {}
            changes = detect_changes(files, None, {})
    full = previous is None
    summary.stage_seconds["discover"] = time.perf_counter() - t
    if progress:
        progress("discover", len(files), len(files))
    summary.files = len(files)
    summary.full = full
    summary.added, summary.modified = len(changes.added), len(changes.modified)
    summary.deleted, summary.unchanged = len(changes.deleted), len(changes.unchanged)
    if previous is not None and not changes.to_parse and not changes.deleted:
        _fill_from_state(summary, previous, previous_counts)
        if keep is not None:
            keep.append(previous)
        summary.seconds = time.perf_counter() - started
        return summary

    # 2. Parse and extract the files that need it (all of them on a full run); the workers go on
    #    analysing them while this process resolves (graph/perfile.py).
    from astrepo.graph.generation import (
        Preload, fill_generation, generation_tables, patch_generation, resolved_runtime_rows,
    )
    from astrepo.graph.perfile import PerFileStage

    t = time.perf_counter()
    to_parse = files if full else changes.to_parse
    stage = PerFileStage(to_parse, layout.facts_cache, config.max_bytes, jobs, progress)
    preload: Preload | None = None
    try:
        new_inputs = stage.inputs()
        summary.stage_seconds["parse"] = time.perf_counter() - t

        # 3. Resolve calls, imports and bases across all files, then the project-wide analyses.
        t = time.perf_counter()
        if progress:
            progress("resolve", 0, 1)
        inputs: dict[str, bytes] = {} if full else dict(previous.inputs)
        for path in changes.deleted:
            inputs.pop(path, None)
        inputs.update(new_inputs)
        # The new generation is begun in a thread (and on a full run, filled with every file's own
        # rows as soon as the workers have sent them: beside name resolution, on the other core).
        preload = Preload(store, full, stage.results, [f.path for f in files])
        decoded = stage.modules()  # the files parsed now; the others' inputs come from the state
        by_path = decoded if full else {p: decoded[p] if p in decoded else pickle.loads(inputs[p]) for p in inputs}
        del decoded
        # What resolution worked with is freed on a thread while Kuzu commits (graph/generation.py).
        scrap: list = []
        resolution, modules = resolve_modules(by_path, scrap)
        parsed = stage.results()
        runtime = None
        if full:  # the thread loads the resolution's rows beside the project-wide analyses
            runtime = resolved_runtime_rows(layout, [parsed.node_tables], resolution)
            preload.load_resolution(resolution, runtime)
    except BaseException:
        stage.close()  # first: the thread may be waiting for the workers' rows
        if preload is not None:
            preload.abandon()
        raise
    finally:
        stage.close()
    diagnostics: dict[str, list] = {} if full else dict(previous.diagnostics)
    # The files' analysis inputs, pickled in the state (an unchanged file's bytes are kept as they
    # are: writing the state costs no pickling of them) and decoded for the project-wide analyses.
    encoded: dict[str, bytes] = {} if full else dict(previous.analysis_inputs)
    analyses: dict[str, object] = {}
    for path in changes.deleted:
        diagnostics.pop(path, None)
        encoded.pop(path, None)
    for result in parsed.files:
        diagnostics[result.path] = result.diagnostics
        analyses[result.path] = result.analysis
        encoded[result.path] = pickle.dumps(result.analysis, protocol=pickle.HIGHEST_PROTOCOL)
    analyses.update((path, pickle.loads(data)) for path, data in encoded.items() if path not in analyses)
    try:
        project = analyze_modules(modules, resolution, analyses)
        # A full run's cross-file tables, while the thread may still be loading the files' rows.
        tables = generation_tables(parsed.node_tables, preload.resolved, project, runtime) \
            if full and preload.resolved is not None and runtime is not None else None
    except BaseException:
        preload.abandon()
        raise
    scrap.append((by_path, modules, analyses))
    del by_path, modules, analyses
    summary.stage_seconds["resolve"] = time.perf_counter() - t
    if progress:
        progress("resolve", 1, 1)

    # 4. Write a new generation of the graph and publish it.
    t = time.perf_counter()
    new_by_path = {f.path: f for f in parsed.files}
    if keep is not None and not full:  # a delta's commit is short: freeing would cost its time
        keep.append(scrap)
        scrap = []
    gen = preload.wait()
    del stage  # it holds the workers' results too (the preload thread, done now, read them from it)
    try:
        if full:
            node_counts, edge_counts, runtime = fill_generation(
                gen, layout, parsed.node_tables, parsed.edge_tables, resolution, project, progress,
                [f.path for f in files], preloaded=preload, runtime=runtime, scrap=scrap, tables=tables)
        else:
            # Deltas grow a database: past a limit (graph/store.py MAX_GROWTH) it is loaded in full.
            fresh_bytes, outgrown = store.growth(previous_counts.get("fresh_bytes"))
            node_counts, edge_counts, runtime = patch_generation(
                gen, layout, store.current_path(), old_global, previous_counts,  # type: ignore[arg-type]
                changes, parsed.node_tables, parsed.edge_tables, resolution, project, progress, scrap,
                reload=outgrown)
        state = IndexState(
            version=STATE_VERSION, facts_version=FACTS_VERSION, root=str(root),
            files={f.path: _entry(f, changes, new_by_path, previous) for f in files},
            inputs=inputs, diagnostics=diagnostics, analysis_inputs=encoded,
        )
        state_counts = {"nodes": node_counts, "edges": edge_counts, "calls": _call_stats(resolution),
                        "runtime": runtime.counts(), "fresh_bytes": None if gen.fresh else fresh_bytes}
        # The rest of the run's objects are freed while the reach index reads the database.
        scrap.append((resolution, project, parsed, new_by_path))
        del resolution, project, parsed, new_by_path
        if keep is not None:
            keep.extend((scrap, state, previous))
            scrap = []
        freeing = free_in_background(scrap) if scrap else None
        store.publish(gen, (state, state_counts), wait=keep is None)
        if freeing is not None:
            freeing.join()
    except BaseException:
        store.discard(gen)
        raise
    summary.stage_seconds["load"] = time.perf_counter() - t
    summary.node_counts, summary.edge_counts = node_counts, edge_counts
    summary.calls = state_counts["calls"]
    summary.runtime = state_counts["runtime"]
    _fill_diagnostics(summary, diagnostics)
    summary.seconds = time.perf_counter() - started
    return summary


@gc_paused()
def republish_current(layout: Layout, store: GraphStore) -> dict[str, int] | None:
    """Publish a new generation holding the current one's rows plus every ingested run's.

    What an index run with no changed files would load. Only the runtime rows
    change, and every other cross-file row is kept with the current generation
    (graph/rowcache.py), so the new generation is a copy of the current one
    patched with the difference (graph/delta.py): no project to derive again.
    Without usable kept rows, or when the difference deletes many nodes, it
    is loaded in full instead. The caller holds the writer lock. Returns the
    runtime counts, or None when there is no usable current generation (run
    ``astrepo index`` first).
    """
    from astrepo.graph.generation import fill_generation, publish_republished, republish_delta
    from astrepo.graph.rowcache import load_global, load_rows

    current = store.current_path()
    loaded = store.read_state() if current is not None else None
    if not isinstance(loaded, tuple) or len(loaded) != 2 or not isinstance(loaded[0], IndexState):
        return None
    state, counts = loaded
    kept = load_rows(current, [])
    if kept is None:
        return None
    node_rows, edge_rows = kept
    old_global = load_global(current)  # type: ignore[arg-type]
    if old_global is not None:
        patched = republish_delta(layout, store, current, state, counts, node_rows, old_global)  # type: ignore[arg-type]
        if patched is not None:
            return patched
    resolution, project = derive_project(state.inputs, state.analysis_inputs)
    return publish_republished(store, store.begin(), state, counts, lambda gen: fill_generation(
        gen, layout, node_rows, edge_rows, resolution, project, None, sorted(state.files)))


def _usable_state(store: GraphStore, root: Path) -> tuple[IndexState, dict] | None:
    """The previous run's state and counts, if an incremental run can build on it."""
    current = store.current_path()
    if current is None:
        return None
    try:
        check_schema(current, store.layout.root)  # an incremental run patches a copy of this database
    except SchemaMismatch:
        return None
    loaded = store.read_state()
    if not isinstance(loaded, tuple) or len(loaded) != 2:
        return None
    state, counts = loaded
    if (not isinstance(state, IndexState) or state.version != STATE_VERSION
            or state.facts_version != FACTS_VERSION or state.root != str(root)):
        return None
    return state, counts


def _entry(f: SourceFile, changes: Changes, new_by_path: dict[str, FileResult],
           previous: IndexState | None) -> FileEntry:
    size, mtime = changes.stats.get(f.path, (-1, -1))
    facts = new_by_path.get(f.path)
    if facts is not None:
        return FileEntry(facts.hash, size, mtime, f.module)
    old = previous.files[f.path] if previous else None
    return FileEntry(old.hash if old else "", size, mtime, f.module)


def derive_project(inputs: dict[str, bytes], analyses: dict[str, bytes]) -> tuple[Resolution, ProjectAnalysis]:
    """Everything computed over all files: name resolution, then the project-wide analyses.

    ``inputs`` and ``analyses`` hold each file's pickled `ModuleInputs` and analysis inputs (as
    `IndexState` keeps them).
    """
    resolution, modules = resolve_modules({path: pickle.loads(data) for path, data in inputs.items()})
    return resolution, analyze_modules(modules, resolution, {p: pickle.loads(d) for p, d in analyses.items()})


def resolve_modules(modules: dict[str, ModuleInputs],
                    scrap: list | None = None) -> tuple[Resolution, list[ModuleInputs]]:
    """Name resolution over every file's `ModuleInputs` (by path); also returns them in path order.
    ``scrap``: see `resolve_project`."""
    from astrepo.analyzers.callgraph import resolve_project

    ordered = [modules[p] for p in sorted(modules)]
    return resolve_project(ordered, scrap), ordered


def analyze_modules(modules: list[ModuleInputs], resolution: Resolution,
                    analyses: dict[str, object]) -> ProjectAnalysis:
    """The project-wide analyses (exception propagation, fan-in/out, PageRank, flows) over the call graph."""
    from astrepo.graph.analysis_rows import analyze_project

    return analyze_project([analyses[p] for p in sorted(analyses)], resolution.edges, modules)  # type: ignore[misc]


def _call_stats(resolution: Resolution) -> dict[str, object]:
    return {
        "resolved": resolution.resolved_calls,
        "external": resolution.external_calls,
        "unresolved": sum(resolution.unresolved.values()),
        "unresolved_reasons": dict(resolution.unresolved.most_common()),
    }


def _fill_from_state(summary: IndexSummary, state: IndexState, counts: dict) -> None:
    summary.node_counts = dict(counts.get("nodes", {}))
    summary.edge_counts = dict(counts.get("edges", {}))
    summary.calls = dict(counts.get("calls", {}))
    summary.runtime = dict(counts.get("runtime", {}))
    _fill_diagnostics(summary, state.diagnostics)


def _fill_diagnostics(summary: IndexSummary, diagnostics: dict[str, list]) -> None:
    for path in sorted(diagnostics):
        for d in diagnostics[path]:
            row = {"path": d.path, "line": d.line, "message": d.message}
            if d.severity is Severity.SKIPPED:
                summary.skipped.append(row)
            elif d.severity is Severity.ERROR:
                summary.errors.append(row)
            else:
                summary.warnings.append(row)
