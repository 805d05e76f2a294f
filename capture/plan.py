"""The planner: which level of capture each function gets, for a strategy and a budget, and why.

Not runtime code: the runtime modules never import it. Steps (`make_plan`):

1. the inputs (`astrepo.capture.plan_signals.load_inputs`): functions with their
   graph facts and own nodes, the call graph, the latest ingested run's statistics;
2. predicted executions per function (`astrepo.capture.plan_estimate.Counts`);
3. a capture level per function (`astrepo.capture.levels`) by the strategy's
   rules (`_offline_decision`), then ``--target`` / ``--diff`` around named
   functions or changed lines, then, when configured, an AI provider's ranking
   (`astrepo.capture.providers`);
4. the budget: the least important functions per nanosecond saved are lowered
   one level at a time until the estimated capture overhead fits;
5. the document (`astrepo.capture.plan_document`): points with reasons, the
   estimate, and the predictions ``astrepo plan --review`` compares with a run.

Strategies: ``minimal`` (entry points and the few most important functions
timed, exceptions everywhere), ``balanced`` (boundaries with previews, hot
cheap functions counted only, branches and variables in complex or raising
functions except in loops the last run measured hot, exceptions everywhere),
``full_trace`` (everything).
"""

from __future__ import annotations

import heapq
import logging
import os
from dataclasses import dataclass, field

from astrepo.capture.cost import DEFAULT_COSTS, Costs
from astrepo.capture.levels import BOUNDARY, COUNTED, DEEP, EXCEPTIONS, FULL, LEVEL_OF, LEVELS, TIMED
from astrepo.capture.plan_document import drop_stale, emit_points, plan_digest, write_plan
from astrepo.capture.plan_estimate import (Counts, baseline, bounded_preview_cost, capture_per_call, exception_cost,
                                           function_cost, module_cost, own_time_ns)
from astrepo.capture.plan_signals import Function, Inputs, changed_lines_since, load_inputs
from astrepo.capture.points import ENTRY_NAMES, PLAN_FORMAT, STRATEGIES
from astrepo.capture.providers import Candidate, OfflineProvider, PlanProvider, PlanRequest, select_with_fallback
from astrepo.errors import ConfigError

log = logging.getLogger(__name__)

#: Default budgets (percent of extra run time, the fixed per-process costs apart), per strategy,
#: without / with runtime statistics of an earlier run. None: no cap.
DEFAULT_BUDGET = {"minimal": (20.0, 10.0), "balanced": (100.0, 30.0), "full_trace": (None, None)}
#: The planner fits its estimate to this share of the budget: the estimate's error, measured on
#: more-itertools' test suite (bench/plan_eval.py), was up to 25% of the capture cost.
PLANNING_MARGIN = 0.8
#: Calls from which a function counts as hot (with statistics).
HOT_CALLS = 1000
#: A hot function whose boundary would cost more than this fraction of its own mean duration is "cheap".
CHEAP_RATIO = 0.25
#: At most this share of a function's measured mean duration is taken for the capture recorded
#: inside its calls (`capture_per_call` is an estimate).
INSIDE_SHARE = 0.75
#: With statistics, a branch or variable of a `deep` function (not pinned) that ran at least
#: `HOT_LOOP_EVENTS` times in the last run and more than `HOT_LOOP_PER_CALL` times per call of its
#: function is in a hot loop: it gets no point (its appends cost more than what another iteration
#: tells; the function keeps its boundary, previews, exceptions and the rest of its body).
HOT_LOOP_EVENTS = 1000
HOT_LOOP_PER_CALL = 16
#: Decision points (cyclomatic) from which `balanced` captures branches and variables.
COMPLEX_CYCLOMATIC = 6
#: `minimal`: at least this many most important functions get timed boundaries (or 5%).
MINIMAL_TOP = 3
#: Default radius of --target / --diff around the named functions, in call-graph hops.
DEFAULT_RADIUS = 2
#: Roles (graph Function.roles) marking entry points.
ENTRY_ROLES = frozenset({"test", "cli_entry", "view", "celery_task", "entry_point", "main"})


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
    #: own nodes left without points as hot loops: node id -> executions per call in the last run
    hot_loops: dict = field(default_factory=dict)


