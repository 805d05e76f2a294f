"""The planner: what to instrument, from the graph's static facts and from earlier runs.

Not runtime code: it reads the published graph (`astrepo.graph.store`) and the
ingested runs (`astrepo.graph.join`); the runtime modules never import it.

Steps (`make_plan`):

1. read the project's functions and their facts from the graph, the call graph
   (function level) and the latest ingested run's statistics (`load_inputs`);
2. parse each indexed file with `astrepo.capture.ast_ids` (the same IDs as the
   graph) to know each function's own statements, branches, assignments and
   call sites, and their loop depth;
3. give each function a capture *level* (`LEVELS`, shallow to deep) by the
   strategy's rules, then by ``--target`` / ``--diff`` and, when configured, by
   an AI provider (`astrepo.capture.providers`);
4. predict event counts (runtime statistics when known, heuristics otherwise),
   price them with the calibrated `Costs`, and downgrade the least important
   functions until the estimated overhead fits the budget;
5. emit the points (a plan document `astrepo.capture.points` reads), with reasons,
   the estimate and the predictions `astrepo plan --review` compares.

Levels of a function (each includes the previous ones, except that ``counted``
is replaced by a boundary from ``timed`` on):

* ``exceptions``: exceptions leaving it and caught by its ``except`` clauses
  (every plan has these everywhere: a zero-cost ``try`` until something raises);
* ``counted``: a line point on its first statement (a call counter, no clock);
* ``timed``: its boundary (calls, durations), no value previews;
* ``boundary``: boundary with argument and return previews (sampled);
* ``deep``: plus branches and assigned variables of its own body;
* ``full``: plus every line and call-site value.
"""

from __future__ import annotations

import ast
import hashlib
import heapq
import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from astrepo.capture.ast_ids import FUNCTION_TYPES, assign_ids
from astrepo.capture.cost import DEFAULT_COSTS, Costs, sampled_previews
from astrepo.capture.points import ENTRY_NAMES, PLAN_FORMAT, STRATEGIES, default_points
from astrepo.capture.providers import (LEVELS, Candidate, OfflineProvider, PlanProvider, PlanRequest,
                                       select_with_fallback)
from astrepo.errors import ConfigError

log = logging.getLogger(__name__)

EXCEPTIONS, COUNTED, TIMED, BOUNDARY, DEEP, FULL = range(6)
LEVEL_OF = {name: i for i, name in enumerate(LEVELS)}

#: Default budgets (percent of extra run time, fixed per-process costs excluded), per strategy,
#: without / with runtime statistics of an earlier run. None: no cap.
DEFAULT_BUDGET = {"minimal": (20.0, 10.0), "balanced": (100.0, 30.0), "full_trace": (None, None)}
#: Calls from which a function counts as hot (with statistics).
HOT_CALLS = 1000
#: A hot function whose boundary would cost more than this fraction of its own mean duration is "cheap".
CHEAP_RATIO = 0.25
#: Decision points (cyclomatic) from which `balanced` captures branches and variables.
COMPLEX_CYCLOMATIC = 6
#: Heuristic loop iterations per loop level (without statistics).
LOOP_ITERATIONS = 4
#: Heuristic own time of one statement, ns (without statistics).
STATEMENT_NS = 80.0
#: `minimal`: at least this many most important functions get timed boundaries (or 5%).
MINIMAL_TOP = 3
#: Default radius of --target / --diff around the named functions, in call-graph hops.
DEFAULT_RADIUS = 2
#: Roles (graph Function.roles) marking entry points.
ENTRY_ROLES = frozenset({"test", "cli_entry", "view", "celery_task", "entry_point", "main"})


# -- inputs ------------------------------------------------------------------------------------

@dataclass(slots=True)
class Function:
    """One project function: graph facts plus what the planner derives."""

    id: str
    name: str
    file: str
    line: int
    facts: dict  #: Function columns from the graph (cyclomatic, statements, fan_in, ...)
    params: int = 0
    #: own nodes: (node id, capture kind, loop depth, names assigned (variables))
    own: list = field(default_factory=list)
    excepts: list = field(default_factory=list)  #: own except clause ids
    first_stmt: str = ""  #: id of the first statement (the counter of ``counted``)
    max_loop: int = 0
    has_raise: bool = False


@dataclass(slots=True)
class RunStats:
    """Runtime statistics of one ingested run, per node id."""

    run: str
    summary: dict
    rows: dict  #: node id -> RuntimeStat row
    plan_levels: dict | None  #: function id -> level the run used (None: unknown per function)
    default_level: int | None  #: level of functions not in plan_levels (built-in strategies)

    def level_of(self, fid: str) -> int | None:
        if self.plan_levels is not None and fid in self.plan_levels:
            return self.plan_levels[fid]
        return self.default_level


