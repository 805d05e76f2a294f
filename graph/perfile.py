"""The per-file stage of an index run: parse, extract and analyse each file, in worker processes.

Cross-file resolution (the longest single step, one core) needs only what
extraction gives (`ModuleInputs`), not the analyses (CFG, data flow,
exceptions, metrics) nor the rows to load. So each worker first parses and
extracts all of its files and sends their resolution inputs, keeping the trees
and facts; then it analyses the same files and sends their rows. The main
process starts resolving as soon as every file's inputs are in, while the
workers are still analysing: on two cores the analyses run beside resolution
instead of before it. `PerFileStage.inputs()` returns the inputs,
`PerFileStage.results()` the rows; a background thread takes the workers'
messages as they come, so neither side waits on a full pipe.

Files are dealt to the workers up front, largest first to the least loaded
(by bytes), so both phases keep every worker busy without a shared queue.
Few files are done in-process, in order, with the same functions.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue as queue_module
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import tree_sitter

from astrepo.discover import SourceFile
from astrepo.facts import FACTS_VERSION, parse_file
from astrepo.gcpause import gc_paused
from astrepo.index_state import FactsCache, file_hash
from astrepo.model import FileFacts, NodeKind
from astrepo.parse import SourceParser
from astrepo.analyzers.callgraph import ModuleInputs
from astrepo.analyzers.fileanalysis import ANALYSIS_VERSION, FileAnalysis, analyze_file
from astrepo.graph.analysis_rows import (
    AnalysisInputs, analysis_inputs, batch_analysis_edges, canonical_exceptions, enrich_facts,
)
from astrepo.graph.load import facts_to_arrow

#: (stage, done, total): called as an index run advances; stage is one of
#: "discover", "parse", "resolve", "load".
Progress = Callable[[str, int, int], None]

#: Key of cached per-file results: facts and analyses together.
CACHE_VERSION = f"facts{FACTS_VERSION}.analysis{ANALYSIS_VERSION}.rows1"

#: Largest number of files a worker handles (and reports) at a time.
BATCH_SIZE = 32

#: Below this many files to parse, worker processes cost more than they save.
MIN_FILES_FOR_POOL = 48

#: Source bytes of the files whose syntax trees a worker keeps between its two phases (a tree
#: takes tens of times its source); files beyond it are parsed again for their analyses.
HELD_SOURCE_BYTES = 64 << 20

#: How often (seconds) the collector checks that the workers are still alive.
_POLL_SECONDS = 0.5


def module_inputs(facts: FileFacts) -> ModuleInputs:
    """The part of a file's facts that cross-file resolution reads."""
    return ModuleInputs(
        path=facts.path, module=facts.module, is_package=facts.path.endswith("__init__.py"),
        scopes=tuple(facts.scopes), calls=tuple(facts.calls), imports=tuple(facts.imports),
    )


class FileResult(NamedTuple):
    """What the main process keeps of one parsed file (its rows travel as Arrow, its resolution
    inputs ahead of it: `PerFileStage.inputs`)."""

    path: str
    module: str
    hash: str
    diagnostics: list
    analysis: AnalysisInputs


@dataclass(slots=True)
class ParsedFiles:
    """The per-file stage's output: light per-file results plus Arrow batches to load."""

    files: list[FileResult] = field(default_factory=list)
    node_tables: dict[NodeKind, list] = field(default_factory=lambda: defaultdict(list))
    edge_tables: dict[tuple, list] = field(default_factory=lambda: defaultdict(list))

    def add_batch(self, results: list[FileResult], nodes: dict, edges: dict) -> None:
        self.files.extend(results)
        for kind, tables in nodes.items():
            self.node_tables[kind].extend(tables)
        for key, tables in edges.items():
            self.edge_tables[key].extend(tables)


class _Extracted(NamedTuple):
    """One file between the two phases: its facts, its tree (None when its analysis came from
    the cache, it was skipped, or its tree was not kept) or its cached analysis."""

    source: SourceFile
    facts: FileFacts
    tree: tree_sitter.Tree | None
    analysis: FileAnalysis | None
    inputs: bytes


# -- the work of one file, wherever it runs --------------------------------------

