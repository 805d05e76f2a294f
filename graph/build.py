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

import logging
import os
import pickle
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from astrepo.discover import SourceFile, discover_files
from astrepo.errors import ConfigError, SchemaMismatch, StoreError
from astrepo.facts import FACTS_VERSION
from astrepo.gcpause import gc_paused
from astrepo.index_state import STATE_VERSION, Changes, FileEntry, IndexState, detect_changes
from astrepo.layout import Layout, WriterLock
from astrepo.model import NodeKind, Severity
from astrepo.source import DEFAULT_MAX_BYTES
from astrepo.analyzers.callgraph import ModuleInputs, Resolution, resolve_project
from astrepo.graph.analysis_rows import (
    PROJECT_FUNCTION_COLUMNS, ProjectAnalysis, analyze_project, dedupe_exception_types, join_function_columns,
)
from astrepo.graph.db import GraphDB
from astrepo.graph.delta import Delta, apply_delta, diff_edges, diff_nodes
from astrepo.graph.join import RuntimeRows, load_runtime_rows, runs_dir
from astrepo.graph.load import PATH_COLUMN, edges_to_arrow, load_arrow, nodes_to_arrow
from astrepo.graph.perfile import FileResult, ParsedFiles, PerFileStage
from astrepo.graph.read import count_tables
from astrepo.graph.rowcache import extend_rows, link_rows, load_global, load_rows, save_global, save_rows
from astrepo.graph.schema import EDGE_TABLES, RUNTIME_EDGE_TABLES, RUNTIME_NODE_TABLES, node_columns
from astrepo.graph.store import Generation, GraphStore, check_schema

log = logging.getLogger(__name__)

#: (stage, done, total): called as work advances; stage is one of
#: "discover", "parse", "resolve", "load".
Progress = Callable[[str, int, int], None]

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


