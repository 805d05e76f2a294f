"""One generation's database filled with rows: a full load, or a delta on a copy of the current one.

A generation holds every file's own rows (kept beside it by
graph/rowcache.py) and the cross-file rows named ``node.<table>`` and
``edge.<rel>.<from>.<to>``: what name resolution gives (externals, IMPORTS,
INHERITS, CALLS), what the project-wide analyses give (exception types,
MAY_RAISE, flows, the functions' project-wide columns) and every ingested
run's rows. graph/build.py decides which of these a run loads.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from astrepo.errors import StoreError
from astrepo.gcpause import free_in_background
from astrepo.index_state import Changes, IndexState
from astrepo.layout import Layout
from astrepo.model import NodeKind
from astrepo.analyzers.callgraph import Resolution
from astrepo.graph.analysis_rows import (
    PROJECT_FUNCTION_COLUMNS, ProjectAnalysis, dedupe_exception_types, join_function_columns,
)
from astrepo.graph.db import GraphDB
from astrepo.graph.delta import Delta, apply_delta, diff_edges, diff_nodes
from astrepo.graph.join import RuntimeRows, load_runtime_rows, runs_dir
from astrepo.graph.load import PATH_COLUMN, edges_to_arrow, load_arrow, nodes_to_arrow
from astrepo.graph.perfile import ParsedFiles, Progress
from astrepo.graph.read import count_tables
from astrepo.graph.rowcache import extend_rows, link_rows, load_rows, save_global, save_rows
from astrepo.graph.schema import EDGE_TABLES, RUNTIME_EDGE_TABLES, RUNTIME_NODE_TABLES, node_columns
from astrepo.graph.store import Generation, GraphStore

log = logging.getLogger(__name__)


class Preload:
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
        #: names of the tables the runs add to, once resolved; None: give up
        self._resolved: queue.Queue = queue.Queue(maxsize=1)
        self.resolved: dict[str, pa.Table] | None = None  #: `_resolution_tables`, once built
        self.loaded: set[str] = set()  #: names of `resolved` tables COPY'd into the generation
        #: set when `_run` is over (see `_join`)
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(full, rows, paths), daemon=True).start()

    def _run(self, full: bool, rows: Callable[[], ParsedFiles], paths: list[str]) -> None:
        try:
            if not full:  # the copy of the current database needs nothing of this run: made at once
                self.gen = self.store.begin(copy_current=True)
                return
            parsed = rows()
            self.gen = self.store.begin()
            db = self.gen.db
            db.set_threads(1)
            db.begin()
            with _quick_gil_handoff():
                load_arrow(db, {k: v for k, v in parsed.node_tables.items() if k is not NodeKind.EXCEPTION_TYPE},
                           _without_exception_types(parsed.edge_tables, True))
                save_rows(self.gen.path, parsed.node_tables, parsed.edge_tables, paths)
                runtime_names = self._resolved.get()
                if runtime_names is not None and self.resolved is not None:
                    for name in sorted(self.resolved, key=lambda n: not n.startswith("node.")):  # nodes first
                        if name not in runtime_names:
                            _copy_global(db, name, self.resolved[name])
                            self.loaded.add(name)
            db.set_threads(None)
        except BaseException as err:  # handed to the main thread by wait()
            self.error = err
        finally:
            self.done.set()

    def load_resolution(self, resolution: Resolution, runtime: RuntimeRows) -> None:
        """Build the resolution's tables (`resolved`; here: the thread has the per-file rows to load
        still) and hand them to the thread (full runs), which loads those that the runs' rows do not
        add to."""
        added: dict[str, pa.Table] = {}
        _add_runtime(added, runtime)  # the names of the tables the runs' rows go to
        self.resolved = _resolution_tables(resolution)
        self._resolved.put_nowait(set(added))

    def _join(self) -> BaseException | None:
        """Wait until the thread is done with the database, across Ctrl-C; the interrupt met meanwhile.

        Not `Thread.join`: in CPython 3.11, a join that Ctrl-C interrupts can mark the thread as
        stopped while it still runs (its clean-up releases the lock the running thread holds), and
        the generation was then closed and deleted under the thread's COPY: a segmentation fault
        (Flask, SIGINT 1.5 s into a full index: 2 of 2 runs)."""
        interrupted = None
        while not self.done.is_set():
            try:
                self.done.wait(0.05)
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


#: The interpreter's thread switch interval (seconds) while `Preload` loads beside name resolution.
COPY_SWITCH_INTERVAL = 0.0002


@contextmanager
def _quick_gil_handoff() -> Iterator[None]:
    """Let a thread that needs the GIL now and then get it soon from one that never lets go.

    Kuzu's COPY from Arrow tables takes the GIL for short moments while it
    reads them, and name resolution in the main thread holds it for the whole
    switch interval (5 ms by default) every time: measured on Django's per-file
    rows, a COPY that takes 3.3 s alone took 32-43 s beside a busy Python
    thread, 7.9 s with a 1 ms interval and 4.1 s with 0.2 ms, at no measurable
    cost to the busy thread."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(COPY_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


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


