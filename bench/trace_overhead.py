"""Overhead of runtime capture: plain vs each strategy vs cProfile, coverage --branch, no-op settrace.

Usage: ``python bench/trace_overhead.py [--runs 5] [--scale 1.0] [--repeat N] [--json]``

Two workloads, written into a temporary project so the import hook
instruments them like user code:

* ``mixed``: CPU-bound work with a moderate call rate (parsing and summing
  records, string formatting, dict updates, a small sort);
* ``calls``: call-heavy (recursive fib, tiny methods, property access).

Each workload times its own work (``run()`` called ``--repeat`` times), so
interpreter start-up and the recorder's final flush are not counted: wall
time (``perf_counter``) and CPU time of the process (``process_time``: the
recorder's writer thread included). On a shared machine CPU time is the
steadier measure, so ratios are computed from it (wall ratios are printed
beside). Runs are interleaved (every configuration once, then again, ...)
so a burst of load from elsewhere hits all of them alike; each reports the
median of ``--runs``. For the strategies, events/s is the number of decoded
events of the first run divided by the median CPU time.
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
import textwrap

from astrepo.capture.bootstrap import trace_environment, write_bootstrap
from astrepo.capture.events import read_run

MIXED = '''
import time

def parse(line):
    name, qty, price = line.split(",")
    return name.strip(), int(qty), float(price)

def total(records):
    sums = {}
    for name, qty, price in records:
        if qty > 5:
            sums[name] = sums.get(name, 0.0) + qty * price
        else:
            sums[name] = sums.get(name, 0.0) + price
    return sums

def report(sums):
    rows = sorted(sums.items(), key=lambda kv: -kv[1])
    return "\\n".join(f"{k:>10} {v:12.2f}" for k, v in rows[:10])

def crunch(n):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i * i) % 1000003
    return acc

def run(scale):
    lines = [f"item{i % 97}, {i % 13}, {i % 7}.5" for i in range(int(60000 * scale))]
    out = []
    for _ in range(3):
        records = [parse(l) for l in lines]
        out.append(report(total(records)))
    out.append(str(crunch(int(400000 * scale))))
    return len("".join(out))
'''

CALLS = '''
class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def add(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y)

def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def walk(n):
    v = Vec(0, 0)
    step = Vec(1, -1)
    s = 0
    for _ in range(n):
        v = v.add(step)
        s += v.norm1
    return s

def run(scale):
    return fib(int(22 + (scale > 1.5))) + walk(int(60000 * scale))
'''

DRIVER = '''
import sys, time
sys.path.insert(0, {root!r})
import {module} as w
t, c = time.perf_counter(), time.process_time()
for _ in range({repeat}):
    w.run({scale})
print("WORK", time.perf_counter() - t, time.process_time() - c)
'''

NOOP_TRACE = '''
import sys
def _tracer(frame, event, arg):
    return _tracer
sys.settrace(_tracer)
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), {"__name__": "__main__"})
'''


def _work_time(out: str) -> tuple[float, float]:
    """(wall, cpu) seconds of the work, from the driver's output."""
    for line in out.splitlines():
        if line.startswith("WORK "):
            _, wall, cpu = line.split()
            return float(wall), float(cpu)
    raise RuntimeError(f"no timing in output: {out[-500:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1, help="run() calls per timed run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="astrepo-bench-")
    try:
        return _bench(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(tmp: str, args) -> int:
    project = os.path.join(tmp, "proj")
    os.makedirs(project)
    db = os.path.join(tmp, "db")
    bootstrap = write_bootstrap(os.path.join(db, "bootstrap"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    for name, text in (("w_mixed", MIXED), ("w_calls", CALLS)):
        with open(os.path.join(project, name + ".py"), "w") as handle:
            handle.write(textwrap.dedent(text))
    noop = os.path.join(tmp, "noop_trace.py")
    with open(noop, "w") as handle:
        handle.write(NOOP_TRACE)
    have_coverage = subprocess.run([sys.executable, "-m", "coverage", "--version"], capture_output=True).returncode == 0
    results: dict = {}
    for workload in ("mixed", "calls"):
        # The driver lives outside the project (not instrumented); the workload module inside.
        driver = os.path.join(tmp, f"drive_{workload}.py")
        with open(driver, "w") as handle:
            handle.write(DRIVER.format(root=project, module=f"w_{workload}", scale=args.scale, repeat=args.repeat))
        configs: list[tuple[str, list[str], dict | None]] = [("plain", [sys.executable, driver], base)]
        for strategy in ("minimal", "balanced", "full_trace"):
            configs.append((strategy, [sys.executable, driver], strategy))
        configs.append(("cProfile", [sys.executable, "-m", "cProfile", "-o", os.devnull, driver], base))
        if have_coverage:
            configs.append(("coverage --branch", [sys.executable, "-m", "coverage", "run", "--branch",
                                                  f"--data-file={os.path.join(tmp, '.cov')}", driver], base))
        configs.append(("settrace no-op", [sys.executable, noop, driver], base))
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in configs}
        events: dict[str, int] = {}
        for i in range(args.runs):
            for label, cmd, env in configs:
                if isinstance(env, str):
                    run_id = f"{workload}-{env}-{i}"
                    run_env = trace_environment(base, bootstrap, project, db, run_id, None, env)
                else:
                    run_id, run_env = None, env
                proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, cwd=tmp)
                if proc.returncode != 0:
                    raise RuntimeError(f"{label} failed: {proc.stderr[-2000:]}")
                samples[label].append(_work_time(proc.stdout))
                if run_id is not None and i == 0:
                    evs, _ = read_run(os.path.join(db, "events", run_id))
                    events[label] = len(evs)
        rows = {}
        for label, runs in samples.items():
            cpu = statistics.median(c for _, c in runs)
            rows[label] = {"median_cpu_s": cpu, "median_s": statistics.median(w for w, _ in runs),
                           "runs": runs, "events": events.get(label)}
        plain, plain_wall = rows["plain"]["median_cpu_s"], rows["plain"]["median_s"]
        for row in rows.values():
            row["ratio"] = row["median_cpu_s"] / plain
            row["wall_ratio"] = row["median_s"] / plain_wall
            row["events_per_s"] = (row["events"] / row["median_cpu_s"]) if row["events"] else None
        results[workload] = rows
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.json:
        print(json.dumps({"format": 2, "python": sys.version.split()[0], "runs": args.runs, "repeat": args.repeat,
                          "scale": args.scale, "load_after": load, "results": results}, indent=1))
        return 0
    for workload, rows in results.items():
        print(f"\n{workload} workload (median of {args.runs} interleaved runs, work only; ratio = CPU time / plain)")
        print(f"{'config':<20}{'cpu s':>8}{'ratio':>8}{'wall s':>8}{'wall r':>8}{'events':>12}{'events/s':>14}")
        for label, row in rows.items():
            ev = f"{row['events']:,}" if row["events"] else ""
            eps = f"{row['events_per_s']:,.0f}" if row["events_per_s"] else ""
            print(f"{label:<20}{row['median_cpu_s']:>8.3f}{row['ratio']:>7.2f}x{row['median_s']:>8.3f}"
                  f"{row['wall_ratio']:>7.2f}x{ev:>12}{eps:>14}")
    if load is not None:
        print(f"\nload average (1 min) at the end: {load:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