def make_plan(inputs: Inputs, options: PlanOptions, costs: Costs = DEFAULT_COSTS,
              provider: PlanProvider | None = None) -> dict:
    """The plan document for ``options`` (see the module docstring)."""
    if options.strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {options.strategy!r}: use one of {', '.join(STRATEGIES)}")
    funcs = inputs.functions
    costs_label = (("calibrated" if costs.measured else "defaults (run `astrepo calibrate`)")
                   + f", x{costs.factor:g} in a program ({costs.factor_source})")
    costs = costs.in_program()
    counts = Counts(inputs)
    inside = capture_per_call(inputs, counts, costs)
    decisions = {fid: _offline_decision(options.strategy, fn, counts, inputs, costs, inside.get(fid, 0.0))
                 for fid, fn in funcs.items()}
    notes: list[str] = []
    if options.strategy == "minimal":
        _minimal_top(funcs, decisions)
    _apply_targets(options, inputs, decisions, notes)
    selection = _ask_provider(provider or OfflineProvider(), options, inputs, counts, decisions)
    _leave_out_hot_loops(funcs, counts, decisions, notes)
    # The budget.
    with_stats = inputs.stats is not None and bool(inputs.stats.rows)
    budget = options.budget_pct
    if budget is None:
        budget = DEFAULT_BUDGET[options.strategy][1 if with_stats else 0]
    baseline_ns, basis, absolute = baseline(inputs, counts, costs, options.baseline_s)
    if budget is not None:
        allowed = _allowance(baseline_ns, budget, absolute, exception_cost(inputs, counts, costs), costs, notes)
        floors = {fid: _floor(options.strategy, funcs[fid], d) for fid, d in decisions.items()}
        _fit_budget(decisions, floors, funcs, counts, costs, allowed, notes)
    points, predictions = emit_points(inputs, decisions, counts, options.strategy == "full_trace")
    points, stale = drop_stale(points, inputs.graph_ids)
    if stale:
        notes.append(f"{len(stale)} node(s) not in the current graph (re-run `astrepo index`): dropped")
    doc = _document(inputs, options, costs, counts, decisions, points, predictions, stale, notes, budget,
                    (baseline_ns, basis), selection)
    doc["estimate"]["costs"] = costs_label
    return doc


def _floor(strategy: str, fn: Function, d: Decision) -> int:
    """The lowest level the budget may lower a function to: a pinned function keeps its level;
    `balanced` keeps counting every call (the statistics the next plan needs: hot, never run)."""
    if d.pinned:
        return d.level
    if strategy == "balanced" and fn.first_stmt:
        return min(d.level, COUNTED)
    return EXCEPTIONS


def _allowance(baseline_ns: float, budget: float, absolute: bool, exceptions_ns: float, costs: Costs,
               notes: list) -> float:
    """The capture time (ns) the levels may cost: the budget's share of the run, minus what every
    plan costs anyway (exception events; with a known run length, the per-process cost), with
    `PLANNING_MARGIN` kept for the estimate's error."""
    allowed = baseline_ns * budget / 100.0 - exceptions_ns
    if absolute:
        if allowed - costs.process > 0:
            allowed -= costs.process
        else:
            notes.append(f"the fixed per-process cost ({costs.process / 1e6:.0f} ms) alone exceeds the budget "
                         f"({budget:g}% of {baseline_ns / 1e6:.0f} ms): the budget caps the rest")
    return max(0.0, allowed * PLANNING_MARGIN)