def build_index(config: IndexConfig, progress: Progress | None = None) -> IndexSummary:
    """Index ``config.root`` into the database under ``config.db_dir``.

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
    with WriterLock(layout), gc_paused():
        return _build_locked(config, root, layout, store, progress)


def _build_locked(config: IndexConfig, root: Path, layout: Layout, store: GraphStore,
                  progress: Progress | None) -> IndexSummary:
    """The pipeline proper; the caller holds the writer lock."""
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
        summary.seconds = time.perf_counter() - started
        return summary

    # 2. Parse and extract the files that need it (all of them on a full run); the workers go on
    #    analysing them while this process resolves (graph/perfile.py).
    t = time.perf_counter()
    to_parse = files if full else changes.to_parse
    stage = PerFileStage(to_parse, layout.facts_cache, config.max_bytes, jobs, progress)
    preload: _Preload | None = None
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
        preload = _Preload(store, full, stage.results, [f.path for f in files])
        resolution, modules = resolve_inputs(inputs)
        parsed = stage.results()
        runtime = None
        if full:  # the thread loads the resolution's rows beside the project-wide analyses
            runtime = _resolved_runtime_rows(layout, [parsed.node_tables], resolution)
            preload.load_resolution(resolution, runtime)
    except BaseException:
        stage.close()  # first: the thread may be waiting for the workers' rows
        if preload is not None:
            preload.abandon()
        raise
    finally:
        stage.close()
    diagnostics: dict[str, list] = {} if full else dict(previous.diagnostics)
    analyses: dict[str, object] = {} if full else dict(previous.analysis_inputs)
    for path in changes.deleted:
        diagnostics.pop(path, None)
        analyses.pop(path, None)
    for result in parsed.files:
        diagnostics[result.path] = result.diagnostics
        analyses[result.path] = result.analysis
    try:
        project = analyze_modules(modules, resolution, analyses)
    except BaseException:
        preload.abandon()
        raise
    summary.stage_seconds["resolve"] = time.perf_counter() - t
    if progress:
        progress("resolve", 1, 1)

    # 4. Write a new generation of the graph and publish it.
    t = time.perf_counter()
    new_by_path = {f.path: f for f in parsed.files}
    gen = preload.wait()
    try:
        if full:
            node_counts, edge_counts, runtime = _fill_generation(
                gen, layout, parsed.node_tables, parsed.edge_tables, resolution, project, progress,
                [f.path for f in files], preloaded=preload, runtime=runtime)
        else:
            node_counts, edge_counts, runtime = _patch_generation(
                gen, layout, store.current_path(), old_global, previous_counts,  # type: ignore[arg-type]
                changes, parsed.node_tables, parsed.edge_tables, resolution, project, progress)
        state = IndexState(
            version=STATE_VERSION, facts_version=FACTS_VERSION, root=str(root),
            files={f.path: _entry(f, changes, new_by_path, previous) for f in files},
            inputs=inputs, diagnostics=diagnostics, analysis_inputs=analyses,
        )
        state_counts = {"nodes": node_counts, "edges": edge_counts, "calls": _call_stats(resolution),
                        "runtime": runtime.counts()}
        store.publish(gen, (state, state_counts))
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
        patched = _republish_delta(layout, store, current, state, counts, node_rows, old_global)  # type: ignore[arg-type]
        if patched is not None:
            return patched
    resolution, project = derive_project(state.inputs, state.analysis_inputs)
    gen = store.begin()
    try:
        node_counts, edge_counts, runtime = _fill_generation(gen, layout, node_rows, edge_rows, resolution,
                                                             project, None, sorted(state.files))
        new_counts = dict(counts, nodes=node_counts, edges=edge_counts, runtime=runtime.counts())
        store.publish(gen, (state, new_counts))
    except BaseException:
        store.discard(gen)
        raise
    return new_counts["runtime"]


def _republish_delta(layout: Layout, store: GraphStore, current: Path, state: IndexState, counts: dict,
                     node_rows: dict, old_global: dict[str, pa.Table]) -> dict[str, int] | None:
    """`republish_current` as a delta on a copy of the current generation; None (nothing written)
    when that would delete more nodes than a delta should."""
    new_global = {}
    for name, table in old_global.items():
        parts = name.split(".")
        if parts[0] == "node" and parts[1] in RUNTIME_NODE_TABLES or parts[0] == "edge" and parts[1] in RUNTIME_EDGE_TABLES:
            continue  # the runs' rows: loaded again below
        if name.startswith("edge.CALLS."):
            table = table.filter(pc.not_equal(table["provenance"], "runtime"))
        new_global[name] = table
    static = ((a, b) for name, t in new_global.items() if name.startswith("edge.CALLS.")
              for a, b in zip(t["from"].to_pylist(), t["to"].to_pylist()))
    external = old_global["node.External"].column("id") if "node.External" in old_global else None
    runtime = _runtime_rows(layout, [node_rows], external.chunks if external is not None else [], static)
    _add_runtime(new_global, runtime)
    delta = Delta()
    _diff_global(delta, old_global, new_global)
    if len(delta.deleted_ids()) > MAX_DELTA_DELETES:
        return None
    gen = store.begin(copy_current=True)
    try:
        gen.db.begin()
        apply_delta(gen.db, delta, _NODE_COLUMN_NAMES)
        gen.db.commit()
        if not link_rows(current, gen.path):
            raise StoreError(f"the rows of {current} became unreadable; run `astrepo index` again")
        save_global(gen.path, new_global)
        node_counts, edge_counts = count_tables(gen.db)
        new_counts = dict(counts, nodes=node_counts, edges=edge_counts, runtime=runtime.counts())
        store.publish(gen, (state, new_counts))
    except BaseException:
        store.discard(gen)
        raise
    return new_counts["runtime"]


class _Preload:
    """A thread beginning the new generation: a copy of the current database for an incremental
    run; for a full run an empty one, into which every file's own rows (but edges to exception
    types) are COPY'd in an open transaction as soon as the workers have sent them, and then kept
    (graph/rowcache.py). That is while this process still resolves names: Kuzu lets go of the GIL
    while it executes, and runs on one thread so as to take the other core only. Once names are
    resolved (`load_resolution`), the same thread loads the resolution's rows while this process
    runs the project-wide analyses."""

    def __init__(self, store: GraphStore, full: bool, rows: Callable[[], ParsedFiles], paths: list[str]) -> None:
        self.store = store
        self.gen: Generation | None = None
        self.error: BaseException | None = None
        #: (resolution, names of tables the runs add to) once resolved; None: give up
        self._resolved: queue.Queue = queue.Queue(maxsize=1)
        self.resolved: dict[str, pa.Table] | None = None  #: `_resolution_tables`, once built
        self.loaded: set[str] = set()  #: names of `resolved` tables COPY'd into the generation
        self.thread = threading.Thread(target=self._run, args=(full, rows, paths), daemon=True)
        self.thread.start()

    def _run(self, full: bool, rows: Callable[[], ParsedFiles], paths: list[str]) -> None:
        try:
            parsed = rows()
            self.gen = self.store.begin(copy_current=not full)
            if full:
                db = self.gen.db
                db.set_threads(1)
                db.begin()
                load_arrow(db, {k: v for k, v in parsed.node_tables.items() if k is not NodeKind.EXCEPTION_TYPE},
                           _without_exception_types(parsed.edge_tables, True))
                save_rows(self.gen.path, parsed.node_tables, parsed.edge_tables, paths)
                work = self._resolved.get()
                if work is not None:
                    resolution, runtime_names = work
                    self.resolved = _resolution_tables(resolution)
                    for name in sorted(self.resolved, key=lambda n: not n.startswith("node.")):  # nodes first
                        if name not in runtime_names:
                            _copy_global(db, name, self.resolved[name])
                            self.loaded.add(name)
                db.set_threads(None)
        except BaseException as err:  # handed to the main thread by wait()
            self.error = err

    def load_resolution(self, resolution: Resolution, runtime: RuntimeRows) -> None:
        """Hand the resolution to the thread (full runs): it builds `resolved` and loads those of its
        tables that the runs' rows do not add to."""
        names = {f"node.{name}" for name in runtime.nodes}
        names.update(f"edge.{rel}.{src}.{dst}" for rel, src, dst in runtime.edges)
        self._resolved.put_nowait((resolution, names))

    def _join(self) -> BaseException | None:
        interrupted = None
        while self.thread.is_alive():
            try:
                self.thread.join()
            except KeyboardInterrupt as err:  # the database is in use by the thread: let it finish
                interrupted = err
        return interrupted

    def wait(self) -> Generation:
        """The generation, once the thread is done (an interrupt meanwhile is raised after it)."""
        interrupted = self._join()
        if self.error is not None or interrupted is not None:
            if self.gen is not None:
                self.store.discard(self.gen)
            raise interrupted or self.error  # type: ignore[misc]
        assert self.gen is not None
        return self.gen

    def abandon(self) -> None:
        """After a failure elsewhere: let the thread finish, then drop what it began (its own
        error, if any, is a consequence of that failure)."""
        try:
            self._resolved.put_nowait(None)
        except queue.Full:  # the resolution was handed over already
            pass
        self._join()
        if self.gen is not None:
            self.store.discard(self.gen)
            self.gen = None


