"""Planner evidence: point counts, estimated vs measured overhead, exceptions kept, per strategy.

Usage: ``python bench/plan_eval.py PROJECT -- COMMAND...`` (run in PROJECT), e.g.
``python bench/plan_eval.py examples/shop -- python app.py``.

Indexes PROJECT into a temporary database, times COMMAND untraced (median of
``--runs``), then for each strategy traces it with ``astrepo trace --strategy S``
on a fresh copy of the index (a first run: no statistics), and for ``balanced``
a second time on the same copy (statistics of the first run known). Reports
points, the plan's estimated overhead, the measured wall-clock ratio, and how
many distinct exceptions (type, file, line) of the ``full_trace`` run each run
also recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def astrepo(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "astrepo.cli.app", *args], cwd=cwd, capture_output=True, text=True)


def timed(cmd: list[str], cwd: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_once(project: str, db: str, strategy: str, cmd: list[str]) -> dict:
    from astrepo.graph.join import list_ingested, read_run_table

    proc = astrepo("trace", "--db", db, "--strategy", strategy, "--quiet", "--", *cmd, cwd=project)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    summary = list_ingested(Path(db))[-1]
    events = read_run_table(Path(db), summary["id"], "Event")
    exc = set()
    if events is not None:
        for row in events.to_pylist():
            exc.add((row["exc_type"], row["file"], row["line"]))
    plan = json.loads(Path(summary["strategy"]).read_text()) if os.path.exists(summary["strategy"]) else {}
    kinds: dict[str, int] = {}
    for p in plan.get("points", ()):
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    return {"strategy": strategy, "seconds": summary["duration_s"], "events": summary["events"],
            "exceptions": exc, "points": len(plan.get("points", ())), "kinds": kinds,
            "estimate": plan.get("estimate", {}), "budget": plan.get("budget_pct")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    project = os.path.abspath(args.project)
    tmp = tempfile.mkdtemp(prefix="astrepo-plan-eval-")
    try:
        base = os.path.join(tmp, "base")
        proc = astrepo("index", project, "--db", base, "--no-embed", "--quiet", cwd=project)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        # A calibration shared by all copies, when the user made one in the project.
        plain = statistics.median(timed(cmd, project) for _ in range(args.runs))
        rows = []
        for strategy in ("full_trace", "minimal", "balanced"):
            db = os.path.join(tmp, strategy)
            shutil.copytree(base, db)
            if os.path.exists(os.path.join(project, ".astrepo", "calibration.json")):
                shutil.copy(os.path.join(project, ".astrepo", "calibration.json"), db)
            rows.append(dict(run_once(project, db, strategy, cmd), label=f"{strategy} (1st run)"))
            if strategy == "balanced":
                rows.append(dict(run_once(project, db, strategy, cmd), label="balanced (2nd run, stats known)"))
        full = rows[0]["exceptions"]
        print(f"{project}: {' '.join(cmd)}; plain {plain:.3f} s (median of {args.runs})")
        print(f"{'run':34} {'points':>6} {'budget':>7} {'est.capture':>11} {'est.fixed':>9} {'traced':>8} "
              f"{'ratio':>6} {'capture':>8} {'events':>9} {'exc kept':>9}")
        for r in rows:
            est = r["estimate"]
            fixed = (est.get("fixed_ms") or 0) / 1000
            capture = 100 * max(0.0, r["seconds"] - plain - fixed) / plain
            kept = len(full & r["exceptions"])
            print(f"{r['label']:34} {r['points']:6} {str(r['budget']):>7} {str(est.get('overhead_pct')) + '%':>11} "
                  f"{fixed * 1000:8.0f}ms {r['seconds']:7.3f}s {r['seconds'] / plain:5.2f}x {capture:7.1f}% "
                  f"{r['events']:9} {kept:>4}/{len(full):<4}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