def _document(inputs: Inputs, options: PlanOptions, costs: Costs, counts: Counts, decisions: dict, points: list,
              predictions: dict, stale: list, notes: list, budget: float | None, base: tuple, selection) -> dict:
    funcs = inputs.functions
    baseline_ns, basis = base
    cost_of = {fid: function_cost(funcs[fid], d.level, counts, costs, d.sampling, d.hot_loops)
               for fid, d in decisions.items()}
    variable_ns = sum(cost_of.values()) + exception_cost(inputs, counts, costs)
    variable_ns += module_cost(inputs, options.strategy, costs)
    bounded_ns = sum(bounded_preview_cost(funcs[fid], d.level, counts, costs, d.sampling)
                     for fid, d in decisions.items())
    fixed_ns = costs.process + costs.instrument_point * len(points) + bounded_ns
    return {
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
            "fixed_parts_ms": {"process": round(costs.process / 1e6, 1),
                               "instrumenting": round(costs.instrument_point * len(points) / 1e6, 1),
                               "first_previews": round(bounded_ns / 1e6, 1)},
            "baseline_ms": round(baseline_ns / 1e6, 3),
            "basis": basis,
            "events": int(sum(p.get("events", 0) for p in predictions.values())),
        },
        "stats_run": inputs.stats.run if inputs.stats else None,
        "notes": notes,
        "points": points,
        "functions": [{"id": fid, "name": funcs[fid].name, "file": funcs[fid].file, "line": funcs[fid].line,
                       "level": LEVELS[d.level], "reason": d.reason, "calls": round(counts.calls(fid), 1),
                       "known": counts.known(fid), "cost_ms": round(cost_of[fid] / 1e6, 4)}
                      for fid, d in sorted(decisions.items(), key=lambda kv: (funcs[kv[0]].file, funcs[kv[0]].line))],
        "predictions": predictions,
        "hot_loops": {n: round(r, 2) for d in decisions.values() for n, r in sorted(d.hot_loops.items())},
    }


def _ask_provider(provider: PlanProvider, options: PlanOptions, inputs: Inputs, counts: Counts, decisions: dict):
    """The provider's levels override the offline ones (never those pinned by targets or the diff)."""
    funcs = inputs.functions
    order = sorted(funcs, key=lambda fid: -decisions[fid].importance)
    request = PlanRequest(options.strategy, options.budget_pct, tuple(
        Candidate(fid, funcs[fid].name, funcs[fid].file, funcs[fid].line, candidate_signals(funcs[fid], counts),
                  LEVELS[decisions[fid].level], decisions[fid].reason, _function_source(inputs, funcs[fid]))
        for fid in order))
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
    return selection


def candidate_signals(fn: Function, counts: Counts) -> dict:
    """What a provider learns about one function (no source)."""
    f = fn.facts
    out = {k: f.get(k) for k in ("cyclomatic", "statements", "fan_in", "fan_out", "roles", "may_raise", "recursion")}
    out["pagerank"] = round(float(f.get("pagerank") or 0.0), 5)
    out["loops"] = fn.max_loop
    if counts.known(fn.id):
        out["calls"] = int(counts.calls(fn.id))
        out["mean_ns"] = int(counts.mean_ns(fn.id) or 0)
        out["never_executed"] = counts.calls(fn.id) == 0
    else:
        out["predicted_calls"] = round(counts.calls(fn.id), 1)
    out["exceptions"] = counts.exceptions(fn.id)
    return out


def _function_source(inputs: Inputs, fn: Function) -> str:
    text = inputs.sources.get(fn.file, "")
    if not text:
        return ""
    lines = text.splitlines()
    end = int(fn.facts.get("lines") or 30) + fn.line - 1
    return "\n".join(lines[fn.line - 1:min(end, fn.line + 79)])


# -- the offline rules ----------------------------------------------------------------------------

def _is_entry(fn: Function) -> bool:
    short = fn.name.rsplit(".", 1)[-1]
    roles = set(fn.facts.get("roles") or ())
    return short in ENTRY_NAMES or short.startswith("test") or bool(roles & ENTRY_ROLES)