@dataclass(slots=True)
class Inputs:
    """Everything a plan is computed from."""

    root: str
    functions: dict[str, Function]
    calls: list[tuple[str, str]]  #: function-level CALLS (caller, callee)
    module_nodes: dict[str, list]  #: file -> full_trace points of module/class bodies: (id, kind, names)
    graph_ids: set[str]
    stats: RunStats | None = None
    sources: dict[str, str] = field(default_factory=dict)


def load_inputs(db_dir: str, root: str, run: str | None = None, use_stats: bool = True) -> Inputs:
    """Read facts from the published graph, parse the indexed files, read the latest run's statistics."""
    from astrepo.graph.store import GraphStore
    from astrepo.layout import Layout

    db = GraphStore(Layout(Path(db_dir))).open_read()
    try:
        cols = ["id", "name", "file", "start_line", "kind", "cyclomatic", "cognitive", "lines", "statements",
                "max_nesting", "roles", "effects", "pure", "fan_in", "fan_out", "pagerank", "recursion", "may_raise",
                "n_params"]
        _, rows = db.execute("MATCH (f:Function) RETURN " + ", ".join(f"f.{c}" for c in cols))
        facts = {r[0]: dict(zip(cols, r)) for r in rows}
        _, rows = db.execute("MATCH (a:Function)-[:CALLS]->(b:Function) RETURN a.id, b.id")
        calls = sorted({(a, b) for a, b in rows})
        _, rows = db.execute("MATCH (f:File) RETURN f.file, f.status")
        files = sorted(f for f, status in rows if status == "ok" and f.endswith(".py"))
        graph_ids: set[str] = set()
        for table in ("Module", "Class", "Function", "CallSite", "Stmt"):
            _, rows = db.execute(f"MATCH (n:{table}) RETURN n.id")
            graph_ids.update(r[0] for r in rows)
    finally:
        db.close()
    functions: dict[str, Function] = {}
    module_nodes: dict[str, list] = {}
    sources: dict[str, str] = {}
    for rel in files:
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            tree = ast.parse(data)
        except (OSError, SyntaxError, ValueError) as err:
            log.info("planner skips %s: %s", rel, err)
            continue
        sources[rel] = data.decode("utf-8", "replace")
        _read_module(tree, rel, facts, functions, module_nodes)
    inputs = Inputs(os.path.abspath(root), functions, calls, module_nodes, graph_ids, sources=sources)
    if use_stats:
        inputs.stats = load_run_stats(db_dir, run)
    return inputs


def _read_module(tree: ast.Module, rel: str, facts: dict, functions: dict, module_nodes: dict) -> None:
    ids = assign_ids(tree, rel)
    full = default_points("full_trace", tree, ids)
    func_of: dict[str, Function] = {}
    for node, record in ids.records.items():
        if record.kind != "function" or not isinstance(node, FUNCTION_TYPES):
            continue
        f = facts.get(record.id)
        fn = Function(record.id, (f or {}).get("name") or ids.qualnames.get(node, ""), rel, record.line, f or {},
                      params=len(ids.params.get(node, ())))
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        if body:
            fn.first_stmt = ids.records[body[0]].id if body[0] in ids.records else ""
        for inner, depth in _own_nodes_with_depth(node):
            rec = ids.records.get(inner)
            if rec is None:
                continue
            if isinstance(inner, ast.Raise):
                fn.has_raise = True
            fn.max_loop = max(fn.max_loop, depth)
            if rec.kind == "except":
                fn.excepts.append(rec.id)
            kinds = full.get(rec.id, {})
            for kind in kinds:
                if kind == "exception":
                    continue
                fn.own.append((rec.id, kind, depth, _assigned_count(inner) if kind == "variable" else 0))
        functions[record.id] = fn
        func_of[record.scope] = fn
    # Module and class bodies: import-time statements (full_trace only), except clauses always.
    function_scopes = {s for n, s in ids.scope_of.items() if isinstance(n, (*FUNCTION_TYPES, ast.Lambda))}
    out = []
    for node, record in ids.records.items():
        if record.kind in ("function", "lambda", "module", "class") or record.scope in function_scopes:
            continue
        for kind in full.get(record.id, {}):
            out.append((record.id, kind, _assigned_count(node) if kind == "variable" else 0))
    module_nodes[rel] = out


