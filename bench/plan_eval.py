"""Planner evidence: points, estimated vs measured overhead and exceptions kept, per strategy.

Usage::

    python bench/plan_eval.py [--runs 5] [--calibrate] [--json] PROJECT -- COMMAND...
    python bench/plan_eval.py --pypi more_itertools==11.2.1 -- python -m pytest -q -p no:cacheprovider tests

(``--pypi NAME==VERSION`` downloads that source distribution once, like
``bench/package_suites.py``, unpacks it into a temporary folder and uses it as PROJECT.)

Steps, all in one invocation so the untraced and traced runs share the machine's load:

1. index PROJECT into a temporary database (``--calibrate``: also `astrepo calibrate` there,
   else the project's ``.astrepo/calibration.json`` when there is one, else default costs);
2. per strategy, on its own copy of the index: ``astrepo plan`` (no statistics: a first run),
   then one traced run with that plan, ingested as ``astrepo trace`` does (the exceptions it
   recorded; for ``balanced``, the statistics a second plan, "balanced (stats)", is made from and
   traced with in turn);
3. timing: ``--runs`` rounds, each running the command untraced and under every plan, the order
   rotated by one each round (so no configuration always runs right after the same one)
   (the same environment ``astrepo trace`` sets up, compiled-code cache warm, events discarded);
   medians of wall time and of CPU time (user + sys of the child processes) per configuration,
   and the median of each round's own CPU ratio to that round's untraced run ("paired": a
   drift of the machine's load between rounds cancels out).

Reported per configuration: points (by kind), budget, the plan's estimate (capture overhead in
percent of the untraced run; the fixed cost of a warm run: per process and first previews), the
predicted ratio (1 + estimate + fixed / measured plain time), the measured ratios (wall and CPU,
medians of warm runs), "beyond" (the measured extra wall time beyond the estimated fixed cost, in
percent of the plain run: what the estimate predicts), "cold" (the CPU time of the plan's first run,
compiled-code cache empty, over the plain median), events, and how many of the distinct exceptions
(type, file, line) recorded under ``full_trace`` this run recorded too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

CONFIGS = ("full_trace", "minimal", "balanced", "balanced (stats)")


def astrepo(*args: str, cwd: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "astrepo.cli.app", *args], cwd=cwd, capture_output=True, text=True)
    return proc


def _checked(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stdout[-1000:]} {proc.stderr[-2000:]}")
    return proc


def timed(cmd: list[str], cwd: str, env: dict) -> tuple[float, float]:
    """(wall s, CPU s of the child processes) of one run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_plan(project: str, db: str, strategy: str, out: str) -> dict:
    proc = _checked(astrepo("plan", "--db", db, "--root", project, "--strategy", strategy, "-o", out, "--json",
                            cwd=project), f"plan {strategy}")
    return json.loads(proc.stdout)


def _shimmed(cmd: list[str], bootstrap: str, project: str) -> list[str]:
    """``cmd`` as `astrepo trace` runs it from ``project``: ``python script.py`` straight through the
    bootstrap's shim (else the traced interpreter starts twice, re-executing itself on the shim)."""
    from astrepo.capture.run import shim_command

    return shim_command(cmd, bootstrap, project, cwd=project)


