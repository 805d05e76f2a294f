"""The index pipeline: discover, parse and extract per file, resolve across files, load.

A run is full (first run, ``--rebuild``, or an unusable previous state) or
incremental: only added and modified files are parsed; the nodes of modified
and deleted files are replaced in a copy of the current graph; cross-file
edges are re-resolved from every file's cached resolution inputs and applied
as a difference. Either way the new graph is published atomically, so the
result of an incremental run equals that of a full one and an interrupted
run leaves the previous graph in place.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from astrepo.discover import SourceFile, discover_files
from astrepo.errors import ConfigError
from astrepo.facts import FACTS_VERSION, facts_for_file
from astrepo.ids import NodeId
from astrepo.index_state import STATE_VERSION, Changes, FactsCache, FileEntry, IndexState, detect_changes, file_hash
from astrepo.layout import Layout, WriterLock
from astrepo.model import Edge, FileFacts, Node, NodeKind, Severity
from astrepo.parse import SourceParser
from astrepo.source import DEFAULT_MAX_BYTES
from astrepo.analyzers.callgraph import ModuleInputs, Resolution, resolve_project
from astrepo.graph.db import GraphDB
from astrepo.graph.load import delete_edges, delete_files, delete_nodes, load_edges, load_nodes
from astrepo.graph.schema import EDGE_TABLES
from astrepo.graph.store import GraphStore

log = logging.getLogger(__name__)

#: (stage, done, total): called as work advances; stage is one of
#: "discover", "parse", "resolve", "load".
Progress = Callable[[str, int, int], None]

#: Files per task sent to a worker process.
BATCH_SIZE = 32

#: Below this many files to parse, a process pool costs more than it saves.
MIN_FILES_FOR_POOL = 48


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

    @property
    def changed(self) -> int:
        return self.added + self.modified + self.deleted

    @property
    def nodes(self) -> int:
        return sum(self.node_counts.values())

    @property
    def edges(self) -> int:
        return sum(self.edge_counts.values())


def module_inputs(facts: FileFacts) -> ModuleInputs:
    """The part of a file's facts that cross-file resolution reads."""
    return ModuleInputs(
        path=facts.path, module=facts.module, is_package=facts.path.endswith("__init__.py"),
        scopes=tuple(facts.scopes), calls=tuple(facts.calls), imports=tuple(facts.imports),
    )


# -- per-file stage, in worker processes ---------------------------------------

_WORKER: dict[str, object] = {}


def _init_worker(cache_dir: str, max_bytes: int) -> None:
    # One parser and cache handle per worker process; this dict is the worker's
    # own state, set once by the pool initializer.
    _WORKER["parser"] = SourceParser()
    _WORKER["cache"] = FactsCache(Path(cache_dir), FACTS_VERSION)
    _WORKER["max_bytes"] = max_bytes


def _facts_batch(batch: list[SourceFile]) -> list[FileFacts]:
    parser: SourceParser = _WORKER["parser"]  # type: ignore[assignment]
    cache: FactsCache = _WORKER["cache"]  # type: ignore[assignment]
    max_bytes: int = _WORKER["max_bytes"]  # type: ignore[assignment]
    return [_facts_one(f, parser, cache, max_bytes) for f in batch]


def _facts_one(source: SourceFile, parser: SourceParser, cache: FactsCache, max_bytes: int) -> FileFacts:
    digest = file_hash(source.abspath, {})
    if digest:
        cached = cache.get(source.path, digest)
        if cached is not None and cached.module == source.module:
            return cached
    facts = facts_for_file(source, parser, max_bytes)
    if facts.hash:
        cache.put(facts)
    return facts


def compute_facts(files: list[SourceFile], layout: Layout, max_bytes: int, jobs: int,
                  progress: Progress | None = None) -> list[FileFacts]:
    """Facts of every file, in parallel when there are enough of them."""
    total = len(files)
    out: list[FileFacts] = []
    if progress:
        progress("parse", 0, total)
    if jobs <= 1 or total < MIN_FILES_FOR_POOL:
        _init_worker(str(layout.facts_cache), max_bytes)
        for i, f in enumerate(files, 1):
            out.append(_facts_batch([f])[0])
            if progress and (i % 16 == 0 or i == total):
                progress("parse", i, total)
        return out
    # Largest files first so no worker is left with a big file at the end.
    ordered = sorted(files, key=lambda f: -_size(f.abspath))
    batches = [ordered[i:i + BATCH_SIZE] for i in range(0, total, BATCH_SIZE)]
    context = multiprocessing.get_context("fork")
    done = 0
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(str(layout.facts_cache), max_bytes)) as pool:
        for batch_facts in pool.map(_facts_batch, batches):
            out.extend(batch_facts)
            done += len(batch_facts)
            if progress:
                progress("parse", done, total)
    out.sort(key=lambda f: f.path)
    return out


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# -- the driver ------------------------------------------------------------------

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
    jobs = config.jobs or os.cpu_count() or 1
    summary = IndexSummary(root=str(root))
    started = time.perf_counter()
    with WriterLock(layout):
        # 1. Discover files and compare them with what the current graph holds.
        t = time.perf_counter()
        files = discover_files(root, config.include, config.exclude)
        usable = None if config.rebuild else _usable_state(store, root)
        previous, previous_counts = usable if usable else (None, {})
        changes = detect_changes(files, previous, {})
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

        # 2. Parse and extract the files that need it (all of them on a full run).
        t = time.perf_counter()
        to_parse = files if full else changes.to_parse
        new_facts = compute_facts(to_parse, layout, config.max_bytes, jobs, progress)
        summary.stage_seconds["parse"] = time.perf_counter() - t

        # 3. Resolve calls, imports and bases across all files.
        t = time.perf_counter()
        if progress:
            progress("resolve", 0, 1)
        inputs: dict[str, object] = {} if full else dict(previous.inputs)
        diagnostics: dict[str, list] = {} if full else dict(previous.diagnostics)
        for path in changes.deleted:
            inputs.pop(path, None)
            diagnostics.pop(path, None)
        for facts in new_facts:
            inputs[facts.path] = module_inputs(facts)
            diagnostics[facts.path] = facts.diagnostics
        resolution = resolve_project([inputs[p] for p in sorted(inputs)])  # type: ignore[misc]
        summary.stage_seconds["resolve"] = time.perf_counter() - t
        if progress:
            progress("resolve", 1, 1)

        # 4. Write a new generation of the graph and publish it.
        t = time.perf_counter()
        _check_unique_ids(new_facts)
        new_by_path = {f.path: f for f in new_facts}
        gen = store.begin(incremental=not full)
        try:
            if full:
                _load_full(gen.db, new_facts, resolution, progress)
            else:
                _load_delta(gen.db, changes, new_facts, previous, resolution, inputs, progress)
            node_counts, edge_counts = count_tables(gen.db)
            state = IndexState(
                version=STATE_VERSION, facts_version=FACTS_VERSION, root=str(root),
                files={f.path: _entry(f, changes, new_by_path, previous) for f in files},
                inputs=inputs, resolved_edges=resolution.edges, externals=resolution.externals,
                diagnostics=diagnostics,
            )
            state_counts = {"nodes": node_counts, "edges": edge_counts, "calls": _call_stats(resolution)}
            store.publish(gen, (state, state_counts))
        except BaseException:
            store.discard(gen)
            raise
        summary.stage_seconds["load"] = time.perf_counter() - t
        summary.node_counts, summary.edge_counts = node_counts, edge_counts
        summary.calls = state_counts["calls"]
        _fill_diagnostics(summary, diagnostics)
    summary.seconds = time.perf_counter() - started
    return summary


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