def _importance(fn: Function, counts: Counts) -> float:
    f = fn.facts
    value = 1.0 + 200.0 * float(f.get("pagerank") or 0.0) + float(f.get("cyclomatic") or 1) / 5.0
    if f.get("may_raise") or fn.has_raise:
        value += 2.0
    if counts.exceptions(fn.id):
        value += 5.0
    if _is_entry(fn):
        value += 3.0
    return value


def _is_trivial_leaf(fn: Function) -> bool:
    f = fn.facts
    return (int(f.get("statements") or 99) <= 3 and fn.max_loop == 0 and int(f.get("fan_out") or 0) == 0
            and int(f.get("cyclomatic") or 1) <= 2)


def _hot_cheap(fn: Function, counts: Counts, inputs: Inputs, costs: Costs, inside_ns: float = 0.0) -> bool:
    """Called often, and so short that its boundary would cost a large part of its own time: its
    mean duration in the last run less the capture recorded inside a call (``inside_ns``, see
    `capture_per_call`; at most `INSIDE_SHARE` of it), or its modelled time when not timed."""
    if not counts.known(fn.id):
        return False
    calls = counts.calls(fn.id)
    mean = counts.mean_ns(fn.id)
    own = max(mean - inside_ns, (1.0 - INSIDE_SHARE) * mean) if mean else own_time_ns(fn, inputs)
    return calls >= HOT_CALLS and costs.boundary > CHEAP_RATIO * max(1.0, own)


def _offline_decision(strategy: str, fn: Function, counts: Counts, inputs: Inputs, costs: Costs,
                      inside_ns: float = 0.0) -> Decision:
    f = fn.facts
    importance = _importance(fn, counts)
    known = counts.known(fn.id)
    calls = counts.calls(fn.id)
    raised = counts.exceptions(fn.id) > 0
    note = " (never executed in the last run)" if known and calls == 0 else ""
    hot_cheap = _hot_cheap(fn, counts, inputs, costs, inside_ns)
    if strategy == "full_trace":
        return Decision(FULL, "full_trace" + note, importance)
    if raised:
        sampling = {"first": 64, "every": 1} if calls < HOT_CALLS else None  # every value, unless hot
        return Decision(DEEP, f"raised {counts.exceptions(fn.id)} exception(s) in the last run", importance + 5, False,
                        sampling)
    if strategy == "minimal":
        if _is_entry(fn):
            return Decision(COUNTED if hot_cheap else TIMED, "entry point" + (", hot and cheap" if hot_cheap else ""),
                            importance)
        return Decision(EXCEPTIONS, "exceptions only" + note, importance)
    # balanced
    if hot_cheap:
        return Decision(COUNTED, f"hot and cheap ({int(calls)} calls, mean {int(counts.mean_ns(fn.id) or 0)} ns): "
                        "counted", importance)
    if not known and _is_trivial_leaf(fn):
        return Decision(COUNTED, "trivial leaf (likely hot): counted", importance)
    if int(f.get("cyclomatic") or 1) >= COMPLEX_CYCLOMATIC or fn.has_raise:
        return Decision(DEEP, ("raises" if fn.has_raise else f"complex (cyclomatic {f.get('cyclomatic')})") + note,
                        importance)
    return Decision(BOUNDARY, "boundary with argument/return previews" + note, importance)


def _leave_out_hot_loops(funcs: dict[str, Function], counts: Counts, decisions: dict[str, Decision],
                         notes: list) -> None:
    """Branches and variables of `deep` functions that the last run measured in hot loops (see
    `HOT_LOOP_EVENTS`) get no point; pinned functions (targets, diff) and `full` keep them all."""
    left = 0
    for fid, d in decisions.items():
        if d.level != DEEP or d.pinned or not counts.known(fid):
            continue
        calls = max(1.0, counts.calls(fid))
        for node_id, kind, depth, _ in funcs[fid].own:
            if kind not in ("branch", "variable"):
                continue
            n = counts.node(fid, node_id, kind, depth)
            if n >= HOT_LOOP_EVENTS and n > HOT_LOOP_PER_CALL * calls:
                d.hot_loops[node_id] = n / calls
        if d.hot_loops:
            left += len(d.hot_loops)
            d.reason += f"; {len(d.hot_loops)} point(s) in hot loops left out"
    if left:
        notes.append(f"{left} branch/variable point(s) in hot loops (over {HOT_LOOP_PER_CALL} runs per call, "
                     f"{HOT_LOOP_EVENTS}+ in the last run) left out")


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


