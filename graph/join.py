"""The runtime join: a traced run's events as rows of the graph's runtime layer.

`join_run` turns the segments of one run (`astrepo.capture.events.aggregate_run`)
into rows of the tables declared in ``graph/schema.py`` (``RUNTIME_*``):

* one ``Run`` row (command, start, duration, exit code, processes, counts);
* one ``Event`` per exception *occurrence*: the recorder writes one ``X``
  event per function an exception leaves and one ``H`` event per except
  clause that catches it; consecutive ones of a thread with the same type and
  message form one occurrence. ``OBSERVED_AT`` links it to the raise-site
  statement (role ``raised``), every function it left (``propagated``) and
  the clause that caught it (``caught``); at most `MAX_EVENTS_PER_SITE` of them
  per raise site (file, line, type) are kept as rows, the rest only counted
  (``exceptions`` of the run counts all of them, ``exceptions_not_stored`` the rest);
* one ``RuntimeStat`` per instrumented node (zero counts included, so "never
  ran" is data), with ``STAT_OF`` to the node and ``RECORDED_IN`` to the run;
* ``CALLS`` edges with provenance ``runtime`` for caller -> callee function
  pairs seen on the recorded call stacks.

Rows are saved as Arrow IPC files under ``.astrepo/runs/<run>/`` and loaded
into every generation the index publishes (a full load, or the rows that
changed when an incremental run patches a copy of the previous generation:
see graph/delta.py). At load
time rows naming nodes that no longer exist are dropped and counted as
stale, and runtime ``CALLS`` edges that static analysis also found are not
loaded (the static edge already says it; the runtime one fills gaps).

Invariants and known limits:

* memory is bounded whatever the size of the run: events stream in batch by batch, and the
  join keeps per-node statistics, the open calls of each thread, the distinct caller/callee
  pairs and the capped exception rows;
* joining is a pure function of the events plus an optional `NodeIndex` of the
  current graph (for raise-site statements and parameter names); without an
  index, raise sites fall back to the function and arguments are numbered;
* exceptions are grouped by (thread, type, message) order, not by object
  identity (the recorder keeps no references): two identical exceptions
  raised and caught back to back in one frame are still two occurrences, but
  one raised inside a ``finally`` of another's propagation may be merged;
* module-level callers (no call event) give no runtime ``CALLS`` edge.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from astrepo.errors import ConfigError
import pyarrow.compute as pc

from astrepo.capture.codes import TAG_BITS, TAG_MASK, TAGS
from astrepo.capture.events import Event, RunSummary, Totals, aggregate_run
from astrepo.model import NodeKind
from astrepo.graph.schema import RUNTIME_EDGE_TABLES, RUNTIME_NODE_TABLES, edge_columns
from astrepo.graph.rowcache import read_table, write_table

log = logging.getLogger(__name__)

#: Folder of ingested runs' rows under the ``.astrepo`` folder.
RUNS_DIR = "runs"
#: The run's summary beside its rows.
RUN_FILE = "run.json"
#: Version of the saved rows. History: 1 - first version; 2 - Run.plan and Run.exceptions_stored
#: (format 1 runs are upgraded when loaded: `_upgrade_run_table`).
ROWS_FORMAT = 2

#: Types of the observed values kept per node (more are counted as "...").
MAX_TYPES = 8
#: Exception occurrences stored as ``Event`` rows per raise site (file, line, type); the rest
#: are counted. A test suite raising the same exception a million times stays small.
MAX_EVENTS_PER_SITE = 100

#: Capture node kinds -> graph node tables.
_TABLE_OF_KIND = {"module": "Module", "class": "Class", "function": "Function", "lambda": "Function",
                  "call": "CallSite"}

_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
          "STRING[]": pa.list_(pa.string())}

#: (relationship, from table, to table)
EdgeKey = tuple[str, str, str]


def table_of_kind(kind: str) -> str:
    """The graph node table holding nodes of a capture kind."""
    return _TABLE_OF_KIND.get(kind, "Stmt")


@dataclass(slots=True)
class NodeIndex:
    """What the join needs of the current graph: statements by line, parameter names."""

    #: file -> [(start line, end line, kind, id)] of statements
    stmts: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)
    #: function id -> parameter names in signature order
    params: dict[str, list[str]] = field(default_factory=dict)

    def stmt_at(self, path: str, line: int) -> str | None:
        """The innermost statement of ``path`` covering ``line`` (a ``raise`` preferred)."""
        best: tuple[int, int, str] | None = None
        for start, end, kind, node_id in self.stmts.get(path, ()):
            if start <= line <= end:
                rank = (0 if kind == "raise" else 1, end - start)
                if best is None or rank < best[:2]:
                    best = (rank[0], rank[1], node_id)
        return best[2] if best else None


def node_index_from_rows(node_rows: dict) -> NodeIndex:
    """A `NodeIndex` from a generation's rows (``graph.rowcache.load_rows``)."""
    index = NodeIndex()
    for table in node_rows.get(NodeKind.STMT, ()):
        cols = table.select(["id", "file", "start_line", "end_line", "kind"]).to_pydict()
        for node_id, path, start, end, kind in zip(cols["id"], cols["file"], cols["start_line"],
                                                   cols["end_line"], cols["kind"]):
            index.stmts.setdefault(path, []).append((start, end, kind, node_id))
    for table in node_rows.get(NodeKind.PARAMETER, ()):
        cols = table.select(["function", "position", "short_name"]).to_pydict()
        by_func: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for func, pos, name in zip(cols["function"], cols["position"], cols["short_name"]):
            by_func[func].append((pos, name))
        for func, pairs in by_func.items():
            index.params[func] = [n for _, n in sorted(pairs)]
    return index