def fill_generation(gen: Generation, layout: Layout, node_rows: dict, edge_rows: dict, resolution: Resolution,
                     project: ProjectAnalysis, progress: Progress | None,
                     paths: list[str], preloaded: Preload | None = None,
                     runtime: RuntimeRows | None = None, scrap: list | None = None,
                     tables: tuple[pa.Table | None, dict[str, pa.Table]] | None = None) -> tuple[dict, dict, RuntimeRows]:
    """Load a new generation in one transaction (per-file rows, then the cross-file ones), keep its rows.

    ``preloaded``: the thread that put the per-file rows in already, in an
    open transaction, with the project-wide Function columns still at their
    defaults, and then the resolution's tables it lists as loaded.
    ``runtime``: the runs' rows, when the caller has them already.
    ``scrap``: the caller's garbage, freed while the transaction commits (`_commit`).
    ``tables``: `generation_tables`, when the caller has them already.
    """
    if progress:
        progress("load", 0, 2)
    if runtime is None:
        runtime = resolved_runtime_rows(layout, [node_rows], resolution)
    functions = node_rows.get(NodeKind.FUNCTION)
    if tables is None:
        resolved = preloaded.resolved if preloaded is not None and preloaded.resolved is not None \
            else _resolution_tables(resolution)
        tables = generation_tables(node_rows, resolved, project, runtime)
    fcols, global_rows = tables
    loaded = preloaded.loaded if preloaded is not None else set()
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
    _commit(gen.db, scrap)
    if preloaded is None:  # else kept by `Preload`
        save_rows(gen.path, node_rows, edge_rows, paths)
    save_global(gen.path, global_rows)
    node_counts, edge_counts = count_tables(gen.db)
    if progress:
        progress("load", 2, 2)
    return node_counts, edge_counts, runtime


def generation_tables(node_rows: dict, resolved: dict[str, pa.Table], project: ProjectAnalysis,
                      runtime: RuntimeRows) -> tuple[pa.Table | None, dict[str, pa.Table]]:
    """A full load's Function columns and cross-file tables (``resolved``: `_resolution_tables`).
    They need no database: a full run makes them while `Preload` may still be loading."""
    functions = node_rows.get(NodeKind.FUNCTION)
    fcols = _function_columns(pa.concat_tables(functions) if functions else None, project)
    return fcols, _global_tables(node_rows.get(NodeKind.EXCEPTION_TYPE, []), fcols, resolved, project, runtime)


def patch_generation(gen: Generation, layout: Layout, previous: Path, old_global: dict[str, pa.Table],
                      previous_counts: dict, changes: Changes, node_rows: dict, edge_rows: dict,
                      resolution: Resolution, project: ProjectAnalysis, progress: Progress | None,
                      scrap: list | None = None, reload: bool = False) -> tuple[dict, dict, RuntimeRows]:
    """Turn the copy of the previous generation in ``gen`` into the new one with a delta, keep its rows
    (``scrap``: as for `fill_generation`; ``reload``: load it in full instead, into an empty database)."""
    if reload:
        return _reload_generation(gen, layout, previous, changes, node_rows, edge_rows, resolution, project,
                                  progress, scrap)
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
    # The unchanged files' node IDs are read only when there are runs' rows to check against them.
    live = _live_ids(previous, removed) if runs_dir(layout.root).is_dir() else {}
    runtime = resolved_runtime_rows(layout, [live, node_rows], resolution)
    new_global = _global_tables(exception_parts, fcols, _resolution_tables(resolution), project, runtime)
    diff_nodes(delta, NodeKind.FUNCTION.value, old_fcols, fcols, updates_only=True)
    _diff_global(delta, old_global, new_global)
    if len(delta.deleted_ids()) > MAX_DELTA_DELETES:
        return _reload_generation(gen, layout, previous, changes, node_rows, edge_rows, resolution, project,
                                  progress, scrap)
    if progress:
        progress("load", 1, 2)
    gen.db.begin()
    apply_delta(gen.db, delta, _NODE_COLUMN_NAMES)
    _commit(gen.db, scrap)
    if not extend_rows(previous, gen.path, removed, node_rows, edge_rows, [f.path for f in changes.to_parse]):
        raise StoreError(f"the rows of {previous} became unreadable during the run; run `astrepo index` again")
    save_global(gen.path, new_global, previous, old_global)
    node_counts, edge_counts = _recount(gen.db, delta, previous_counts)
    log.debug("delta applied: %s", delta.size())
    if progress:
        progress("load", 2, 2)
    return node_counts, edge_counts, runtime