def traced_ingested(project: str, db: str, plan: str, cmd: list[str], bootstrap: str) -> dict:
    """Trace once with ``plan`` (its first run: compiled-code cache cold), timed like the other
    runs, then ingest it as `astrepo trace` does; the run's summary, times and distinct exceptions.
    ``bootstrap``: the folder `write_bootstrap` wrote, once for the whole evaluation."""
    import shlex

    from astrepo.capture.bootstrap import trace_environment
    from astrepo.capture.hook import new_run_id, write_plan_key
    from astrepo.graph.ingest import ingest_run
    from astrepo.graph.join import RunInfo, read_run_table

    env0 = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    run_id = new_run_id()
    write_plan_key(plan, db)  # the plan's compiled form, as `astrepo trace` writes it before the run
    env = trace_environment(env0, bootstrap, project, db, run_id, plan, None)
    os.makedirs(os.path.join(db, "events", run_id), exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(_shimmed(cmd, bootstrap, project), cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    doc = json.loads(Path(plan).read_text())
    summary = ingest_run(Path(db), run_id, RunInfo(command=shlex.join(cmd), root=project,
                                                   strategy=doc.get("strategy", ""), plan=plan,
                                                   exit_code=proc.returncode, duration_s=wall)).summary
    events = read_run_table(Path(db), run_id, "Event")
    exc = {(r["exc_type"], r["file"], r["line"]) for r in events.to_pylist()} if events is not None else set()
    from astrepo.capture.cost import load_costs
    from astrepo.capture.review import priced_run

    priced, _ = priced_run(db, summary, doc, load_costs(db))
    return {"summary": summary, "exceptions": exc, "cold": (wall, cpu), "priced_s": priced / 1e9}


def unpack_pypi(spec: str, into: str) -> str:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from package_suites import sdist  # the same download cache

    name, version = spec.split("==")
    with tarfile.open(sdist(os.path.join(tempfile.gettempdir(), "astrepo-sdists"), name, version)) as archive:
        archive.extractall(into, filter="data")
    (top,) = [d for d in os.listdir(into) if os.path.isdir(os.path.join(into, d))]
    return os.path.join(into, top)


def evaluate(project: str, cmd: list[str], runs: int, calibrate: bool, tmp: str) -> dict:
    from astrepo.capture.bootstrap import trace_environment, write_bootstrap
    from astrepo.capture.hook import new_run_id

    base = os.path.join(tmp, "base")
    t0 = time.perf_counter()
    _checked(astrepo("index", project, "--db", base, "--no-embed", "--quiet", cwd=project), "index")
    index_s = time.perf_counter() - t0
    mine = os.path.join(project, ".astrepo", "calibration.json")
    if calibrate:
        _checked(astrepo("calibrate", "--db", base, "--json", cwd=project), "calibrate")
    elif os.path.exists(mine):
        shutil.copy(mine, base)
    # The bootstrap does not depend on the database or the plan: written once, used by every traced run.
    bootstrap = write_bootstrap(os.path.join(tmp, "bootstrap"))
    shimmed = _shimmed(cmd, bootstrap, project)
    configs: dict[str, dict] = {}
    for label in CONFIGS:
        strategy = label.split()[0]
        db = os.path.join(tmp, strategy)
        if label == strategy:
            shutil.copytree(base, db)
        plan_path = os.path.join(tmp, label.replace(" (stats)", "-stats") + ".json")
        info = make_plan(project, db, strategy, plan_path)
        run = traced_ingested(project, db, plan_path, cmd, bootstrap)
        configs[label] = {"plan": plan_path, "db": db, "info": info, **run}
        sys.stderr.write(f"plan_eval: {label}: {info['points']} points, traced once "
                         f"({run['summary']['events']:,} events)\n")
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    times: dict[str, list] = {"plain": [], **{label: [] for label in configs}}
    order = list(times)
    for r in range(runs):
        for label in order[r % len(order):] + order[:r % len(order)]:
            if label == "plain":
                times["plain"].append(timed(cmd, project, plain_env))
                continue
            c = configs[label]
            run_id = new_run_id()
            env = trace_environment(plain_env, bootstrap, project, c["db"], run_id, c["plan"], None)
            times[label].append(timed(shimmed, project, env))
            shutil.rmtree(os.path.join(c["db"], "events", run_id), ignore_errors=True)
        sys.stderr.write(f"plan_eval: timing round {r + 1}/{runs} done\n")
    plain_wall = statistics.median(t[0] for t in times["plain"])
    plain_cpu = statistics.median(t[1] for t in times["plain"])
    full_exc = configs["full_trace"]["exceptions"]
    from astrepo.capture.cost import load_costs

    process_s = load_costs(base).process / 1e9
    rows = []
    for label, c in configs.items():
        est = c["info"]["estimate"]
        wall = statistics.median(t[0] for t in times[label])
        cpu = statistics.median(t[1] for t in times[label])
        paired = statistics.median(t[1] / p[1] for t, p in zip(times[label], times["plain"]))
        pct = est.get("overhead_pct")
        # Timing runs are warm (compiled-code cache): the instrumenting part of the fixed cost is not in them.
        fixed_s = (est.get("fixed_ms", 0.0) - est.get("fixed_parts_ms", {}).get("instrumenting", 0.0)) / 1000
        rows.append({
            "config": label, "points": c["info"]["points"], "kinds": c["info"]["point_kinds"],
            "budget_pct": c["info"]["budget_pct"], "basis": est.get("basis"),
            "estimated_pct": pct, "estimated_fixed_s": round(fixed_s, 3),
            "predicted_ratio": None if pct is None else round(1 + pct / 100 + fixed_s / plain_wall, 2),
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "ratio_wall": round(wall / plain_wall, 2), "ratio_cpu": round(cpu / plain_cpu, 2),
            "ratio_cpu_paired": round(paired, 2), "cpu_runs": [round(t[1], 3) for t in times[label]],
            "measured_pct_beyond_fixed": round(100 * (wall - plain_wall - fixed_s) / plain_wall, 1),
            "cold_ratio_wall": round(c["cold"][0] / plain_wall, 2), "cold_ratio_cpu": round(c["cold"][1] / plain_cpu, 2),
            # measured extra CPU of the warm runs beyond the per-process cost / the probe-priced capture
            "in_program_factor": round((cpu - plain_cpu - process_s) / c["priced_s"], 2) if c["priced_s"] else None,
            "events": c["summary"]["events"], "exit_code": c["summary"].get("exit_code"),
            "exceptions_kept": len(full_exc & c["exceptions"]), "exceptions_full": len(full_exc),
        })
    return {"format": 1, "project": project, "command": cmd, "runs": runs, "index_s": round(index_s, 1),
            "plain_wall_s": round(plain_wall, 3), "plain_cpu_s": round(plain_cpu, 3),
            "plain_cpu_runs": [round(t[1], 3) for t in times["plain"]],
            "costs": configs["full_trace"]["info"]["estimate"].get("costs"),
            "load": os.getloadavg(), "rows": rows}


def print_report(doc: dict) -> None:
    print(f"{doc['project']}: {' '.join(doc['command'])}")
    print(f"plain {doc['plain_wall_s']:.3f} s wall, {doc['plain_cpu_s']:.3f} s CPU (medians of {doc['runs']}); "
          f"costs {doc['costs']}; load {' '.join(f'{x:.2f}' for x in doc['load'])}")
    print(f"{'configuration':18} {'points':>6} {'budget':>6} {'est.':>7} {'fixed':>7} {'pred.':>6} "
          f"{'wall':>8} {'ratio':>6} {'cpu':>6} {'paired':>6} {'beyond':>7} {'cold':>7} {'factor':>6} {'events':>11} "
          f"{'exc kept':>9}")
    for r in doc["rows"]:
        est = "-" if r["estimated_pct"] is None else f"{r['estimated_pct']:.1f}%"
        pred = "-" if r["predicted_ratio"] is None else f"{r['predicted_ratio']:.2f}x"
        print(f"{r['config']:18} {r['points']:6} {str(r['budget_pct']):>6} {est:>7} {r['estimated_fixed_s']:6.2f}s "
              f"{pred:>6} {r['wall_s']:7.3f}s {r['ratio_wall']:5.2f}x {r['ratio_cpu']:5.2f}x "
              f"{r['ratio_cpu_paired']:5.2f}x "
              f"{r['measured_pct_beyond_fixed']:6.1f}% {r['cold_ratio_cpu']:6.2f}x {r['in_program_factor']!s:>6} "
              f"{r['events']:11,} {r['exceptions_kept']:>4}/"
              f"{r['exceptions_full']:<4}")
    for r in doc["rows"]:
        print(f"  {r['config']}: {', '.join(f'{k} {v}' for k, v in r['kinds'].items())}; basis: {r['basis']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", help="Project folder (omit with --pypi).")
    parser.add_argument("--pypi", help="NAME==VERSION: use this source distribution as the project.")
    parser.add_argument("--runs", type=int, default=5, help="Timing rounds (medians).")
    parser.add_argument("--calibrate", action="store_true", help="Run `astrepo calibrate` first.")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the databases and plans (path on stderr).")
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("give the command after --")
    cut = argv.index("--")
    args = parser.parse_args(argv[:cut])
    cmd = argv[cut + 1:]
    if not cmd or bool(args.project) == bool(args.pypi):
        parser.error("give PROJECT or --pypi NAME==VERSION, and the command after --")
    tmp = tempfile.mkdtemp(prefix="astrepo-plan-eval-")
    try:
        project = unpack_pypi(args.pypi, os.path.join(tmp, "src")) if args.pypi else os.path.abspath(args.project)
        doc = evaluate(project, cmd, args.runs, args.calibrate, tmp)
        if args.pypi:
            doc["project"] = args.pypi
        if args.json:
            print(json.dumps(doc, indent=1))
        else:
            print_report(doc)
        return 0
    finally:
        if args.keep:
            sys.stderr.write(f"plan_eval: kept {tmp}\n")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
