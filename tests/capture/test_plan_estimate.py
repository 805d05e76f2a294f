"""The planner's estimate: static call counts, costs per level, the first previews as a fixed cost."""

from __future__ import annotations

import pytest

from astrepo.capture.cost import Costs
from astrepo.capture.levels import BOUNDARY, COUNTED, DEEP, EXCEPTIONS, TIMED
from astrepo.capture.plan import PlanOptions, make_plan
from astrepo.capture.plan_estimate import (ENTRY_CALLS, LOOP_ITERATIONS, RECURSION_FACTOR, Counts,
                                           _components_callers_first, baseline, bounded_preview_cost,
                                           function_cost, modelled_time, static_calls)
from astrepo.capture.plan_signals import Function, Inputs, RunStats


def _fn(name: str, sites: list[tuple[str, int]] = (), statements: int = 2, params: int = 1) -> Function:
    f = Function(f"id-{name}", name, "m.py", 1, {"statements": statements, "cyclomatic": 1, "fan_out": len(sites)},
                 params=params)
    f.first_stmt = f"s-{name}"
    f.own = [(f"s-{name}", "line", 0, 0)] + [(site, "expression", depth, 0) for site, depth in sites]
    return f


def _inputs(funcs: list[Function], site_callees: dict[str, list[str]], calls=()) -> Inputs:
    by_id = {f.id: f for f in funcs}
    ids = set(by_id) | {n for f in funcs for n, *_ in f.own}
    return Inputs("/nowhere", by_id, sorted(calls), {}, ids, site_callees=site_callees)


def test_static_calls_follow_sites_and_loops() -> None:
    # main calls helper in a loop nested twice and once more outside; helper calls leaf once;
    # a polymorphic site splits its calls between its two possible callees.
    main = _fn("main", [("c1", 2), ("c2", 0), ("c3", 1)])
    helper = _fn("helper", [("c4", 0)])
    leaf, a, b = _fn("leaf"), _fn("a"), _fn("b")
    inputs = _inputs([main, helper, leaf, a, b], {"c1": ["id-helper"], "c2": ["id-helper"], "c3": ["id-a", "id-b"],
                                                  "c4": ["id-leaf"]})
    out = static_calls(inputs, {})
    assert out["id-main"] == ENTRY_CALLS  # nobody calls it: an entry point
    assert out["id-helper"] == ENTRY_CALLS * (LOOP_ITERATIONS ** 2 + 1)
    assert out["id-leaf"] == out["id-helper"]
    assert out["id-a"] == out["id-b"] == ENTRY_CALLS * LOOP_ITERATIONS / 2


def test_static_calls_keep_known_counts_and_handle_cycles() -> None:
    main = _fn("main", [("c1", 0)])
    even = _fn("even", [("c2", 0)])
    odd = _fn("odd", [("c3", 0)])
    alone = _fn("alone", [("c4", 0)])  # calls only itself: still runs once
    inputs = _inputs([main, even, odd, alone], {"c1": ["id-even"], "c2": ["id-odd"], "c3": ["id-even"],
                                                "c4": ["id-alone"]})
    out = static_calls(inputs, {"id-main": 10.0})
    assert "id-main" not in out  # known counts are not predicted
    assert out["id-even"] == out["id-odd"] == 10.0 * RECURSION_FACTOR
    assert out["id-alone"] == ENTRY_CALLS * RECURSION_FACTOR


def test_components_come_callers_first() -> None:
    edges = {"a": [("b", 1)], "b": [("c", 1), ("a", 1)], "c": [("d", 1)], "d": []}
    order = _components_callers_first(["d", "c", "b", "a"], edges)
    assert order == [["a", "b"], ["c"], ["d"]]