# -- targets and diffs ----------------------------------------------------------------------------

def _apply_targets(options: PlanOptions, inputs: Inputs, decisions: dict[str, Decision], notes: list) -> None:
    funcs = inputs.functions
    named: dict[str, str] = {}  # function id -> why
    for target in options.targets:
        hits = [fid for fid, fn in funcs.items() if _matches(fn, target)]
        if not hits:
            notes.append(f"target {target!r} matches no function")
        for fid in hits:
            named[fid] = f"target {target}"
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
        for direction, graph in (("caller", callers), ("callee", callees)):
            if why.startswith("changed") and direction == "callee":
                continue  # diff mode: the changed code and who calls it
            frontier, seen = {fid}, {fid}
            for dist in range(1, radius + 1):
                frontier = {n for x in frontier for n in graph.get(x, ()) if n not in seen and n in decisions}
                seen |= frontier
                for n in frontier:
                    dn = decisions[n]
                    if dn.pinned and dn.level >= DEEP:
                        continue
                    dn.level = max(dn.level, DEEP if why.startswith("target") else BOUNDARY)
                    dn.reason = f"{direction} of {funcs[fid].name} (distance {dist}; {why})"
                    dn.pinned = True
                    dn.importance += 10


def _matches(fn: Function, target: str) -> bool:
    if "/" in target or target.endswith(".py"):
        t = target.rstrip("/")
        return fn.file == t or fn.file.startswith(t + "/") or fn.file.startswith(t.removeprefix("./") + "/")
    return fn.name == target or fn.name.endswith("." + target) or fn.name.rsplit(".", 1)[-1] == target


# -- the budget -----------------------------------------------------------------------------------

def _fit_budget(decisions: dict[str, Decision], floors: dict, funcs: dict, counts: Counts, costs: Costs,
                allowed_ns: float, notes: list) -> None:
    """Lower functions one level at a time (least important per ns saved first) until the variable
    cost fits ``allowed_ns``."""
    def cost(fid: str, level: int, sampling: dict | None) -> float:
        return function_cost(funcs[fid], level, counts, costs, sampling, decisions[fid].hot_loops)

    total = sum(cost(fid, d.level, d.sampling) for fid, d in decisions.items())
    if total <= allowed_ns:
        return
    heap: list = []

    def push(fid: str) -> None:
        d = decisions[fid]
        if d.level <= floors[fid]:
            return
        saved = cost(fid, d.level, d.sampling) - cost(fid, d.level - 1, None)
        heapq.heappush(heap, (-max(saved, 1e-9) / d.importance, fid, d.level))

    for fid in decisions:
        push(fid)
    steps = 0
    while total > allowed_ns and heap:
        _, fid, level = heapq.heappop(heap)
        d = decisions[fid]
        if d.level != level:
            continue
        before = cost(fid, d.level, d.sampling)
        d.level -= 1
        d.sampling = None
        total -= before - cost(fid, d.level, None)
        d.reason = f"{d.reason}; lowered to {LEVELS[d.level]} for the budget"
        steps += 1
        push(fid)
    notes.append(f"budget: {steps} downgrade step(s) to fit {allowed_ns / 1e6:.1f} ms of capture"
                 + ("" if total <= allowed_ns else f"; still over ({total / 1e6:.1f} ms) at the floor"))


# -- for `astrepo trace --strategy` ---------------------------------------------------------------

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
    return write_plan(doc, os.path.join(db_dir, "plans", f"{strategy}-{plan_digest(doc)}.json"))