@dataclass(slots=True)
class RunInfo:
    """What the CLI knows about a run beyond its segments."""

    command: str = ""
    root: str = ""
    strategy: str = ""  #: minimal | balanced | full_trace
    plan: str = ""  #: the plan file of a planned run
    exit_code: int = 0
    duration_s: float = 0.0


@dataclass(slots=True)
class RunRows:
    """The joined rows of one run."""

    run: str
    nodes: dict[str, pa.Table]
    edges: dict[EdgeKey, pa.Table]
    summary: dict


# -- joining ------------------------------------------------------------------------------

@dataclass(slots=True)
class _Stat:
    kind: str
    name: str
    path: str
    line: int
    calls: int = 0
    exceptions: int = 0
    total_ns: int = 0
    finished: int = 0
    max_ns: int = 0
    arg_types: list = field(default_factory=list)  #: per position: {type: None}
    return_types: dict = field(default_factory=dict)
    hits: int = 0
    writes: int = 0  #: variable events (a statement with a line point also has hits)
    taken: int = 0
    not_taken: int = 0
    value_types: dict = field(default_factory=dict)
    last_value: str = ""


@dataclass(slots=True)
class _Occurrence:
    key: tuple
    row: dict
    links: list  #: (target id, target table, role)
    last_depth: int
    stored: bool = True  #: False past `MAX_EVENTS_PER_SITE` of its raise site (followed, not kept)


@dataclass(slots=True)
class _Occurrences:
    """Exception occurrences of a run: the stored ones, and counts per raise site."""

    run: str
    stored: list = field(default_factory=list)
    total: int = 0
    per_site: dict = field(default_factory=lambda: defaultdict(int))

    def new(self, e: Event, key: tuple, path: str, line: int) -> _Occurrence:
        self.total += 1
        site = (path, line, key[0])
        self.per_site[site] += 1
        occ = _new_occurrence(e, key, self.run, self.total - 1, path, line)
        if self.per_site[site] > MAX_EVENTS_PER_SITE:
            occ.stored = False
        else:
            self.stored.append(occ)
        return occ