def test_costs_grow_with_levels_and_first_previews_are_fixed() -> None:
    main = _fn("main", [("c1", 1)], params=2)
    inputs = _inputs([main], {})
    counts = Counts(inputs)
    costs = Costs()
    levels = [function_cost(main, level, counts, costs) for level in (EXCEPTIONS, COUNTED, TIMED, BOUNDARY, DEEP)]
    assert levels == sorted(levels) and levels[0] < levels[1] < levels[2]
    # Without statistics the first previews (bounded by sampling) are a fixed cost, not a per-call one.
    assert bounded_preview_cost(main, BOUNDARY, counts, costs) == pytest.approx(ENTRY_CALLS * 3 * costs.preview)
    assert bounded_preview_cost(main, TIMED, counts, costs) == 0.0
    assert function_cost(main, BOUNDARY, counts, costs) - function_cost(main, TIMED, counts, costs) < costs.preview
    # With statistics every previewed call is counted exactly, and nothing is left as fixed.
    inputs.stats = RunStats("r", {"duration_s": 1.0}, {main.id: {"calls": 10, "mean_ns": 5000.0}}, None, BOUNDARY)
    counts = Counts(inputs)
    assert bounded_preview_cost(main, BOUNDARY, counts, costs) == 0.0
    assert function_cost(main, BOUNDARY, counts, costs) - function_cost(main, TIMED, counts, costs) == \
        pytest.approx(10 * (costs.sample_check + 3 * costs.preview))


def test_baseline_model_and_measured() -> None:
    main = _fn("main", [("c1", 0)])
    leaf = _fn("leaf")
    inputs = _inputs([main, leaf], {"c1": ["id-leaf"]})
    costs = Costs()
    ns, basis, absolute = baseline(inputs, Counts(inputs), costs, None)
    assert basis.startswith("model") and not absolute and ns > 0
    assert baseline(inputs, Counts(inputs), costs, 2.0)[0] == 2e9
    inputs.stats = RunStats("r", {"duration_s": 3.0, "processes": 1}, {main.id: {"calls": 1, "mean_ns": 1.0}},
                            None, TIMED)
    ns, basis, absolute = baseline(inputs, Counts(inputs), costs, None)
    assert absolute and basis.startswith("run r") and ns < 3e9
    # A run far longer than its counts explain (a loaded machine, a cold cache): the model wins.
    assert "modelled at its counts" in basis
    assert ns == pytest.approx(modelled_time(inputs, Counts(inputs)) + costs.interpreter_start)
    inputs.stats = RunStats("r", {"duration_s": 1e-6, "processes": 1}, {main.id: {"calls": 1, "mean_ns": 1.0}},
                            None, TIMED)
    assert "minus its estimated capture cost" in baseline(inputs, Counts(inputs), Costs(process=0.0), None)[1]
    # A run whose recorders measured CPU time: that, minus the capture (not the wall time, not the model).
    inputs.stats = RunStats("r", {"duration_s": 30.0, "processes": 1, "recorder": {"cpu_ns": 2e9}},
                            {main.id: {"calls": 1, "mean_ns": 1.0}}, None, TIMED)
    ns, basis, absolute = baseline(inputs, Counts(inputs), Costs(process=0.5e9), None)
    assert absolute and "2.000 CPU-s traced" in basis
    assert 1.4e9 < ns < 1.5e9  # 2 s - the process's 0.5 s - a timed call and a few exception wrappers


def test_balanced_with_statistics_counts_hot_cheap_and_fits_budget() -> None:
    main = _fn("main", [("c1", 1)], statements=8)
    leaf = _fn("leaf", statements=2)
    inputs = _inputs([main, leaf], {"c1": ["id-leaf"]})
    inputs.stats = RunStats("r", {"duration_s": 3.0, "processes": 1},
                            {main.id: {"calls": 1, "mean_ns": 2.9e9}, leaf.id: {"calls": 2_000_000, "mean_ns": 300.0}},
                            None, BOUNDARY)
    doc = make_plan(inputs, PlanOptions("balanced", baseline_s=3.0), Costs(process=0.0))
    levels = {f["name"]: f for f in doc["functions"]}
    assert levels["leaf"]["level"] == "counted" and "hot and cheap" in levels["leaf"]["reason"]
    assert levels["main"]["level"] == "boundary"
    assert doc["budget_pct"] == 30.0 and doc["estimate"]["overhead_pct"] <= 30.0