class _Worker:
    """One process's parser and cache handle."""

    def __init__(self, cache_dir: str, max_bytes: int) -> None:
        self.parser = SourceParser()
        self.cache = FactsCache(Path(cache_dir), CACHE_VERSION)
        self.max_bytes = max_bytes
        self.held = 0  #: source bytes of the trees kept for phase 2

    def extract(self, source: SourceFile) -> _Extracted:
        """Phase 1: facts of one file (cached facts and analysis when its content was seen before)."""
        digest = file_hash(source.abspath, {})
        if digest:
            cached = self.cache.get(source.path, digest)
            if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], FileFacts) \
                    and cached[0].hash == digest and cached[0].module == source.module:
                facts, analysis = cached
                return _Extracted(source, facts, None, analysis, _pickled_inputs(facts))
        facts, tree = parse_file(source, self.parser, self.max_bytes)
        if tree is not None:
            self.held += facts.size
            if self.held > HELD_SOURCE_BYTES:
                tree = None  # parsed again in phase 2
        return _Extracted(source, facts, tree, None, _pickled_inputs(facts))

    def rows(self, batch: list[_Extracted]) -> tuple[list[FileResult], dict, dict]:
        """Phase 2: analyses of extracted files, and every row they put in the graph."""
        nodes: dict = defaultdict(list)
        edges: dict = defaultdict(list)
        done: list[tuple[FileFacts, FileAnalysis]] = []
        for item in batch:
            facts, analysis, tree = item.facts, item.analysis, item.tree
            if analysis is None and tree is None and not facts.skipped:
                facts, tree = parse_file(item.source, self.parser, self.max_bytes)  # the same facts again
            if analysis is None:
                analysis = (canonical_exceptions(facts, analyze_file(tree, facts)) if tree is not None
                            else FileAnalysis(facts.path, {}, [], []))
                if facts.hash:
                    self.cache.put(facts.path, facts.hash, (facts, analysis))
            enrich_facts(facts, analysis)
            check_unique_ids(facts)
            done.append((facts, analysis))
        more_edges, exception_types = batch_analysis_edges(done)  # one table per edge table for the batch
        for key, table in more_edges.items():
            edges[key].append(table)
        if exception_types is not None:
            nodes[NodeKind.EXCEPTION_TYPE].append(exception_types)
        base_nodes, base_edges = facts_to_arrow([facts for facts, _ in done])
        for kind, table in base_nodes.items():
            nodes[kind].append(table)
        for key, table in base_edges.items():
            edges[key].append(table)
        results = [FileResult(f.path, f.module, f.hash, f.diagnostics, analysis_inputs(a)) for f, a in done]
        return results, dict(nodes), dict(edges)


def _pickled_inputs(facts: FileFacts) -> bytes:
    return pickle.dumps(module_inputs(facts), protocol=pickle.HIGHEST_PROTOCOL)


def check_unique_ids(facts: FileFacts) -> None:
    """Node IDs of a file must be unique; a collision is a bug, so stop before loading.

    (Across files, IDs differ by path; Kuzu's primary key would still reject a clash.)
    """
    seen: set[str] = set()
    for table in facts.node_tables.values():
        for node_id, name in zip(table.ids, table.names):
            if node_id in seen:
                raise RuntimeError(f"node ID collision in {facts.path}: {table.kind.value} {name} ({node_id})")
            seen.add(node_id)


# -- worker processes -------------------------------------------------------------

def _worker_main(parent: int, batches: list[list[SourceFile]], out: multiprocessing.Queue, cache_dir: str,
                 max_bytes: int) -> None:
    """A worker process: every batch's inputs, then every batch's rows, then "done"."""
    _exit_with_parent(parent)
    try:
        with gc_paused():
            worker = _Worker(cache_dir, max_bytes)
            held: list[list[_Extracted]] = []
            for batch in batches:
                items = [worker.extract(source) for source in batch]
                out.put(("inputs", [(item.facts.path, item.inputs) for item in items]))
                held.append(items)
            _yield_to_resolution()
            for i, items in enumerate(held):
                out.put(("rows", worker.rows(items)))
                held[i] = []  # the trees go as soon as their rows are out
        out.put(("done", None))
    except BaseException:  # noqa: BLE001 - reported to the main process, which raises it
        out.put(("error", traceback.format_exc()))
    out.close()
    out.join_thread()


#: Niceness a worker takes for its second phase (see `_yield_to_resolution`).
ANALYSIS_NICENESS = 10