def join_run(run_dir: str, info: RunInfo | None = None, index: NodeIndex | None = None) -> RunRows:
    """Join one run's segments into runtime-layer rows (pure apart from reading the segments).

    Counts, durations and caller/callee pairs come aggregated from the reader
    (`astrepo.capture.events.aggregate_run`); only the detail events (exceptions, sampled
    previews) go through here one by one.
    """
    info = info or RunInfo()
    index = index or NodeIndex()
    summary, totals, details = aggregate_run(run_dir)
    run = summary.run
    nodes = summary.nodes
    stats: dict[str, _Stat] = {nid: _Stat(kind, qual, path, line) for nid, (path, kind, qual, line) in nodes.items()}
    occurrences = _Occurrences(run)
    open_occ: dict[tuple[int, int], _Occurrence] = {}
    root = os.path.abspath(info.root) if info.root else ""
    for e in details:
        stat = stats[e.node_id]
        stream = (e.pid, e.tid)
        kind = e.kind
        if kind == "call":
            for i, arg in enumerate(e.data.get("args", ())):
                while len(stat.arg_types) <= i:
                    stat.arg_types.append({})
                _add_type(stat.arg_types[i], arg.get("type", "?"))
        elif kind == "return":
            _add_type(stat.return_types, e.data["value"].get("type", "?"))
        elif kind == "exception":
            _exception_left(e, stream, e.data["depth"], index, open_occ, occurrences, run)
        elif kind == "caught":
            _exception_caught(e, stream, e.data["depth"], index, open_occ, occurrences, run, root)
        elif kind == "value":
            value = e.data["value"]
            _add_type(stat.value_types, value.get("type", "?"))
            stat.last_value = value.get("repr", "")
        elif kind == "variable":
            values = e.data.get("values") or {}
            for v in values.values():
                _add_type(stat.value_types, v.get("type", "?"))
            if values:
                stat.last_value = ", ".join(f"{k}={v.get('repr', '')}" for k, v in values.items())
    for occ in open_occ.values():
        if occ.row["outcome"] == "open":
            occ.row["outcome"] = "escaped"
    counts, runtime_calls = _merge_totals(stats, totals, summary.tables.by_key)
    return _rows(run, info, summary, stats, nodes, occurrences, runtime_calls, counts, index)


#: What a frame counts as, per tag letter (`astrepo.capture.codes.TAGS`): (event kind, `_Stat` field).
_COUNT_AS = {"L": ("line", "hits"), "T": ("branch", "taken"), "F": ("branch", "not_taken"),
             "C0": ("call", "calls"), "C1": ("call", "calls"), "A0": ("call", "calls"), "A1": ("call", "calls"),
             "R0": ("return", None), "R1": ("return", None), "X": ("exception", "exceptions"),
             "H": ("caught", "exceptions"), "V0": ("value", "hits"), "V1": ("value", "hits"),
             "W0": ("variable", "writes"), "W1": ("variable", "writes")}


def _merge_totals(stats: dict[str, _Stat], totals: Totals, by_key: dict[int, str]) -> tuple[dict, set]:
    """Add the aggregated counts and durations to ``stats``; (event counts by kind, runtime call pairs)."""
    counts: dict[str, int] = defaultdict(int)
    for code, n in totals.counts.items():
        node_id = by_key.get(code >> TAG_BITS)
        if node_id is None:
            continue
        kind, attr = _COUNT_AS[TAGS[code & TAG_MASK][0]]
        counts[kind] += n
        stat = stats[node_id]
        if attr is not None:
            setattr(stat, attr, getattr(stat, attr) + n)
        if kind == "caught":
            stat.hits += n
    for key, (finished, total, longest) in totals.durations.items():
        stat = stats[by_key[key]]
        stat.finished += finished
        stat.total_ns += total
        stat.max_ns = max(stat.max_ns, longest)
    runtime_calls = {(by_key[caller], by_key[callee]) for caller, callee in totals.pairs}
    return counts, runtime_calls