def _copy_global(db: GraphDB, name: str, table: pa.Table) -> None:
    """COPY one of a generation's cross-file tables (named as `_global_tables` names them)."""
    if not len(table):
        return
    if name.startswith("node."):
        db.copy_from(name.split(".")[1], table)
    else:
        rel, src, dst = name.split(".")[1:]
        db.copy_from(rel, table, f"from='{src}', to='{dst}'")


def _without_exception_types(edge_rows: dict, without: bool) -> dict:
    """The edge rows not touching ExceptionType nodes (those are cross-file: loaded last), or only those."""
    exc = NodeKind.EXCEPTION_TYPE
    return {k: v for k, v in edge_rows.items() if (exc not in k[1:]) == without}


def _fill_generation(gen: Generation, layout: Layout, node_rows: dict, edge_rows: dict, resolution: Resolution,
                     project: ProjectAnalysis, progress: Progress | None,
                     paths: list[str], preloaded: _Preload | None = None,
                     runtime: RuntimeRows | None = None) -> tuple[dict, dict, RuntimeRows]:
    """Load a new generation in one transaction (per-file rows, then the cross-file ones), keep its rows.

    ``preloaded``: the thread that put the per-file rows in already, in an
    open transaction, with the project-wide Function columns still at their
    defaults, and then the resolution's tables it lists as loaded.
    ``runtime``: the runs' rows, when the caller has them already.
    """
    if progress:
        progress("load", 0, 2)
    if runtime is None:
        runtime = _resolved_runtime_rows(layout, [node_rows], resolution)
    functions = node_rows.get(NodeKind.FUNCTION)
    fcols = _function_columns(pa.concat_tables(functions) if functions else None, project)
    resolved = preloaded.resolved if preloaded is not None and preloaded.resolved is not None \
        else _resolution_tables(resolution)
    loaded = preloaded.loaded if preloaded is not None else set()
    global_rows = _global_tables(node_rows.get(NodeKind.EXCEPTION_TYPE, []), fcols, resolved, project, runtime)
    if preloaded is not None:
        apply_delta(gen.db, Delta(update_nodes={NodeKind.FUNCTION.value: [fcols]}), _NODE_COLUMN_NAMES)
    else:
        prepared = {k: v for k, v in node_rows.items() if k is not NodeKind.EXCEPTION_TYPE}
        if functions:
            prepared[NodeKind.FUNCTION] = [join_function_columns(pa.concat_tables(functions),
                                                                 project.function_columns)]
        gen.db.begin()
        load_arrow(gen.db, prepared, {})
    for name, table in global_rows.items():
        if name.startswith("node.") and name not in loaded:
            _copy_global(gen.db, name, table)
    if progress:
        progress("load", 1, 2)
    load_arrow(gen.db, {}, _without_exception_types(edge_rows, False) if preloaded is not None else edge_rows)
    for name, table in sorted(global_rows.items()):
        if name.startswith("edge.") and name not in loaded:
            _copy_global(gen.db, name, table)
    gen.db.commit()
    if preloaded is None:  # else kept by `_Preload`
        save_rows(gen.path, node_rows, edge_rows, paths)
    save_global(gen.path, global_rows)
    node_counts, edge_counts = count_tables(gen.db)
    if progress:
        progress("load", 2, 2)
    return node_counts, edge_counts, runtime