def _own_nodes_with_depth(func: ast.AST):
    """(node, loop depth) for the nodes of a function's body, not entering nested definitions."""
    stack = [(n, 0) for n in func.body]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        inner = depth + 1 if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.comprehension)) else depth
        for child in ast.iter_child_nodes(node):
            # a loop's test/iterable runs about as often as its body
            stack.append((child, inner))


def _assigned_count(node: ast.AST) -> int:
    targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
    return max(1, sum(len([n for n in ast.walk(t) if isinstance(n, ast.Name)]) for t in targets if t is not None))


def load_run_stats(db_dir: str, run: str | None = None) -> RunStats | None:
    """Statistics of run ``run`` (default: the latest ingested one), or None."""
    from astrepo.graph.join import list_ingested, read_run_table, select_run

    chosen = select_run(list_ingested(Path(db_dir)), run)
    if chosen is None:
        return None
    table = read_run_table(Path(db_dir), chosen["id"], "RuntimeStat")
    rows = {r["node"]: r for r in table.to_pylist()} if table is not None else {}
    plan_levels, default_level = _levels_of_run(chosen.get("strategy", ""))
    return RunStats(chosen["id"], chosen, rows, plan_levels, default_level)


def _levels_of_run(strategy: str) -> tuple[dict | None, int | None]:
    """Which level each function had in a run, from the run's strategy (a name or a plan file)."""
    if strategy == "full_trace":
        return None, FULL
    if strategy == "balanced":
        return None, BOUNDARY
    if strategy == "minimal":
        return None, None
    try:
        with open(strategy, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return None, None
    levels = {f["id"]: LEVEL_OF.get(f.get("level"), EXCEPTIONS) for f in doc.get("functions", ()) if "id" in f}
    return levels, EXCEPTIONS if levels else None


# -- planning ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlanOptions:
    strategy: str = "balanced"
    budget_pct: float | None = None  #: None: the strategy's default
    targets: tuple[str, ...] = ()
    diff: str | None = None
    radius: int = DEFAULT_RADIUS
    baseline_s: float | None = None  #: the untraced run time, when the user knows it


@dataclass(slots=True)
class Decision:
    level: int
    reason: str
    importance: float = 1.0
    pinned: bool = False  #: targets and diff: never downgraded by the budget
    sampling: dict | None = None
    extra_lines: list = field(default_factory=list)  #: statement ids with line points (diff)


def make_plan(inputs: Inputs, options: PlanOptions, costs: Costs = DEFAULT_COSTS,
              provider: PlanProvider | None = None) -> dict:
    """The plan document for ``options`` (see the module docstring)."""
    if options.strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {options.strategy!r}: use one of {', '.join(STRATEGIES)}")
    funcs = inputs.functions
    counts = predict_counts(inputs)
    decisions = {fid: _offline_decision(options.strategy, fn, counts, inputs, costs) for fid, fn in funcs.items()}
    notes: list[str] = []
    if options.strategy == "minimal":
        _minimal_top(funcs, decisions)
    _apply_targets(options, inputs, decisions, notes)
    # The provider: offline by default; an AI provider's levels override the offline ones.
    provider = provider or OfflineProvider()
    order = sorted(funcs, key=lambda fid: -decisions[fid].importance)
    request = PlanRequest(options.strategy, options.budget_pct, tuple(
        Candidate(fid, funcs[fid].name, funcs[fid].file, funcs[fid].line, candidate_signals(funcs[fid], counts, inputs),
                  LEVELS[decisions[fid].level], decisions[fid].reason,
                  _function_source(inputs, funcs[fid])) for fid in order))
    selection = select_with_fallback(provider, request)
    if selection.provider != "offline":
        n = len(selection.choices)
        for choice in selection.choices:
            d = decisions[choice.node_id]
            if d.pinned:
                continue
            d.level = LEVEL_OF[choice.level]
            d.reason = f"{selection.provider}: {choice.reason}" if choice.reason else selection.provider
            d.importance = 10.0 * (n - choice.rank) / max(1, n) + 1.0
    # Budget.
    budget = options.budget_pct
    with_stats = inputs.stats is not None and bool(inputs.stats.rows)
    if budget is None:
        budget = DEFAULT_BUDGET[options.strategy][1 if with_stats else 0]
    baseline_ns, basis = _baseline(inputs, options, counts, costs)
    floors = {fid: (d.level if d.pinned else EXCEPTIONS) for fid, d in decisions.items()}
    if budget is not None:
        _fit_budget(decisions, floors, funcs, counts, costs, baseline_ns * budget / 100.0, notes, with_stats)
    points, predictions = _emit_points(inputs, decisions, counts, options.strategy == "full_trace")
    stale = sorted({p["node_id"] for p in points if p["node_id"] not in inputs.graph_ids})
    if stale:
        points = [p for p in points if p["node_id"] not in set(stale)]
        notes.append(f"{len(stale)} node(s) not in the current graph (re-run `astrepo index`): dropped")
    variable_ns = sum(function_cost(funcs[fid], d.level, counts, costs, d.sampling) for fid, d in decisions.items())
    variable_ns += _exception_cost(inputs, counts, costs) + _module_cost(inputs, options.strategy, costs)
    fixed_ns = costs.process + costs.instrument_point * len(points)
    events = sum(p.get("events", 0) for p in predictions.values())
    doc = {
        "format": PLAN_FORMAT,
        "strategy": options.strategy,
        "budget_pct": budget,
        "provider": selection.provider + (f" (fallback: {selection.fallback})" if selection.fallback else ""),
        "provider_dropped": selection.dropped,
        "stale_dropped": len(stale),
        "estimate": {
            "overhead_pct": round(100.0 * variable_ns / baseline_ns, 1) if baseline_ns else None,
            "variable_ms": round(variable_ns / 1e6, 3),
            "fixed_ms": round(fixed_ns / 1e6, 1),
            "baseline_ms": round(baseline_ns / 1e6, 3),
            "basis": basis,
            "events": int(events),
            "costs": "calibrated" if costs.measured else "defaults (run `astrepo calibrate`)",
        },
        "stats_run": inputs.stats.run if inputs.stats else None,
        "notes": notes,
        "points": points,
        "functions": [{"id": fid, "name": funcs[fid].name, "file": funcs[fid].file, "line": funcs[fid].line,
                       "level": LEVELS[d.level], "reason": d.reason, "calls": round(counts.calls(fid), 1),
                       "known": counts.known(fid), "cost_ms": round(function_cost(funcs[fid], d.level, counts, costs,
                                                                                 d.sampling) / 1e6, 4)}
                      for fid, d in sorted(decisions.items(), key=lambda kv: (funcs[kv[0]].file, funcs[kv[0]].line))],
        "predictions": predictions,
    }
    return doc


def candidate_signals(fn: Function, counts: "Counts", inputs: Inputs) -> dict:
    f = fn.facts
    out = {k: f.get(k) for k in ("cyclomatic", "statements", "fan_in", "fan_out", "roles", "may_raise", "recursion")}
    out["pagerank"] = round(float(f.get("pagerank") or 0.0), 5)
    out["loops"] = fn.max_loop
    if counts.known(fn.id):
        out["calls"] = int(counts.calls(fn.id))
        out["mean_ns"] = int(counts.mean_ns(fn.id) or 0)
        out["never_executed"] = counts.calls(fn.id) == 0
    out["exceptions"] = counts.exceptions(fn.id)
    return out


def _function_source(inputs: Inputs, fn: Function) -> str:
    text = inputs.sources.get(fn.file, "")
    if not text:
        return ""
    lines = text.splitlines()
    end = int(fn.facts.get("lines") or 30) + fn.line - 1
    return "\n".join(lines[fn.line - 1:min(end, fn.line + 79)])


def _is_entry(fn: Function) -> bool:
    short = fn.name.rsplit(".", 1)[-1]
    roles = set(fn.facts.get("roles") or ())
    return short in ENTRY_NAMES or short.startswith("test") or bool(roles & ENTRY_ROLES)


def _importance(fn: Function, counts: "Counts") -> float:
    f = fn.facts
    value = 1.0 + 200.0 * float(f.get("pagerank") or 0.0) + float(f.get("cyclomatic") or 1) / 5.0
    if f.get("may_raise") or fn.has_raise:
        value += 2.0
    if counts.exceptions(fn.id):
        value += 5.0
    if _is_entry(fn):
        value += 3.0
    return value


def _offline_decision(strategy: str, fn: Function, counts: "Counts", inputs: Inputs, costs: Costs) -> Decision:
    f = fn.facts
    importance = _importance(fn, counts)
    known = counts.known(fn.id)
    calls = counts.calls(fn.id)
    raised = counts.exceptions(fn.id) > 0
    never = known and calls == 0
    note = " (never executed in the last run)" if never else ""
    hot_cheap = known and calls >= HOT_CALLS and costs.boundary > CHEAP_RATIO * max(1.0, counts.mean_ns(fn.id) or 0.0)
    trivial_leaf = (int(f.get("statements") or 99) <= 3 and fn.max_loop == 0 and int(f.get("fan_out") or 0) == 0
                    and int(f.get("cyclomatic") or 1) <= 2)
    if strategy == "full_trace":
        return Decision(FULL, "full_trace" + note, importance)
    if raised:
        sampling = {"first": 64, "every": 1} if calls < 10 * HOT_CALLS else None
        return Decision(DEEP, f"raised {counts.exceptions(fn.id)} exception(s) in the last run", importance + 5, False,
                        sampling)
    if strategy == "minimal":
        if _is_entry(fn):
            return Decision(COUNTED if hot_cheap else TIMED, "entry point" + (", hot and cheap" if hot_cheap else ""),
                            importance)
        return Decision(EXCEPTIONS, "exceptions only" + note, importance)
    # balanced
    if hot_cheap:
        return Decision(COUNTED, f"hot and cheap ({int(calls)} calls, mean {int(counts.mean_ns(fn.id) or 0)} ns): counted",
                        importance)
    if not known and trivial_leaf:
        return Decision(COUNTED, "trivial leaf (likely hot): counted", importance)
    complex_ = int(f.get("cyclomatic") or 1) >= COMPLEX_CYCLOMATIC or fn.has_raise
    if complex_:
        return Decision(DEEP, ("raises" if fn.has_raise else f"complex (cyclomatic {f.get('cyclomatic')})") + note,
                        importance)
    return Decision(BOUNDARY, "boundary with argument/return previews" + note, importance)


def _minimal_top(funcs: dict[str, Function], decisions: dict[str, Decision]) -> None:
    """`minimal`: the few functions that matter most (importance: centrality, complexity, exception flow)
    get timed boundaries."""
    k = max(MINIMAL_TOP, len(funcs) // 20)
    ranked = sorted((fid for fid, d in decisions.items() if d.level < TIMED and d.reason.startswith("exceptions")),
                    key=lambda fid: -decisions[fid].importance)
    for fid in ranked[:k]:
        d = decisions[fid]
        d.level = TIMED
        d.reason = f"among the {k} most important (centrality, complexity, may-raise)"


def _apply_targets(options: PlanOptions, inputs: Inputs, decisions: dict[str, Decision], notes: list) -> None:
    funcs = inputs.functions
    named: dict[str, str] = {}  # function id -> why
    for target in options.targets:
        hits = [fid for fid, fn in funcs.items() if _matches(fn, target)]
        if not hits:
            notes.append(f"target {target!r} matches no function")
        for fid in hits:
            named[fid] = f"target {target}"
    changed_lines: dict[str, list[str]] = {}
    if options.diff:
        changed = changed_lines_since(inputs.root, options.diff)
        for fid, fn in funcs.items():
            lines = changed.get(fn.file)
            if not lines:
                continue
            end = fn.line + int(fn.facts.get("lines") or 1) - 1
            if any(fn.line <= ln <= end for ln in lines):
                named.setdefault(fid, f"changed since {options.diff}")
        notes.append(f"diff {options.diff}: {sum(len(v) for v in changed.values())} changed lines in "
                     f"{len(changed)} files, {sum(1 for w in named.values() if w.startswith('changed'))} functions")
    if not named:
        return
    callers: dict[str, set] = {}
    callees: dict[str, set] = {}
    for a, b in inputs.calls:
        callees.setdefault(a, set()).add(b)
        callers.setdefault(b, set()).add(a)
    for fid, why in named.items():
        d = decisions[fid]
        d.level, d.reason, d.pinned = FULL, why, True
        d.importance += 20
        radius = options.radius if why.startswith("target") else 1
        for direction, graph, level in (("caller", callers, DEEP), ("callee", callees, DEEP)):
            if why.startswith("changed") and direction == "callee":
                continue  # diff mode: the changed code and who calls it
            frontier, seen = {fid}, {fid}
            for dist in range(1, radius + 1):
                frontier = {n for x in frontier for n in graph.get(x, ()) if n not in seen and n in decisions}
                seen |= frontier
                for n in frontier:
                    dn = decisions[n]
                    if dn.pinned and dn.level >= level:
                        continue
                    dn.level = max(dn.level, level if why.startswith("target") else BOUNDARY)
                    dn.reason = f"{direction} of {funcs[fid].name} (distance {dist}; {why})"
                    dn.pinned = True
                    dn.importance += 10


def _matches(fn: Function, target: str) -> bool:
    if "/" in target or target.endswith(".py"):
        t = target.rstrip("/")
        return fn.file == t or fn.file.startswith(t + "/") or fn.file.startswith(t.removeprefix("./") + "/")
    return fn.name == target or fn.name.endswith("." + target) or fn.name.rsplit(".", 1)[-1] == target


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines_since(root: str, rev: str) -> dict[str, list[int]]:
    """Changed (added or modified) lines per repo-relative .py file, from ``git diff -U0 REV``."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        proc = subprocess.run(["git", "diff", "-U0", "--no-color", "--no-ext-diff", rev, "--", "*.py"], cwd=root,
                              capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ConfigError(f"--diff needs a git repository at {root}: {err}") from err
    if proc.returncode != 0:
        raise ConfigError(f"git diff {rev} failed: {proc.stderr.strip().splitlines()[-1:]}")
    out: dict[str, list[int]] = {}
    current = None
    root_abs = os.path.realpath(root)
    for line in proc.stdout.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            current = None
            if name != "/dev/null":
                full = os.path.realpath(os.path.join(top, name[2:] if name.startswith("b/") else name))
                if full.startswith(root_abs + os.sep):
                    current = os.path.relpath(full, root_abs).replace(os.sep, "/")
            continue
        m = _HUNK.match(line)
        if m and current:
            start, length = int(m.group(1)), int(m.group(2) or 1)
            out.setdefault(current, []).extend(range(start, start + length))
    return out


# -- counts and costs ---------------------------------------------------------------------------

class Counts:
    """Predicted executions per node: runtime statistics when known, heuristics otherwise."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self._calls: dict[str, float] = {}
        self._known: set[str] = set()
        self._mean: dict[str, float] = {}
        self._exc: dict[str, int] = {}
        stats = inputs.stats
        rows = stats.rows if stats else {}
        for fid, fn in inputs.functions.items():
            row = rows.get(fid)
            level = stats.level_of(fid) if stats else None
            if row is not None:
                self._exc[fid] = int(row.get("exceptions") or 0)
            if row is not None and (row.get("calls") or 0) > 0:
                self._calls[fid] = float(row["calls"])
                self._mean[fid] = float(row.get("mean_ns") or 0.0)
                self._known.add(fid)
            elif fn.first_stmt and (rows.get(fn.first_stmt) or {}).get("hits"):
                self._calls[fid] = float(rows[fn.first_stmt]["hits"])
                self._known.add(fid)
            elif row is not None and level is not None and level >= COUNTED:
                self._calls[fid] = 0.0  # instrumented, never called
                self._known.add(fid)
        # Unknown functions: the sum of their known callers' calls, else 1 + fan-in.
        callers: dict[str, list] = {}
        for a, b in inputs.calls:
            callers.setdefault(b, []).append(a)
        for fid, fn in inputs.functions.items():
            if fid in self._calls:
                continue
            known_callers = [self._calls[c] for c in callers.get(fid, ()) if c in self._known]
            if known_callers:
                self._calls[fid] = float(sum(known_callers))
            else:
                self._calls[fid] = 1.0 + float(fn.facts.get("fan_in") or 0)

    def known(self, fid: str) -> bool:
        return fid in self._known

    def calls(self, fid: str) -> float:
        return self._calls.get(fid, 0.0)

    def mean_ns(self, fid: str) -> float | None:
        return self._mean.get(fid)

    def exceptions(self, fid: str) -> int:
        return self._exc.get(fid, 0)

    def node(self, fid: str, node_id: str, kind: str, depth: int) -> float:
        """Predicted events of one own node of function ``fid``."""
        row = self.inputs.stats.rows.get(node_id) if self.inputs.stats else None
        if row is not None:
            if kind == "branch" and (row.get("taken") or row.get("not_taken")):
                return float(row["taken"] + row["not_taken"])
            if kind != "branch" and row.get("hits"):
                return float(row["hits"])
            if self.known(fid) and self.calls(fid) == 0:
                return 0.0
        return self.calls(fid) * (LOOP_ITERATIONS ** depth)


def predict_counts(inputs: Inputs) -> Counts:
    return Counts(inputs)


def function_cost(fn: Function, level: int, counts: Counts, costs: Costs, sampling: dict | None = None) -> float:
    """Predicted capture cost (ns) of one function at ``level`` (exception events apart)."""
    c = counts.calls(fn.id)
    total = c * costs.exc_wrapper
    if level == COUNTED:
        return total + c * (costs.local_fetch + costs.line)
    if level >= TIMED:
        total += c * costs.boundary
    if level >= BOUNDARY:
        first, every = _sampling_pair(sampling)
        total += c * costs.sample_check + sampled_previews(c, first, every) * (fn.params + 1) * costs.preview
    if level >= DEEP:
        for node_id, kind, depth, names in fn.own:
            n = counts.node(fn.id, node_id, kind, depth)
            if kind == "branch":
                total += n * costs.branch
            elif kind == "variable":
                total += n * (costs.variable + costs.sample_check) + sampled_previews(n) * names * costs.preview
            elif level >= FULL and kind == "line":
                total += n * costs.line
            elif level >= FULL and kind == "expression":
                total += n * costs.expression + sampled_previews(n) * costs.preview
    return total


def _sampling_pair(sampling: dict | None) -> tuple[int, int]:
    if not sampling:
        return 32, 1024
    return int(sampling.get("first", 32)), max(1, int(sampling.get("every", 1024)))


def _exception_cost(inputs: Inputs, counts: Counts, costs: Costs) -> float:
    return sum(counts.exceptions(fid) for fid in inputs.functions) * costs.exception


def _module_cost(inputs: Inputs, strategy: str, costs: Costs) -> float:
    if strategy != "full_trace":
        return 0.0
    return sum(len(v) for v in inputs.module_nodes.values()) * costs.line


def _baseline(inputs: Inputs, options: PlanOptions, counts: Counts, costs: Costs) -> tuple[float, str]:
    """The untraced run time (ns) the overhead is relative to, and where it comes from."""
    if options.baseline_s:
        return options.baseline_s * 1e9, "given baseline"
    stats = inputs.stats
    if stats is not None and stats.rows and stats.summary.get("duration_s"):
        duration = float(stats.summary["duration_s"]) * 1e9
        spent = costs.process * max(1, int(stats.summary.get("processes") or 1))
        for fid, fn in inputs.functions.items():
            level = stats.level_of(fid)
            if level is not None:
                spent += function_cost(fn, level, counts, costs)
        spent += _exception_cost(inputs, counts, costs)
        work = max(duration - spent, 0.05 * duration)
        return work, f"run {stats.run} ({stats.summary['duration_s']:.3f} s traced, minus its estimated capture cost)"
    # Heuristic: calls x own time from the statement counts.
    total = 0.0
    for fid, fn in inputs.functions.items():
        body = STATEMENT_NS * max(1, int(fn.facts.get("statements") or 1)) * (LOOP_ITERATIONS ** fn.max_loop) + 150.0
        total += counts.calls(fid) * body
    return max(total, 1.0), "heuristic (no runtime statistics: statement counts and fan-in)"


def _fit_budget(decisions: dict[str, Decision], floors: dict, funcs: dict, counts: Counts, costs: Costs,
                allowed_ns: float, notes: list, with_stats: bool) -> None:
    """Downgrade functions (least important per ns saved first) until the variable cost fits."""
    total = sum(function_cost(funcs[fid], d.level, counts, costs, d.sampling) for fid, d in decisions.items())
    if total <= allowed_ns:
        return
    heap: list = []

    def push(fid: str) -> None:
        d = decisions[fid]
        if d.level <= floors[fid]:
            return
        lower = _next_lower(d.level)
        saved = (function_cost(funcs[fid], d.level, counts, costs, d.sampling)
                 - function_cost(funcs[fid], lower, counts, costs, None))
        if saved <= 0:
            # Nothing saved by this step: try the one below it next time round.
            saved = 1e-9
        heapq.heappush(heap, (-saved / d.importance, fid, d.level))

    for fid in decisions:
        push(fid)
    steps = 0
    while total > allowed_ns and heap:
        _, fid, level = heapq.heappop(heap)
        d = decisions[fid]
        if d.level != level:
            continue
        before = function_cost(funcs[fid], d.level, counts, costs, d.sampling)
        d.level = _next_lower(d.level)
        d.sampling = None
        after = function_cost(funcs[fid], d.level, counts, costs, None)
        total -= before - after
        d.reason = f"{d.reason}; lowered to {LEVELS[d.level]} for the budget"
        steps += 1
        push(fid)
    notes.append(f"budget: {steps} downgrade step(s) to fit {allowed_ns / 1e6:.1f} ms of capture"
                 + ("" if total <= allowed_ns else f"; still over ({total / 1e6:.1f} ms) at the floor"))


def _next_lower(level: int) -> int:
    # timed -> exceptions skips counted? No: counted is cheaper than timed, so the ladder is linear.
    return level - 1


def _emit_points(inputs: Inputs, decisions: dict[str, Decision], counts: Counts, full: bool) -> tuple[list, dict]:
    points: list[dict] = []
    predictions: dict[str, dict] = {}

    def add(node_id: str, kind: str, reason: str, capture: dict | None = None, sampling: dict | None = None) -> None:
        points.append({"node_id": node_id, "kind": kind, "capture": capture or {}, "sampling": sampling,
                       "reason": reason})

    for fid in sorted(decisions, key=lambda f: (inputs.functions[f].file, inputs.functions[f].line, f)):
        fn, d = inputs.functions[fid], decisions[fid]
        add(fid, "exception", "exceptions everywhere")
        for eid in fn.excepts:
            add(eid, "exception", "exceptions everywhere")
        calls = counts.calls(fid)
        if d.level == COUNTED and fn.first_stmt:
            add(fn.first_stmt, "line", f"call counter of {fn.name}: {d.reason}")
            predictions[fn.first_stmt] = {"kind": "line", "events": round(calls, 1), "function": fid}
        if d.level >= TIMED:
            capture = {"args": True, "return": True} if d.level >= BOUNDARY else {}
            add(fid, "function_boundary", d.reason, capture, d.sampling)
            predictions[fid] = {"kind": "function", "calls": round(calls, 1), "events": round(2 * calls, 1)}
        if d.level >= DEEP:
            for node_id, kind, depth, _ in fn.own:
                if kind in ("branch", "variable") or d.level >= FULL:
                    add(node_id, kind, f"{LEVELS[d.level]} capture of {fn.name}")
                    n = counts.node(fid, node_id, kind, depth)
                    prev = predictions.get(node_id)
                    if prev is None or prev["kind"] != "line":
                        predictions[node_id] = {"kind": kind, "events": round(n, 1), "function": fid}
    for rel in sorted(inputs.module_nodes):
        for node_id, kind, _ in inputs.module_nodes[rel]:
            if kind == "exception" or full:
                add(node_id, kind, "exceptions everywhere" if kind == "exception" else "full_trace")
    return points, predictions


# -- documents ----------------------------------------------------------------------------------

def plan_digest(doc: dict) -> str:
    return hashlib.blake2b(json.dumps(doc.get("points", []), sort_keys=True).encode(), digest_size=6).hexdigest()


def write_plan(doc: dict, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=1)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def validate_plan(doc: dict, graph_ids: set[str]) -> tuple[dict, list[str]]:
    """Drop points whose node IDs the current graph does not know; returns (plan, stale ids)."""
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ConfigError(f"a plan must be a JSON object with \"format\": {PLAN_FORMAT}")
    stale = sorted({p.get("node_id") for p in doc.get("points", ()) if p.get("node_id") not in graph_ids})
    if stale:
        bad = set(stale)
        doc = dict(doc, points=[p for p in doc["points"] if p.get("node_id") not in bad])
        doc["stale_dropped"] = len(stale)
    return doc, stale


def read_graph_ids(db_dir: str) -> set[str]:
    from astrepo.graph.store import GraphStore
    from astrepo.layout import Layout

    db = GraphStore(Layout(Path(db_dir))).open_read()
    try:
        ids: set[str] = set()
        for table in ("Module", "Class", "Function", "CallSite", "Stmt"):
            _, rows = db.execute(f"MATCH (n:{table}) RETURN n.id")
            ids.update(r[0] for r in rows)
        return ids
    finally:
        db.close()


def plan_for_trace(db_dir: str, root: str, strategy: str, costs: Costs | None = None) -> str | None:
    """For ``astrepo trace --strategy S``: plan with the graph and write it under .astrepo/plans/.

    Returns the plan file, or None when there is no usable graph (trace then uses the
    built-in source-only default of the strategy).
    """
    from astrepo.capture.cost import load_costs
    from astrepo.errors import AstrepoError

    try:
        inputs = load_inputs(db_dir, root)
    except AstrepoError as err:
        log.info("no graph to plan with (%s): built-in %s", err, strategy)
        return None
    if not inputs.functions:
        return None
    doc = make_plan(inputs, PlanOptions(strategy=strategy), costs or load_costs(db_dir))
    path = os.path.join(db_dir, "plans", f"{strategy}-{plan_digest(doc)}.json")
    return write_plan(doc, path)


def explain_lines(doc: dict) -> list[str]:
    """Human-readable reasons: one line per function, then the notes."""
    lines = []
    for f in doc.get("functions", ()):
        lines.append(f"{f['file']}:{f['line']} {f['name']}: {f['level']} - {f['reason']}"
                     f" (calls {'known' if f['known'] else '~'}{f['calls']:g}, {f['cost_ms']:.3f} ms)")
    lines.extend(f"note: {n}" for n in doc.get("notes", ()))
    return lines


def count_points(doc: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in doc.get("points", ()):
        out[p["kind"]] = out.get(p["kind"], 0) + 1
    return dict(sorted(out.items()))