def _add_type(types: dict, name: str) -> None:
    if name in types or len(types) < MAX_TYPES:
        types[name] = None
    else:
        types["..."] = None


def _message(text: str) -> str:
    """The exception's text from its preview (a quoted repr when it was a str)."""
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        import ast

        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, str) else text
    return text


def _exception_left(e: Event, stream: tuple, depth: int, index: NodeIndex, open_occ: dict,
                    occurrences: _Occurrences, run: str) -> None:
    key = (e.data.get("exc_type", ""), _message(e.data.get("message", "")))
    occ = open_occ.get(stream)
    raised_here = bool(e.data.get("raised_here"))
    # Continue the open occurrence (or one just caught and re-raised) when it left a frame further out.
    if occ is None or raised_here or occ.key != key or depth >= occ.last_depth:
        if occ is not None and occ.row["outcome"] == "open":
            occ.row["outcome"] = "escaped"
        occ = occurrences.new(e, key, e.path, e.line)
        open_occ[stream] = occ
        if raised_here:
            site = index.stmt_at(e.path, e.line)
            if site is not None:
                occ.links.append((site, "Stmt", "raised"))
    occ.row["outcome"] = "open"
    occ.links.append((e.node_id, "Function", "propagated"))
    occ.row["frames"] += 1
    occ.last_depth = depth


def _exception_caught(e: Event, stream: tuple, depth: int, index: NodeIndex, open_occ: dict,
                      occurrences: _Occurrences, run: str, root: str) -> None:
    key = (e.data.get("exc_type", ""), _message(e.data.get("message", "")))
    occ = open_occ.get(stream)
    if occ is not None and (occ.key != key or occ.row["outcome"] != "open"):
        if occ.row["outcome"] == "open":
            occ.row["outcome"] = "escaped"
        occ = None
    if occ is None:
        origin = e.data.get("origin_file", "") or ""
        line = int(e.data.get("origin_line") or 0)
        rel = _relative(origin, root)
        occ = occurrences.new(e, key, rel or origin, line)
        open_occ[stream] = occ
        if rel:
            site = index.stmt_at(rel, line)
            if site is not None:
                occ.links.append((site, "Stmt", "raised"))
    occ.row["outcome"] = "caught"
    occ.last_depth = depth + 1
    occ.links.append((e.node_id, "Stmt", "caught"))


def _relative(path: str, root: str) -> str:
    if not path or not root:
        return ""
    path = os.path.abspath(path)
    if not path.startswith(root + os.sep):
        return ""
    return os.path.relpath(path, root).replace(os.sep, "/")


def _new_occurrence(e: Event, key: tuple, run: str, number: int, path: str, line: int) -> _Occurrence:
    row = {"id": f"{run}:{e.pid}:{e.tid}:{number}", "run": run, "kind": "exception", "outcome": "open",
           "name": e.name, "exc_type": key[0], "message": key[1], "pid": e.pid, "thread": e.thread,
           "ts_ns": e.ts_ns or 0, "call_id": e.call_id, "file": path, "line": line, "frames": 0}
    return _Occurrence(key, row, [], 1 << 30)