def _patch_generation(gen: Generation, layout: Layout, previous: Path, old_global: dict[str, pa.Table],
                      previous_counts: dict, changes: Changes, node_rows: dict, edge_rows: dict,
                      resolution: Resolution, project: ProjectAnalysis,
                      progress: Progress | None) -> tuple[dict, dict, RuntimeRows]:
    """Turn the copy of the previous generation in ``gen`` into the new one with a delta, keep its rows."""
    if progress:
        progress("load", 0, 2)
    removed = changes.removed_paths
    old_rows = load_rows(previous, [], only_paths=removed)
    if old_rows is None:
        raise StoreError(f"the rows of {previous} became unreadable during the run; run `astrepo index` again")
    old_nodes, old_edges = old_rows
    delta = Delta()
    project_columns = set(PROJECT_FUNCTION_COLUMNS)
    for kind in NodeKind:
        if kind in (NodeKind.EXCEPTION_TYPE, NodeKind.EXTERNAL):
            continue
        compare = [c.name for c in node_columns(kind) if c.name not in project_columns]
        diff_nodes(delta, kind.value, _concat(old_nodes.get(kind)), _concat(node_rows.get(kind)), compare)
    created = delta.create_nodes.get(NodeKind.FUNCTION.value)
    if created:
        delta.create_nodes[NodeKind.FUNCTION.value] = [join_function_columns(t, project.function_columns)
                                                       for t in created]
    for key in sorted(set(old_edges) | set(edge_rows), key=lambda k: tuple(x.value for x in k)):
        diff_edges(delta, tuple(x.value for x in key), _concat(old_edges.get(key), PATH_COLUMN),  # type: ignore[arg-type]
                   _concat(edge_rows.get(key), PATH_COLUMN))
    # Cross-file rows: every function's project-wide columns, externals, exception types, edges, runs.
    kept = load_rows(previous, removed, tables={"node.ExceptionType"})
    exception_parts = [*(kept[0].get(NodeKind.EXCEPTION_TYPE, []) if kept else []),
                       *node_rows.get(NodeKind.EXCEPTION_TYPE, [])]
    old_fcols = old_global.get("fcols")
    gone = _concat(old_nodes.get(NodeKind.FUNCTION))
    if old_fcols is not None and gone is not None:
        old_fcols_kept = old_fcols.filter(pc.invert(pc.is_in(old_fcols["id"], value_set=gone["id"])))
    else:
        old_fcols_kept = old_fcols
    new_functions = _concat(node_rows.get(NodeKind.FUNCTION))
    fcols_parts = [t for t in (old_fcols_kept, new_functions) if t is not None]
    all_functions = pa.concat_tables([t.select(list(fcols_parts[0].column_names)) for t in fcols_parts]) \
        if fcols_parts else None
    fcols = _function_columns(all_functions, project)
    runtime = _resolved_runtime_rows(layout, [_live_ids(previous, removed), node_rows], resolution)
    new_global = _global_tables(exception_parts, fcols, _resolution_tables(resolution), project, runtime)
    diff_nodes(delta, NodeKind.FUNCTION.value, old_fcols, fcols, updates_only=True)
    _diff_global(delta, old_global, new_global)
    if len(delta.deleted_ids()) > MAX_DELTA_DELETES:
        return _reload_generation(gen, layout, previous, changes, node_rows, edge_rows, resolution, project,
                                  progress)
    if progress:
        progress("load", 1, 2)
    gen.db.begin()
    apply_delta(gen.db, delta, _NODE_COLUMN_NAMES)
    gen.db.commit()
    if not extend_rows(previous, gen.path, removed, node_rows, edge_rows, [f.path for f in changes.to_parse]):
        raise StoreError(f"the rows of {previous} became unreadable during the run; run `astrepo index` again")
    save_global(gen.path, new_global)
    node_counts, edge_counts = _recount(gen.db, delta, previous_counts)
    log.debug("delta applied: %s", delta.size())
    if progress:
        progress("load", 2, 2)
    return node_counts, edge_counts, runtime