def _commit(db: GraphDB, scrap: list | None) -> None:
    """Commit the open transaction; meanwhile a thread frees ``scrap`` (Kuzu lets go of the GIL
    while it commits: Django's resolver state, ~0.6 s to free, costs no time here)."""
    freeing = free_in_background(scrap) if scrap else None
    db.commit()
    if freeing is not None:
        freeing.join()


#: Kuzu 0.11 spends ~25 ms of CPU per deleted node when it checkpoints (measured on Django's graph):
#: past this many deletions, loading everything into an empty database is cheaper than the delta.
MAX_DELTA_DELETES = 200


def _reload_generation(gen: Generation, layout: Layout, previous: Path, changes: Changes, node_rows: dict,
                       edge_rows: dict, resolution: Resolution, project: ProjectAnalysis,
                       progress: Progress | None, scrap: list | None) -> tuple[dict, dict, RuntimeRows]:
    """An incremental run's generation loaded in full: unchanged files' rows from the previous one."""
    kept = load_rows(previous, changes.removed_paths)
    if kept is None:
        raise StoreError(f"the rows of {previous} became unreadable during the run; run `astrepo index` again")
    nodes = {k: [*kept[0].get(k, []), *node_rows.get(k, [])] for k in {*kept[0], *node_rows}}
    edges = {k: [*kept[1].get(k, []), *edge_rows.get(k, [])] for k in {*kept[1], *edge_rows}}
    GraphStore(layout).empty(gen)
    paths = sorted(f.path for f in (*changes.unchanged, *changes.to_parse))
    return fill_generation(gen, layout, nodes, edges, resolution, project, progress, paths, scrap=scrap)


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


def resolved_runtime_rows(layout: Layout, node_rows: list[dict], resolution: Resolution) -> RuntimeRows:
    """`_runtime_rows` of a generation whose externals and static calls come from ``resolution``."""
    externals = [pa.array([n.id for n in resolution.externals], type=pa.string())]
    return _runtime_rows(layout, node_rows, externals,
                         ((e.src, e.dst) for e in resolution.edges if e.kind.value == "CALLS"))


def republish_delta(layout: Layout, store: GraphStore, current: Path, state: IndexState, counts: dict,
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

    def fill(gen: Generation) -> tuple[dict, dict, RuntimeRows]:
        gen.db.begin()
        apply_delta(gen.db, delta, _NODE_COLUMN_NAMES)
        gen.db.commit()
        if not link_rows(current, gen.path):
            raise StoreError(f"the rows of {current} became unreadable; run `astrepo index` again")
        save_global(gen.path, new_global, current, old_global)
        return (*count_tables(gen.db), runtime)

    return publish_republished(store, store.begin(copy_current=True), state, counts, fill)


def publish_republished(store: GraphStore, gen: Generation, state: IndexState, counts: dict,
                        fill: Callable[[Generation], tuple[dict, dict, RuntimeRows]]) -> dict[str, int]:
    """Fill a re-published generation (``fill`` gives its node, edge and runtime counts), publish it
    with the index state it keeps and its new counts, or drop it on any failure; its runtime counts."""
    try:
        node_counts, edge_counts, runtime = fill(gen)
        new_counts = dict(counts, nodes=node_counts, edges=edge_counts, runtime=runtime.counts())
        store.publish(gen, (state, new_counts))
    except BaseException:
        store.discard(gen)
        raise
    return new_counts["runtime"]