def _yield_to_resolution() -> None:
    """In a worker, once its inputs are out: lower its priority for the analyses.

    The main process then resolves names, the longest step of a run and the one
    everything after it waits for, on one core; the workers' analyses and the
    rows loaded meanwhile have time until it ends. At equal priority the
    scheduler shares both cores between all of them and resolution's wall time
    stretches well past its CPU time (on Django, two cores, a resolve stage of
    25.9 s for ~19 CPU-s). Niced, the workers take what resolution leaves.
    """
    try:
        os.nice(ANALYSIS_NICENESS)
    except OSError:  # not permitted here: run at the same priority
        pass


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the process that started it (PID ``parent``, passed by it: the
    worker's own first look could come after the parent was killed) dies (a killed `astrepo
    index`). Otherwise a worker blocked on a full pipe would wait forever.
    """
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="astrepo-parent-watch", daemon=True).start()


def deal(files: list[SourceFile], workers: int) -> list[list[list[SourceFile]]]:
    """Files dealt to ``workers`` workers, largest first to the least loaded, each share in batches."""
    shares: list[list[SourceFile]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for f in sorted(files, key=lambda f: (-_size(f.abspath), f.path)):
        i = loads.index(min(loads))
        shares[i].append(f)
        loads[i] += max(_size(f.abspath), 1)
    per = max(1, min(BATCH_SIZE, len(files) // (workers * 8)))
    return [[share[j:j + per] for j in range(0, len(share), per)] for share in shares if share]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class PerFileStage:
    """The per-file stage of one run, started at construction: `inputs()` first, then `results()`,
    then `close()` (always: it stops workers that are still running)."""

    def __init__(self, files: list[SourceFile], cache_dir: Path, max_bytes: int, jobs: int,
                 progress: Progress | None = None) -> None:
        self.total = len(files)
        self.progress = progress
        self.parsed = ParsedFiles()
        self._inputs: dict[str, bytes] = {}
        self._modules: dict[str, ModuleInputs] = {}  #: `_inputs` decoded as they come
        self._error: str | None = None
        self._inputs_in = threading.Event()
        self._rows_in = threading.Event()
        self._processes: list = []
        if progress:
            progress("parse", 0, self.total)
        if jobs <= 1 or self.total < MIN_FILES_FOR_POOL:
            self._run_here(files, str(cache_dir), max_bytes)
            return
        context = multiprocessing.get_context("fork")
        self._queue = context.Queue()
        for share in deal(files, jobs):
            process = context.Process(target=_worker_main,
                                      args=(os.getpid(), share, self._queue, str(cache_dir), max_bytes),
                                      name="astrepo-index-worker", daemon=True)
            process.start()
            self._processes.append(process)
        self._collector = threading.Thread(target=self._collect, name="astrepo-index-collector", daemon=True)
        self._collector.start()

    def _run_here(self, files: list[SourceFile], cache_dir: str, max_bytes: int) -> None:
        with gc_paused():
            worker = _Worker(cache_dir, max_bytes)
            for start in range(0, len(files), BATCH_SIZE):
                items = [worker.extract(f) for f in files[start:start + BATCH_SIZE]]
                self._add_inputs([(item.facts.path, item.inputs) for item in items])
                self.parsed.add_batch(*worker.rows(items))
                if self.progress:
                    self.progress("parse", len(self._inputs), self.total)
        self._inputs_in.set()
        self._rows_in_sorted()

    def _collect(self) -> None:
        """Background thread: take every worker message until all are done, one failed or died."""
        running = len(self._processes)
        try:
            while running:
                try:
                    kind, payload = self._queue.get(timeout=_POLL_SECONDS)
                except queue_module.Empty:
                    dead = [p for p in self._processes if p.exitcode not in (None, 0)]
                    if dead:
                        self._error = f"an index worker process died (exit code {dead[0].exitcode})"
                        return
                    continue
                if kind == "inputs":
                    self._add_inputs(payload)
                    if self.progress:
                        self.progress("parse", len(self._inputs), self.total)
                    if len(self._inputs) >= self.total:
                        self._inputs_in.set()
                elif kind == "rows":
                    self.parsed.add_batch(*payload)
                elif kind == "done":
                    running -= 1
                else:
                    self._error = f"an index worker failed:\n{payload}"
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._error = f"collecting index worker results failed: {exc!r}"
        finally:
            if self._error is None and len(self._inputs) < self.total:
                self._error = "index workers finished without reporting every file"
            self._inputs_in.set()
            self._rows_in_sorted()

    def _add_inputs(self, inputs: list[tuple[str, bytes]]) -> None:
        """Keep files' pickled inputs, and decode them now: while the workers still extract, this
        process has nothing else to do, and resolution needs them decoded."""
        self._inputs.update(inputs)
        self._modules.update((path, pickle.loads(data)) for path, data in inputs)

    def _rows_in_sorted(self) -> None:
        """Every file's results are in: sort them by path (once, here, as `results()` may be
        called from two threads)."""
        self.parsed.files.sort(key=lambda f: f.path)
        self._rows_in.set()

    def _wait(self, event: threading.Event) -> None:
        while not event.wait(_POLL_SECONDS):  # short waits let Ctrl-C through
            pass
        if self._error is not None:
            raise RuntimeError(self._error)

    def inputs(self) -> dict[str, bytes]:
        """Every file's pickled `ModuleInputs` by path (blocks until all are in)."""
        self._wait(self._inputs_in)
        return self._inputs

    def modules(self) -> dict[str, ModuleInputs]:
        """`inputs()` decoded, handed over: the stage keeps no reference to them (call once)."""
        self._wait(self._inputs_in)
        modules, self._modules = self._modules, {}
        return modules

    def results(self) -> ParsedFiles:
        """Every file's results and rows, files sorted by path (blocks until all are in)."""
        self._wait(self._rows_in)
        return self.parsed

    def close(self) -> None:
        """Stop and reap the workers (at once if they are still running: the run failed)."""
        for process in self._processes:
            if process.is_alive() and not self._rows_in.is_set():
                process.terminate()
        for process in self._processes:
            process.join()
        self._processes = []
        if not self._rows_in.is_set():  # stopped early: whoever waits for results gets an error
            self._error = self._error or "the per-file stage was stopped before it finished"
            self._inputs_in.set()
            self._rows_in.set()
