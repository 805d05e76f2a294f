"""``astrepo plan --review``: a plan's predictions against what a traced run measured.

Compares, for one ingested run traced with a planner plan, the predicted event
counts per node with the recorded ones (``RuntimeStat``: calls, hits, branch
counts) and the predicted extra time (capture cost + fixed per-process cost)
with the measured one (the traced run's duration minus the untraced run's,
given with ``--baseline-seconds`` or measured by re-running the command
untraced ``--rerun N`` times).

Counts the plan modelled without statistics are per run of the entry points, in
units the planner cannot know (how long the run is): they are compared after
one common scale, and by rank correlation; counts taken from an earlier run's
statistics are compared as they are.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import time
from pathlib import Path

from astrepo.errors import ConfigError


def measure_plain(command: str, cwd: str, runs: int) -> float:
    """Median wall time (s) of ``command`` run untraced ``runs`` times in ``cwd`` (output discarded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        try:
            subprocess.run(shlex.split(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        except OSError as err:
            raise ConfigError(f"cannot re-run {command!r}: {err}") from err
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measured_events(row: dict, kind: str) -> float:
    if kind == "function":
        return float(row.get("calls") or 0)
    if kind == "branch":
        return float((row.get("taken") or 0) + (row.get("not_taken") or 0))
    return float(row.get("hits") or 0)


def rank_correlation(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation (ties get their mean rank), or None below 3 pairs."""
    if len(xs) < 3:
        return None

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return round(cov / var, 3) if var else None


def review_run(db_dir: str, run: str | None = None, plan_path: str | None = None,
               baseline_s: float | None = None, rerun: int = 0, limit: int = 20, learn: bool = False) -> dict:
    """The review document (see the module docstring); ``learn``: store the measured in-program
    factor in the calibration (needs a baseline)."""
    from astrepo.graph.join import list_ingested, read_run_table, run_plan_file, select_run

    summary = select_run(list_ingested(Path(db_dir)), run)
    if summary is None:
        raise ConfigError(f"no ingested runs under {db_dir}: run `astrepo trace --strategy balanced -- ...` first")
    plan_path = plan_path or run_plan_file(summary)
    try:
        with open(plan_path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as err:
        raise ConfigError(f"run {summary['id']} was not traced with a planner plan ({plan_path or 'built-in'}); "
                          "give it with --plan-file or trace with `astrepo trace --strategy S` on an indexed "
                          "project") from err
    table = read_run_table(Path(db_dir), summary["id"], "RuntimeStat")
    rows = {r["node"]: r for r in table.to_pylist()} if table is not None else {}
    names = {f["id"]: f["name"] for f in doc.get("functions", ())}
    modelled = {f["id"] for f in doc.get("functions", ()) if not f.get("known", True)}
    nodes = []
    for node_id, pred in doc.get("predictions", {}).items():
        kind = pred["kind"]
        fid = pred.get("function", node_id)
        nodes.append({"node": node_id, "kind": kind, "function": names.get(fid, ""), "modelled": fid in modelled,
                      "predicted": float(pred.get("calls", pred.get("events", 0))),
                      "measured": measured_events(rows.get(node_id, {}), kind)})
    # Modelled counts are per run of the entry points, in unknown units: compare them after one
    # common scale (measured / predicted over those nodes); counts from statistics are compared as they are.
    pred_sum = sum(n["predicted"] for n in nodes if n["modelled"])
    scale = sum(n["measured"] for n in nodes if n["modelled"]) / pred_sum if pred_sum else 1.0
    for n in nodes:
        n["expected"] = round(n["predicted"] * (scale if n["modelled"] else 1.0), 1)
        n["ratio"] = round(n["expected"] / n["measured"], 2) if n["measured"] else None
    nodes.sort(key=lambda n: -abs(n["expected"] - n["measured"]))
    exact = sum(1 for n in nodes if abs(n["expected"] - n["measured"]) <= max(1.0, 0.1 * n["measured"]))
    within_x4 = sum(1 for n in nodes if n["measured"] and 0.25 <= n["expected"] / n["measured"] <= 4
                    or not n["measured"] and n["expected"] < 1)
    estimate = doc.get("estimate", {})
    traced = float(summary.get("duration_s") or 0.0)
    out = {
        "run": summary["id"], "plan": plan_path, "strategy": doc.get("strategy"),
        "events": {"predicted": estimate.get("events"), "measured": summary.get("events")},
        "nodes": {"compared": len(nodes), "within_10pct": exact, "within_4x": within_x4,
                  "rank_correlation": rank_correlation([n["predicted"] for n in nodes],
                                                       [n["measured"] for n in nodes]),
                  "modelled": sum(1 for n in nodes if n["modelled"]), "scale": round(scale, 3)},
        "time": {"traced_s": round(traced, 3), "predicted_extra_ms": round(
            (estimate.get("variable_ms") or 0.0) + (estimate.get("fixed_ms") or 0.0), 1),
            "predicted_capture_ms": estimate.get("variable_ms"), "predicted_fixed_ms": estimate.get("fixed_ms"),
            "predicted_overhead_pct": estimate.get("overhead_pct"), "basis": estimate.get("basis")},
        "worst": nodes[:limit],
    }
    if rerun and baseline_s is None:
        baseline_s = measure_plain(summary.get("command", ""), summary.get("root") or ".", rerun)
    if baseline_s:
        t = out["time"]
        t["plain_s"] = round(baseline_s, 3)
        t["measured_extra_ms"] = round((traced - baseline_s) * 1000, 1)
        t["measured_ratio"] = round(traced / baseline_s, 2)
        fixed = (estimate.get("fixed_ms") or 0.0) / 1000
        t["measured_capture_pct"] = round(100 * max(0.0, traced - baseline_s - fixed) / baseline_s, 1)
        t.update(_in_program_factor(db_dir, summary, doc, traced - baseline_s, learn))
    elif learn:
        raise ConfigError("--learn needs the untraced run time: give --baseline-seconds or --rerun N")
    return out


def priced_run(db_dir: str, summary: dict, doc: dict, costs) -> tuple[float, float]:
    """(capture ns, fixed ns) of one ingested run of plan ``doc``: its levels priced with ``costs``
    (the probe's, not scaled) at the run's own recorded counts, and its per-process and
    instrumenting costs."""
    from astrepo.capture.levels import LEVEL_OF
    from astrepo.capture.plan_estimate import Counts, exception_cost, function_cost
    from astrepo.capture.plan_signals import load_inputs

    inputs = load_inputs(db_dir, summary.get("root") or ".", summary["id"])
    counts = Counts(inputs)
    sampling = {p["node_id"]: p.get("sampling") for p in doc.get("points", ()) if p["kind"] == "function_boundary"}
    priced = exception_cost(inputs, counts, costs)
    stats = inputs.stats
    left_out = stats.hot_loops if stats else frozenset()
    for f in doc.get("functions", ()):
        fn = inputs.functions.get(f["id"])
        if fn is not None:
            priced += function_cost(fn, LEVEL_OF.get(f["level"], 0), counts, costs, sampling.get(f["id"]), left_out)
    fixed = costs.process * max(1, int(summary.get("processes") or 1))
    fixed += costs.instrument_point * (stats.compiled_points if stats else 0)
    return priced, fixed


def _in_program_factor(db_dir: str, summary: dict, doc: dict, extra_s: float, learn: bool) -> dict:
    """The run's plan priced with the probe's costs and the run's own counts, against the measured
    extra time beyond the fixed costs: the in-program factor of `astrepo.capture.cost.Costs`."""
    from dataclasses import replace

    from astrepo.capture.cost import load_costs, save_costs

    costs = load_costs(db_dir)
    priced, fixed = priced_run(db_dir, summary, doc, costs)
    capture_ns = extra_s * 1e9 - fixed
    out = {"probe_priced_capture_ms": round(priced / 1e6, 1), "measured_capture_ms": round(capture_ns / 1e6, 1),
           "in_program_factor": round(capture_ns / priced, 2) if priced > 0 and capture_ns > 0 else None,
           "factor_used": costs.factor}
    if learn:
        if out["in_program_factor"] is None:
            raise ConfigError("the run's capture cost is not measurable against this baseline: nothing learnt")
        save_costs(db_dir, replace(costs, factor=out["in_program_factor"], factor_source=f"run {summary['id']}"))
        out["learnt"] = True
    return out