def _rows(run: str, info: RunInfo, summary: RunSummary, stats: dict[str, _Stat], nodes: dict,
          occurrences: _Occurrences, runtime_calls: set, counts: dict, index: NodeIndex) -> RunRows:
    stat_rows = []
    stat_edges: dict[EdgeKey, list[tuple]] = defaultdict(list)
    for node_id in sorted(stats):
        s = stats[node_id]
        if not s.kind:
            continue  # an event for a node no module table named (should not happen)
        table = table_of_kind(s.kind)
        names = index.params.get(node_id, [])
        arg_types = [f"{names[i] if i < len(names) else f'arg{i}'}: {'|'.join(t)}"
                     for i, t in enumerate(s.arg_types)]
        stat_rows.append({
            "id": f"{run}:{node_id}", "run": run, "node": node_id, "node_kind": s.kind, "name": s.name,
            "file": s.path, "line": s.line, "calls": s.calls, "exceptions": s.exceptions,
            "total_ns": s.total_ns, "mean_ns": (s.total_ns / s.finished) if s.finished else 0.0,
            "max_ns": s.max_ns, "arg_types": arg_types, "return_types": list(s.return_types),
            "hits": max(s.hits, s.writes), "taken": s.taken, "not_taken": s.not_taken,
            "value_types": list(s.value_types), "last_value": s.last_value,
        })
        stat_edges[("STAT_OF", "RuntimeStat", table)].append((f"{run}:{node_id}", node_id))
        stat_edges[("RECORDED_IN", "RuntimeStat", "Run")].append((f"{run}:{node_id}", run))
    event_rows = []
    edges: dict[EdgeKey, list[tuple]] = stat_edges
    for occ in occurrences.stored:
        event_rows.append(occ.row)
        edges[("RECORDED_IN", "Event", "Run")].append((occ.row["id"], run))
        for position, (target, table, role) in enumerate(occ.links):
            edges[("OBSERVED_AT", "Event", table)].append((occ.row["id"], target, role, position))
    for caller, callee in sorted(runtime_calls):
        src = table_of_kind(nodes.get(caller, ("", "function"))[1])
        dst = table_of_kind(nodes.get(callee, ("", "function"))[1])
        edges[("CALLS", src, dst)].append((caller, callee, "runtime"))
    start_ns = summary.start_ns
    run_row = {
        "id": run, "command": info.command or " ".join(summary.argv), "root": info.root,
        "strategy": info.strategy, "plan": info.plan, "start_ns": start_ns,
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ns / 1e9)) if start_ns else "",
        "duration_s": info.duration_s or ((summary.end_ns - start_ns) / 1e9 if summary.end_ns and start_ns else 0.0),
        "exit_code": info.exit_code, "processes": summary.processes, "events": sum(counts.values()),
        "calls": counts.get("call", 0), "exceptions": occurrences.total,
        "exceptions_stored": len(occurrences.stored),
        "overflow": int(summary.stats.get("overflow_items", 0)), "errors": int(summary.stats.get("errors", 0)),
    }
    out_nodes = {"Run": _node_table("Run", [run_row]), "Event": _node_table("Event", event_rows),
                 "RuntimeStat": _node_table("RuntimeStat", stat_rows)}
    out_edges = {key: _edge_table(key, rows) for key, rows in edges.items() if rows}
    not_stored = occurrences.total - len(occurrences.stored)
    doc = dict(run_row, format=ROWS_FORMAT, event_counts=dict(sorted(counts.items())),
               recorder=summary.stats, nodes=len(stat_rows), exceptions_not_stored=not_stored)
    if not_stored:
        busiest = sorted(occurrences.per_site.items(), key=lambda kv: -kv[1])[:5]
        doc["note"] = (f"{not_stored} of {occurrences.total} exception occurrences are counted but not stored "
                       f"as Event rows (at most {MAX_EVENTS_PER_SITE} per raise site); busiest sites: "
                       + ", ".join(f"{path}:{line} {exc} x{n}" for (path, line, exc), n in busiest))
    return RunRows(run, out_nodes, out_edges, doc)


def _node_table(name: str, rows: list[dict]) -> pa.Table:
    columns = RUNTIME_NODE_TABLES[name]
    return pa.table({c.name: pa.array([r[c.name] for r in rows], type=_ARROW[c.type]) for c in columns})


def _edge_columns(rel: str):
    if rel == "CALLS":
        from astrepo.model import EdgeKind

        return edge_columns(EdgeKind.CALLS)
    return RUNTIME_EDGE_TABLES[rel][1]


def _edge_table(key: EdgeKey, rows: list[tuple]) -> pa.Table:
    columns = _edge_columns(key[0])
    data = {"from": pa.array([r[0] for r in rows], type=pa.string()),
            "to": pa.array([r[1] for r in rows], type=pa.string())}
    for i, c in enumerate(columns):
        data[c.name] = pa.array([r[2 + i] for r in rows], type=_ARROW[c.type])
    return pa.table(data)


