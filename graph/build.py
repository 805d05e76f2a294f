"""The index pipeline: discover, parse and extract per file, resolve across files, load.

A run is full (first run, ``--rebuild``, or an unusable previous state) or
incremental: only added and modified files are parsed, the rows of unchanged
files are reloaded from the previous generation (graph/rowcache.py), and
cross-file edges are re-resolved from every file's cached resolution inputs.
Either way the new generation is a fresh database bulk-loaded with COPY and
published atomically, so an incremental run yields exactly the graph of a
full one, and an interrupted run leaves the previous graph in place.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from astrepo.discover import SourceFile, discover_files
from astrepo.errors import ConfigError
from astrepo.facts import FACTS_VERSION
from astrepo.gcpause import gc_paused
from astrepo.index_state import STATE_VERSION, Changes, FileEntry, IndexState, detect_changes
from astrepo.layout import Layout, WriterLock
from astrepo.model import NodeKind, Severity
from astrepo.source import DEFAULT_MAX_BYTES
from astrepo.analyzers.callgraph import ModuleInputs, Resolution, resolve_project
from astrepo.graph.analysis_rows import ProjectAnalysis, analyze_project, dedupe_exception_types, join_function_columns
from astrepo.graph.db import GraphDB
from astrepo.graph.join import RuntimeRows, load_runtime, load_runtime_rows, runs_dir
from astrepo.graph.load import load_arrow, load_edges, load_nodes
from astrepo.graph.perfile import FileResult, ParsedFiles, PerFileStage
from astrepo.graph.read import count_tables
from astrepo.graph.rowcache import load_rows, save_rows
from astrepo.graph.store import Generation, GraphStore

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
    kept = None
    if previous is not None and (changes.to_parse or changes.deleted):
        # Unchanged files' rows come from the previous generation; without them, parse everything.
        kept = load_rows(store.current_path(), changes.removed_paths)
        if kept is None:
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
        resolution, modules = resolve_inputs(inputs)
        parsed = stage.results()
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
    project = analyze_modules(modules, resolution, analyses)
    summary.stage_seconds["resolve"] = time.perf_counter() - t
    if progress:
        progress("resolve", 1, 1)

    # 4. Write a new generation of the graph and publish it.
    t = time.perf_counter()
    new_by_path = {f.path: f for f in parsed.files}
    node_rows, edge_rows = parsed.node_tables, parsed.edge_tables
    if kept is not None:
        node_rows, edge_rows = _merge_rows(kept, parsed)
    gen = store.begin()
    try:
        node_counts, edge_counts, runtime = _fill_generation(gen, layout, node_rows, edge_rows, resolution,
                                                             project, progress)
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

    What an index run with no changed files would load, made anew (the
    runtime rows changed, and Kuzu tables are never patched in place). The
    caller holds the writer lock. Returns the runtime counts, or None when
    there is no usable current generation (run ``astrepo index`` first).
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
    resolution, project = derive_project(state.inputs, state.analysis_inputs)
    gen = store.begin()
    try:
        node_counts, edge_counts, runtime = _fill_generation(gen, layout, node_rows, edge_rows, resolution,
                                                             project, None)
        new_counts = dict(counts, nodes=node_counts, edges=edge_counts, runtime=runtime.counts())
        store.publish(gen, (state, new_counts))
    except BaseException:
        store.discard(gen)
        raise
    return new_counts["runtime"]


def _fill_generation(gen: Generation, layout: Layout, node_rows: dict, edge_rows: dict, resolution: Resolution,
                     project: ProjectAnalysis, progress: Progress | None) -> tuple[dict, dict, RuntimeRows]:
    """Load a new generation in one transaction (static rows, then every ingested run's), keep its rows."""
    gen.db.begin()
    _load_all(gen.db, node_rows, edge_rows, resolution, project, progress)
    runtime = _runtime_rows(layout, node_rows, resolution)
    load_runtime(gen.db, runtime)
    gen.db.commit()
    save_rows(gen.path, node_rows, edge_rows)
    node_counts, edge_counts = count_tables(gen.db)
    return node_counts, edge_counts, runtime


def _runtime_rows(layout: Layout, node_rows: dict, resolution: Resolution) -> RuntimeRows:
    """Every ingested run's rows that still name nodes of this generation."""
    if not runs_dir(layout.root).is_dir():
        return RuntimeRows()
    chunks = [c for parts in node_rows.values() for t in parts for c in t.column("id").chunks]
    chunks.append(pa.array([n.id for n in resolution.externals], type=pa.string()))
    ids = pa.concat_arrays(chunks)
    static = {(e.src, e.dst) for e in resolution.edges if e.kind.value == "CALLS"}
    return load_runtime_rows(layout.root, ids, static)


def _usable_state(store: GraphStore, root: Path) -> tuple[IndexState, dict] | None:
    """The previous run's state and counts, if an incremental run can build on it."""
    if store.current_path() is None:
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


def _merge_rows(kept: tuple[dict, dict], parsed: ParsedFiles) -> tuple[dict, dict]:
    nodes: dict = defaultdict(list)
    edges: dict = defaultdict(list)
    for source in (kept[0], parsed.node_tables):
        for kind, parts in source.items():
            nodes[kind].extend(parts)
    for source in (kept[1], parsed.edge_tables):
        for key, parts in source.items():
            edges[key].extend(parts)
    return nodes, edges


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


def _load_all(db: GraphDB, node_rows: dict, edge_rows: dict, resolution: Resolution,
              project: ProjectAnalysis, progress: Progress | None) -> None:
    if progress:
        progress("load", 0, 2)
    # Project-wide columns join the Function rows; exception types are deduplicated.
    prepared = dict(node_rows)
    if prepared.get(NodeKind.FUNCTION):
        functions = pa.concat_tables(prepared[NodeKind.FUNCTION])
        prepared[NodeKind.FUNCTION] = [join_function_columns(functions, project.function_columns)]
    exception_parts = list(prepared.get(NodeKind.EXCEPTION_TYPE, []))
    if project.exception_types is not None:
        exception_parts.append(project.exception_types)
    deduped = dedupe_exception_types(exception_parts) if exception_parts else None
    prepared[NodeKind.EXCEPTION_TYPE] = [deduped] if deduped is not None else []
    load_arrow(db, prepared, edge_rows)
    load_nodes(db, resolution.externals)
    if progress:
        progress("load", 1, 2)
    load_edges(db, resolution.edges)
    load_edges(db, project.may_raise)
    load_edges(db, project.flows)
    if progress:
        progress("load", 2, 2)


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