def _entry(f: SourceFile, changes: Changes, new_by_path: dict[str, FileFacts],
           previous: IndexState | None) -> FileEntry:
    size, mtime = changes.stats.get(f.path, (-1, -1))
    facts = new_by_path.get(f.path)
    if facts is not None:
        return FileEntry(facts.hash, size, mtime, f.module)
    old = previous.files[f.path] if previous else None
    return FileEntry(old.hash if old else "", size, mtime, f.module)


def _check_unique_ids(facts: list[FileFacts]) -> None:
    """Node IDs must be unique; a collision is a bug, so stop before loading."""
    seen: set[str] = set()
    for f in facts:
        for node in f.nodes:
            if node.id in seen:
                raise RuntimeError(f"node ID collision in {f.path}: {node.kind.value} {node.name} ({node.id})")
            seen.add(node.id)


def _load_full(db: GraphDB, facts: list[FileFacts], resolution: Resolution, progress: Progress | None) -> None:
    nodes: list[Node] = [n for f in facts for n in f.nodes]
    nodes.extend(resolution.externals)
    edges: list[Edge] = [e for f in facts for e in f.edges]
    edges.extend(resolution.edges)
    if progress:
        progress("load", 0, 2)
    load_nodes(db, nodes)
    if progress:
        progress("load", 1, 2)
    load_edges(db, edges)
    if progress:
        progress("load", 2, 2)


def _load_delta(db: GraphDB, changes: Changes, new_facts: list[FileFacts], previous: IndexState,
                resolution: Resolution, inputs: dict[str, object], progress: Progress | None) -> None:
    if progress:
        progress("load", 0, 3)
    # Nodes of modified and deleted files go (with all their edges), new ones come.
    delete_files(db, changes.removed_paths)
    load_nodes(db, [n for f in new_facts for n in f.nodes])
    old_ext = {n.id: n for n in previous.externals}
    new_ext = {n.id: n for n in resolution.externals}
    load_nodes(db, [n for i, n in new_ext.items() if i not in old_ext])
    load_edges(db, [e for f in new_facts for e in f.edges])
    if progress:
        progress("load", 1, 3)
    # Resolved edges: drop those that disappeared, add those that are new or
    # that touch a re-inserted file (DETACH DELETE removed them).
    touched = {p for p in changes.removed_paths} | {f.path for f in new_facts}
    owners = _owners(inputs, touched)
    old_keys = {e.key(): e for e in previous.resolved_edges}
    new_keys = {e.key(): e for e in resolution.edges}
    gone = [e for k, e in old_keys.items() if k not in new_keys and e.src not in owners and e.dst not in owners]
    delete_edges(db, gone)
    delete_nodes(db, NodeKind.EXTERNAL, [i for i in old_ext if i not in new_ext])
    fresh = [e for k, e in new_keys.items() if k not in old_keys or e.src in owners or e.dst in owners]
    load_edges(db, fresh)
    if progress:
        progress("load", 3, 3)


def _owners(inputs: dict[str, object], paths: set[str]) -> set[NodeId]:
    """IDs of the scopes and call sites of the given files (in the new inputs)."""
    out: set[NodeId] = set()
    for path in paths:
        mod = inputs.get(path)
        if mod is None:
            continue
        out.update(s.id for s in mod.scopes)  # type: ignore[attr-defined]
        out.update(c.id for c in mod.calls)  # type: ignore[attr-defined]
    return out


def count_tables(db: GraphDB) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per node table and per relationship table."""
    nodes = {k.value: int(db.scalar(f"MATCH (n:{k.value}) RETURN count(*)") or 0) for k in NodeKind}
    edges = {k.value: int(db.scalar(f"MATCH ()-[r:{k.value}]->() RETURN count(*)") or 0) for k in EDGE_TABLES}
    return nodes, edges


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