#: Kuzu 0.11 spends ~25 ms of CPU per deleted node when it checkpoints (measured on Django's graph):
#: past this many deletions, loading everything into an empty database is cheaper than the delta.
MAX_DELTA_DELETES = 200


def _reload_generation(gen: Generation, layout: Layout, previous: Path, changes: Changes, node_rows: dict,
                       edge_rows: dict, resolution: Resolution, project: ProjectAnalysis,
                       progress: Progress | None) -> tuple[dict, dict, RuntimeRows]:
    """An incremental run's generation loaded in full: unchanged files' rows from the previous one."""
    kept = load_rows(previous, changes.removed_paths)
    if kept is None:
        raise StoreError(f"the rows of {previous} became unreadable during the run; run `astrepo index` again")
    nodes = {k: [*kept[0].get(k, []), *node_rows.get(k, [])] for k in {*kept[0], *node_rows}}
    edges = {k: [*kept[1].get(k, []), *edge_rows.get(k, [])] for k in {*kept[1], *edge_rows}}
    GraphStore(layout).empty(gen)
    paths = sorted(f.path for f in (*changes.unchanged, *changes.to_parse))
    return _fill_generation(gen, layout, nodes, edges, resolution, project, progress, paths)


_NODE_COLUMN_NAMES = {**{k.value: [c.name for c in node_columns(k)] for k in NodeKind},
                      **{name: [c.name for c in cols] for name, cols in RUNTIME_NODE_TABLES.items()}}