# -- persistence ------------------------------------------------------------------------------

def runs_dir(db_dir: Path) -> Path:
    """Where ingested runs' rows live."""
    return Path(db_dir) / RUNS_DIR


def save_run_rows(db_dir: Path, rows: RunRows) -> Path:
    """Write a run's rows (one IPC file per table / table pair) and its summary, atomically."""
    final = runs_dir(db_dir) / rows.run
    tmp = runs_dir(db_dir) / f".{rows.run}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, table in rows.nodes.items():
        write_table(tmp / f"node.{name}.arrow", table)
    for (rel, src, dst), table in rows.edges.items():
        write_table(tmp / f"edge.{rel}.{src}.{dst}.arrow", table)
    (tmp / RUN_FILE).write_text(json.dumps(rows.summary, indent=1, sort_keys=True))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def run_plan_file(summary: dict) -> str:
    """The plan file a run was traced with ("" for a built-in strategy); runs ingested before
    rows format 2 kept it in ``strategy``."""
    plan = summary.get("plan")
    if plan is not None:
        return plan
    strategy = summary.get("strategy", "")
    return "" if strategy in ("", "minimal", "balanced", "full_trace") else strategy


def select_run(runs: list[dict], run: str | None) -> dict | None:
    """The run ``run`` names (an ID or a unique prefix), or the latest when None; None if there are none.

    Raises:
        ConfigError: ``run`` matches no run, or several.
    """
    if not runs:
        return None
    if run is None:
        return runs[-1]
    matches = [r for r in runs if r["id"] == run or r["id"].startswith(run)]
    if len(matches) != 1:
        raise ConfigError(f"no single ingested run matches {run!r}")
    return matches[0]


def list_ingested(db_dir: Path) -> list[dict]:
    """Summaries of the ingested runs, oldest first."""
    out = []
    root = runs_dir(db_dir)
    if not root.is_dir():
        return out
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            out.append(json.loads((path / RUN_FILE).read_text()))
        except (OSError, ValueError):
            log.warning("ignoring unreadable run %s", path)
    return out


def read_run_table(db_dir: Path, run: str, name: str) -> pa.Table | None:
    """One node table of one ingested run (``Run``, ``Event``, ``RuntimeStat``), None if absent."""
    path = runs_dir(db_dir) / run / f"node.{name}.arrow"
    return read_table(path) if path.exists() else None


