"""``astrepo plan --review``: a plan's predictions against what a traced run measured.

Compares, for one ingested run traced with a planner plan, the predicted event
counts per node with the recorded ones (``RuntimeStat``: calls, hits, branch
counts) and the predicted extra time (capture cost + fixed per-process cost)
with the measured one (the traced run's duration minus the untraced run's,
given with ``--baseline-seconds`` or measured by re-running the command
untraced ``--rerun N`` times).
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


def review_run(db_dir: str, run: str | None = None, plan_path: str | None = None,
               baseline_s: float | None = None, rerun: int = 0, limit: int = 20) -> dict:
    """The review document (see the module docstring)."""
    from astrepo.graph.join import list_ingested, read_run_table, select_run

    summary = select_run(list_ingested(Path(db_dir)), run)
    if summary is None:
        raise ConfigError(f"no ingested runs under {db_dir}: run `astrepo trace --strategy balanced -- ...` first")
    plan_path = plan_path or summary.get("strategy", "")
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
    nodes = []
    for node_id, pred in doc.get("predictions", {}).items():
        kind = pred["kind"]
        predicted = float(pred.get("calls", pred.get("events", 0)))
        measured = measured_events(rows.get(node_id, {}), kind)
        nodes.append({"node": node_id, "kind": kind, "function": names.get(pred.get("function", node_id), ""),
                      "predicted": predicted, "measured": measured,
                      "ratio": round(predicted / measured, 2) if measured else None})
    nodes.sort(key=lambda n: -abs(n["predicted"] - n["measured"]))
    exact = sum(1 for n in nodes if abs(n["predicted"] - n["measured"]) <= max(1.0, 0.1 * n["measured"]))
    estimate = doc.get("estimate", {})
    traced = float(summary.get("duration_s") or 0.0)
    out = {
        "run": summary["id"], "plan": plan_path, "strategy": doc.get("strategy"),
        "events": {"predicted": estimate.get("events"), "measured": summary.get("events")},
        "nodes": {"compared": len(nodes), "within_10pct": exact},
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
    return out