def _recount(db: GraphDB, delta: Delta, previous: dict) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per table after a delta: the previous counts plus what it created minus what it deleted;
    counted again in the database where deleted nodes took an unknown number of edges along."""
    nodes, edges = dict(previous.get("nodes", {})), dict(previous.get("edges", {}))
    for name in {k.value for k in NodeKind}:
        if name not in nodes or name in delta.delete_nodes:
            nodes[name] = int(db.scalar(f"MATCH (n:{name}) RETURN count(*)") or 0)
        else:
            nodes[name] += sum(len(t) for t in delta.create_nodes.get(name, ()))
    created: dict[str, int] = defaultdict(int)
    for (rel, _, _), parts in delta.create_edges.items():
        created[rel] += sum(len(t) for t in parts)
    for name in {k.value for k in EDGE_TABLES}:
        if name not in edges or delta.delete_nodes:
            edges[name] = int(db.scalar(f"MATCH ()-[r:{name}]->() RETURN count(*)") or 0)
        else:
            edges[name] += created[name] - delta.deleted_edge_rows.get(name, 0)
    return ({k.value: nodes[k.value] for k in NodeKind}, {k.value: edges[k.value] for k in EDGE_TABLES})


def _concat(parts: list[pa.Table] | None, drop: str | None = None) -> pa.Table | None:
    if not parts:
        return None
    table = pa.concat_tables(parts)
    return table.drop_columns([drop]) if drop and drop in table.column_names else table


def _live_ids(previous: Path, removed: list[str]) -> dict:
    """The previous generation's per-file node rows (IDs wanted) except those of ``removed`` files."""
    kept = load_rows(previous, removed, tables={f"node.{k.value}" for k in NodeKind})
    return kept[0] if kept else {}


def _function_columns(functions: pa.Table | None, project: ProjectAnalysis) -> pa.Table:
    """Every function's project-wide columns (``id`` first), as loaded."""
    names = ["id", *PROJECT_FUNCTION_COLUMNS]
    if functions is None:
        return nodes_to_arrow(NodeKind.FUNCTION, []).select(names)
    return join_function_columns(functions.select(names), project.function_columns)


def _resolution_tables(resolution: Resolution) -> dict[str, pa.Table]:
    """The rows name resolution gives a generation: externals and the IMPORTS, INHERITS and CALLS
    edges, named as `_global_tables` names them."""
    tables = {"node.External": nodes_to_arrow(NodeKind.EXTERNAL, list(resolution.externals))}
    tables.update(_edge_tables(resolution.edges))
    return tables


def _edge_tables(edges: Iterable) -> dict[str, pa.Table]:
    """Typed edges grouped by table pair, as Arrow tables named ``edge.<rel>.<from>.<to>``."""
    by_pair: dict[tuple[str, str, str], list] = defaultdict(list)
    for edge in edges:
        # _value_, not .value: the property costs more than the rest of the loop on a million edges
        by_pair[(edge.kind._value_, edge.src_kind._value_, edge.dst_kind._value_)].append(edge)
    return {f"edge.{rel}.{src}.{dst}": edges_to_arrow(group[0].kind, group)
            for (rel, src, dst), group in by_pair.items()}


def _global_tables(exception_parts: list[pa.Table], fcols: pa.Table, resolved: dict[str, pa.Table],
                   project: ProjectAnalysis, runtime: RuntimeRows) -> dict[str, pa.Table]:
    """The cross-file rows of a generation by name (``node.<table>``, ``edge.<rel>.<from>.<to>``, ``fcols``):
    ``resolved`` (`_resolution_tables`), the project analyses' and the runs'."""
    tables: dict[str, pa.Table] = {"fcols": fcols, **resolved}
    parts = list(exception_parts)
    if project.exception_types is not None:
        parts.append(project.exception_types)
    deduped = dedupe_exception_types(parts) if parts else None
    tables["node.ExceptionType"] = deduped if deduped is not None else nodes_to_arrow(NodeKind.EXCEPTION_TYPE, [])
    for name, table in _edge_tables((*project.may_raise, *project.flows)).items():
        tables[name] = pa.concat_tables([tables[name], table]) if name in tables else table
    _add_runtime(tables, runtime)
    return tables