@dataclass(slots=True)
class RuntimeRows:
    """All runs' rows ready to load, and what was left out."""

    nodes: dict[str, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    edges: dict[EdgeKey, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    runs: int = 0
    stale: int = 0  #: rows (stats and edges) naming nodes that no longer exist
    static_calls: int = 0  #: runtime CALLS edges also found statically (not loaded)

    def counts(self) -> dict[str, int]:
        out = {name: sum(len(t) for t in parts) for name, parts in sorted(self.nodes.items())}
        for (rel, _, _), parts in sorted(self.edges.items()):
            key = "CALLS(runtime)" if rel == "CALLS" else rel
            out[key] = out.get(key, 0) + sum(len(t) for t in parts)
        out.update(runs=self.runs, stale=self.stale, static_calls=self.static_calls)
        return out


def load_runtime_rows(db_dir: Path, node_ids: pa.Array, static_calls: Iterable[tuple[str, str]] = ()) -> RuntimeRows:
    """Every ingested run's rows, minus those whose nodes are not in ``node_ids``.

    Runtime ``CALLS`` edges are deduplicated across runs and dropped where
    ``static_calls`` has the same (from, to) pair.
    """
    out = RuntimeRows()
    root = runs_dir(db_dir)
    if not root.is_dir():
        return out
    valid = node_ids if len(node_ids) else pa.array([], type=pa.string())
    calls: dict[tuple[str, str], set] = defaultdict(set)
    for run_path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            tables = {p.name: read_table(p) for p in sorted(run_path.glob("*.arrow"))}
        except (OSError, pa.ArrowInvalid) as err:
            log.warning("ignoring unreadable run rows %s: %s", run_path, err)
            continue
        out.runs += 1
        if "node.Run.arrow" in tables:
            tables["node.Run.arrow"] = _upgrade_run_table(tables["node.Run.arrow"])
        stats = tables.get("node.RuntimeStat.arrow")
        dropped_stats = pa.array([], type=pa.string())
        if stats is not None:
            keep = pc.is_in(stats["node"], value_set=valid)
            dropped_stats = pc.filter(stats["id"], pc.invert(keep))
            out.stale += len(dropped_stats)
            stats = stats.filter(keep)
            tables["node.RuntimeStat.arrow"] = stats
        for fname, table in tables.items():
            parts = fname.split(".")
            if parts[0] == "node":
                out.nodes[parts[1]].append(table)
                continue
            key = (parts[1], parts[2], parts[3])
            if key[0] == "CALLS":
                for src, dst in zip(table["from"].to_pylist(), table["to"].to_pylist()):
                    calls[(src, dst)].add((key[1], key[2]))
                continue
            if key[0] == "RECORDED_IN" and key[1] == "RuntimeStat":
                keep = pc.invert(pc.is_in(table["from"], value_set=dropped_stats))
            else:
                keep = pc.is_in(table["to"], value_set=valid)
            before = len(table)
            table = table.filter(keep)
            if key[0] != "RECORDED_IN":
                out.stale += before - len(table)
            out.edges[key].append(table)
    static = set(static_calls)
    valid_set = None
    by_pair: dict[EdgeKey, list[tuple]] = defaultdict(list)
    for (src, dst), kinds in sorted(calls.items()):
        if (src, dst) in static:
            out.static_calls += 1
            continue
        if valid_set is None:
            valid_set = set(valid.to_pylist())
        if src not in valid_set or dst not in valid_set:
            out.stale += 1
            continue
        src_kind, dst_kind = sorted(kinds)[0]
        by_pair[("CALLS", src_kind, dst_kind)].append((src, dst, "runtime"))
    for key, rows in by_pair.items():
        out.edges[key].append(_edge_table(key, rows))
    return out


def _upgrade_run_table(table: pa.Table) -> pa.Table:
    """A ``Run`` table of an older rows format with this schema's columns: format 1 kept a planned
    run's plan file in ``strategy`` (now ``plan``, the strategy read back from the plan when it is
    still there) and stored every exception occurrence."""
    names = [c.name for c in RUNTIME_NODE_TABLES["Run"]]
    if table.column_names == names:
        return table
    rows = table.to_pylist()
    for row in rows:
        if "plan" not in row:
            strategy = row.get("strategy", "")
            row["plan"] = "" if strategy in ("", "minimal", "balanced", "full_trace") else strategy
            if row["plan"]:
                row["strategy"] = _plan_strategy(row["plan"])
        row.setdefault("exceptions_stored", row.get("exceptions", 0))
    return _node_table("Run", rows)


def _plan_strategy(plan_path: str) -> str:
    try:
        with open(plan_path, encoding="utf-8") as handle:
            return str(json.load(handle).get("strategy", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def load_runtime(db, rows: RuntimeRows) -> None:
    """COPY runtime rows into an open generation (nodes first; the caller holds the transaction)."""
    for name in RUNTIME_NODE_TABLES:
        parts = [t for t in rows.nodes.get(name, ()) if len(t)]
        if parts:
            db.copy_from(name, pa.concat_tables(parts))
    for (rel, src, dst) in sorted(rows.edges):
        parts = [t for t in rows.edges[(rel, src, dst)] if len(t)]
        if parts:
            db.copy_from(rel, pa.concat_tables(parts), f"from='{src}', to='{dst}'")