def test_hot_caller_timed_by_its_callees_capture_is_cheap() -> None:
    """A hot function's measured mean includes the capture recorded inside its calls: its own
    boundary and that of the callees only it calls (more-itertools' dl_mul: 2.2 us traced, of
    which two dl_split boundaries). Less that, it is cheap, and counted only."""
    from astrepo.capture.plan_estimate import capture_per_call

    main = _fn("main", [("c1", 1)], statements=8)
    outer = _fn("outer", [("c2", 0), ("c3", 0)], statements=6)
    inner = _fn("inner", statements=3)
    inputs = _inputs([main, outer, inner], {"c1": ["id-outer"], "c2": ["id-inner"], "c3": ["id-inner"]},
                     calls=[("id-main", "id-outer"), ("id-outer", "id-inner")])
    inputs.stats = RunStats("r", {"duration_s": 30.0, "processes": 1, "recorder": {"cpu_ns": 20e9}},
                            {main.id: {"calls": 1, "mean_ns": 9e9}, outer.id: {"calls": 2_000_000, "mean_ns": 2000.0},
                             inner.id: {"calls": 4_000_000, "mean_ns": 300.0}}, None, BOUNDARY)
    costs = Costs(process=0.0)
    counts = Counts(inputs)
    inside = capture_per_call(inputs, counts, costs.in_program())
    cost = {f.id: function_cost(f, BOUNDARY, counts, costs.in_program()) for f in (main, outer, inner)}
    assert inside[outer.id] == pytest.approx((cost[outer.id] + cost[inner.id]) / 2_000_000)  # all inner's calls
    assert inside[inner.id] == pytest.approx(cost[inner.id] / 4_000_000)
    assert inside[main.id] == pytest.approx(cost[main.id] + cost[outer.id])  # its callee's, not inner's
    levels = {f["name"]: f["level"] for f in make_plan(inputs, PlanOptions("balanced", budget_pct=1000.0), costs)["functions"]}
    assert levels == {"main": "boundary", "outer": "counted", "inner": "counted"}


def test_hot_loops_of_deep_functions_are_left_out_and_stay_out() -> None:
    """With statistics, a deep function's branch that ran many times per call (a hot loop) gets no
    point; the function keeps its boundary and its other points. The next plan, made from a run
    without that point, still knows its rate (the plan's ``hot_loops``) and leaves it out again."""
    from astrepo.capture.plan_estimate import function_cost

    main = _fn("main", [("c1", 0)], statements=8)
    work = _fn("work", statements=6)
    work.has_raise = True
    work.own += [("loop", "branch", 0, 0), ("inner", "branch", 1, 0), ("once", "variable", 0, 1),
                 ("few", "variable", 1, 1)]
    inputs = _inputs([main, work], {"c1": ["id-work"]})
    rows = {main.id: {"calls": 1, "mean_ns": 2e9}, work.id: {"calls": 1000, "mean_ns": 50_000.0},
            "loop": {"taken": 90_000, "not_taken": 1000}, "inner": {"taken": 40_000, "not_taken": 50_000},
            "once": {"hits": 1000}, "few": {"hits": 3000}}
    inputs.stats = RunStats("r", {"duration_s": 3.0, "processes": 1}, rows, None, BOUNDARY)
    doc = make_plan(inputs, PlanOptions("balanced", budget_pct=1000.0), Costs(process=0.0))
    level = {f["name"]: f for f in doc["functions"]}["work"]
    assert level["level"] == "deep" and "2 point(s) in hot loops left out" in level["reason"]
    kinds = {(p["node_id"], p["kind"]) for p in doc["points"]}
    assert ("id-work", "function_boundary") in kinds and ("once", "variable") in kinds and ("few", "variable") in kinds
    assert not {"loop", "inner"} & {n for n, _ in kinds}
    assert doc["hot_loops"] == {"loop": 91.0, "inner": 90.0}
    # The estimate does not price what has no point.
    counts = Counts(inputs)
    without = function_cost(work, DEEP, counts, Costs(), None, {"loop", "inner"})
    assert without < function_cost(work, DEEP, counts, Costs())
    # The next run recorded nothing at those nodes: their rate comes from the plan it ran.
    for node in ("loop", "inner"):
        del rows[node]
    inputs.stats = RunStats("r2", {"duration_s": 3.0, "processes": 1}, rows, None, BOUNDARY,
                            hot_loops=doc["hot_loops"])
    again = make_plan(inputs, PlanOptions("balanced", budget_pct=1000.0), Costs(process=0.0))
    assert again["hot_loops"] == doc["hot_loops"]
    # Targets keep everything.
    pinned = make_plan(inputs, PlanOptions("balanced", budget_pct=1000.0, targets=("work",)), Costs(process=0.0))
    assert pinned["hot_loops"] == {} and "loop" in {p["node_id"] for p in pinned["points"]}