def _add_runtime(tables: dict[str, pa.Table], runtime: RuntimeRows) -> None:
    """Put every ingested run's rows into a generation's cross-file tables (runtime CALLS edges
    after the static ones of the same table)."""
    for name, node_parts in runtime.nodes.items():
        parts = [t for t in node_parts if len(t)]
        if parts:
            tables[f"node.{name}"] = pa.concat_tables(parts)
    for (rel, src, dst), edge_parts in runtime.edges.items():
        parts = [t for t in edge_parts if len(t)]
        if parts:
            name = f"edge.{rel}.{src}.{dst}"
            tables[name] = pa.concat_tables([tables[name], *parts] if name in tables else parts)


def _diff_global(delta: Delta, old_global: dict[str, pa.Table], new_global: dict[str, pa.Table]) -> None:
    """Add to ``delta`` what turns one generation's cross-file node and edge tables into another's."""
    for name in sorted(set(old_global) | set(new_global)):
        old, new = old_global.get(name), new_global.get(name)
        if name.startswith("node."):
            diff_nodes(delta, name.split(".")[1], old, new)
        elif name.startswith("edge."):
            diff_edges(delta, tuple(name.split(".")[1:]), old, new)  # type: ignore[arg-type]


def _runtime_rows(layout: Layout, node_rows: list[dict], external_ids: Iterable[pa.Array],
                  static_calls: Iterable[tuple[str, str]]) -> RuntimeRows:
    """Every ingested run's rows that still name nodes of this generation (its per-file rows'
    and ``external_ids``); ``static_calls`` (read only when there are runs) are not loaded again."""
    if not runs_dir(layout.root).is_dir():
        return RuntimeRows()
    chunks = [c for rows in node_rows for parts in rows.values() for t in parts for c in t.column("id").chunks]
    chunks.extend(external_ids)
    ids = pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string())
    return load_runtime_rows(layout.root, ids, static_calls)


def _resolved_runtime_rows(layout: Layout, node_rows: list[dict], resolution: Resolution) -> RuntimeRows:
    """`_runtime_rows` of a generation whose externals and static calls come from ``resolution``."""
    externals = [pa.array([n.id for n in resolution.externals], type=pa.string())]
    return _runtime_rows(layout, node_rows, externals,
                         ((e.src, e.dst) for e in resolution.edges if e.kind.value == "CALLS"))


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


def derive_project(inputs: dict[str, bytes], analyses: dict[str, object]) -> tuple[Resolution, ProjectAnalysis]:
    """Everything computed over all files: name resolution, then the project-wide analyses.

    ``inputs`` holds each file's pickled `ModuleInputs` (as `FileResult` carries them).
    """
    resolution, modules = resolve_inputs(inputs)
    return resolution, analyze_modules(modules, resolution, analyses)


def resolve_inputs(inputs: dict[str, bytes]) -> tuple[Resolution, list[ModuleInputs]]:
    """Name resolution over every file's pickled `ModuleInputs`; also returns them decoded, by path."""
    modules: list[ModuleInputs] = [pickle.loads(inputs[p]) for p in sorted(inputs)]
    return resolve_project(modules), modules


def analyze_modules(modules: list[ModuleInputs], resolution: Resolution,
                    analyses: dict[str, object]) -> ProjectAnalysis:
    """The project-wide analyses (exception propagation, fan-in/out, PageRank, flows) over the call graph."""
    call_scopes: dict[str, str] = {}
    scope_kinds: dict[str, NodeKind] = {}
    for module in modules:
        for call in module.calls:
            call_scopes[call.id] = call.scope
        for scope in module.scopes:
            scope_kinds[scope.id] = _SCOPE_TABLE[scope.kind]
    return analyze_project([analyses[p] for p in sorted(analyses)], resolution.edges,  # type: ignore[misc]
                           call_scopes, scope_kinds, modules)


_SCOPE_TABLE = {"module": NodeKind.MODULE, "class": NodeKind.CLASS, "function": NodeKind.FUNCTION,
                "lambda": NodeKind.FUNCTION}


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
