"""The project-wide analyses (`graph.build.analyze_modules`) alone, on a real project's index state.

Usage: python bench/analyses_bench.py [--project django] [--db DIR] [--runs N] [--baseline REV]
                                      [--current REV]

Reads the per-file inputs a published index keeps (its pickled state; ``--db``
an existing index, else the project, fetched like bench/index_bench.py does, is
indexed into a temporary one) and resolves names once with the current code,
so that both sides analyse the same call graph. Then, alternating, it runs the
project-wide analyses in a child process by the current code and by the
``--baseline`` revision's analysis modules (`ANALYSIS_MODULES`, put in front
of the installed package's), and prints per side the medians of the CPU
seconds (the child's own plus those of any process it forks: up to 813a898
the call-graph columns were computed in a forked one), of the wall seconds,
and of the longer of the two processes' CPU times (the wall time to expect
with a core to spare, whatever the load), their ratios, and a digest of each
part of the result (Function columns, MAY_RAISE edges, flow edges,
ExceptionType rows, partial): equal digests mean identical rows.

pyarrow's first array from Python values imports pandas (~0.2 s): one is made
before the clock starts, on both sides, so that the figures are the analyses'
own (an index run pays that import once, wherever its first array is made).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from index_bench import project_db, revision_modules, side_by_side_arguments  # noqa: E402

#: The modules of the project-wide analyses, by package folder, as far as a revision has them.
ANALYSIS_MODULES = {"analyzers": ("metrics", "exceptions", "dataflow", "cfg"), "graph": ("analysis_rows",)}

#: Runs the analyses on the inputs in argv[1] (a pickle: per-file resolution and analysis inputs,
#: resolution's edges) with the current tree's modules, or those of the folder argv[2] (the
#: files of another revision) in front. Prints one JSON line.
_CHILD = r"""
import hashlib, json, pickle, resource, sys, time
if sys.argv[2]:
    import astrepo.analyzers, astrepo.graph
    astrepo.analyzers.__path__.insert(0, sys.argv[2] + "/analyzers")
    astrepo.graph.__path__.insert(0, sys.argv[2] + "/graph")
import pyarrow as pa
from astrepo.gcpause import gc_paused
from astrepo.graph.analysis_rows import analyze_project
assert not sys.argv[2] or analyze_project.__code__.co_filename.startswith(sys.argv[2])
pa.array(["warm"], pa.string())
with open(sys.argv[1], "rb") as handle:
    saved = pickle.load(handle)
modules = [pickle.loads(saved["inputs"][p]) for p in sorted(saved["inputs"])]
analyses = [pickle.loads(saved["analysis_inputs"][p]) for p in sorted(saved["analysis_inputs"])]


def cpu():
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime, children.ru_utime + children.ru_stime


with gc_paused():  # as in an index run
    started, wall = cpu(), time.perf_counter()
    project = analyze_project(analyses, saved["edges"], modules)
    wall = time.perf_counter() - wall
    ended = cpu()
own, forked = ended[0] - started[0], ended[1] - started[1]
types = project.exception_types.to_pylist() if project.exception_types is not None else None
parts = {"columns": sorted((k, sorted(v.items())) for k, v in project.function_columns.items()),
         "may_raise": project.may_raise, "flows": project.flows, "types": types, "partial": project.partial}
digest = {name: hashlib.sha256(repr(value).encode()).hexdigest()[:16] for name, value in parts.items()}
print(json.dumps({"cpu_s": round(own + forked, 3), "own_cpu_s": round(own, 3), "forked_cpu_s": round(forked, 3),
                  "wall_s": round(wall, 3), "digest": digest,
                  "may_raise": len(project.may_raise), "flows": len(project.flows)}))
"""

#: Resolves names in the state of the index argv[1] with the current code and writes what the
#: analyses read to argv[2].
_PREPARE = r"""
import pickle, sys
from pathlib import Path
from astrepo.gcpause import gc_paused
from astrepo.graph.build import resolve_modules
db = Path(sys.argv[1])
generation = (db / "graph" / "CURRENT").read_text().strip()
with open(db / "graph" / generation / "state.pickle", "rb") as handle:
    state, _counts = pickle.load(handle)
with gc_paused():
    resolution, _ = resolve_modules({p: pickle.loads(d) for p, d in state.inputs.items()})
with open(sys.argv[2], "wb") as handle:
    pickle.dump({"inputs": state.inputs, "analysis_inputs": state.analysis_inputs, "edges": resolution.edges},
                handle, protocol=pickle.HIGHEST_PROTOCOL)
"""


def _python(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {proc.stderr.strip().splitlines()[-3:]}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    side_by_side_arguments(parser)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analyses-bench-") as tmp:
        work = Path(tmp)
        db = project_db(opts, work)
        inputs = work / "inputs.pickle"
        _python(_PREPARE, str(db), str(inputs))
        sides = {"current": str(revision_modules(opts.current, work, ANALYSIS_MODULES)) if opts.current else "",
                 opts.baseline: str(revision_modules(opts.baseline, work, ANALYSIS_MODULES))}
        runs: dict[str, list[dict]] = {label: [] for label in sides}
        for _ in range(opts.runs):
            for label, folder in sides.items():
                runs[label].append(json.loads(_python(_CHILD, str(inputs), folder).strip().splitlines()[-1]))
        with open(inputs, "rb") as handle:
            files = len(pickle.load(handle)["inputs"])
        report: dict = {"project": opts.project, "files": files, "current_code": opts.current or "working tree"}
        for label, results in runs.items():
            report[label] = {
                "cpu_s_median": statistics.median(r["cpu_s"] for r in results),
                "wall_s_median": statistics.median(r["wall_s"] for r in results),
                # a load-independent estimate of the wall time with a core to spare for a forked
                # process: the longer of the two processes' CPU times
                "critical_path_s_median": statistics.median(max(r["own_cpu_s"], r["forked_cpu_s"])
                                                            for r in results),
                "cpu_s": [r["cpu_s"] for r in results], "wall_s": [r["wall_s"] for r in results],
                "digests": sorted({json.dumps(r["digest"], sort_keys=True) for r in results}),
                "may_raise": results[0]["may_raise"], "flows": results[0]["flows"],
            }
        current, base = report["current"], report[opts.baseline]
        report["cpu_ratio_current_over_baseline"] = round(current["cpu_s_median"] / base["cpu_s_median"], 3)
        report["wall_ratio_current_over_baseline"] = round(current["wall_s_median"] / base["wall_s_median"], 3)
        report["critical_path_ratio_current_over_baseline"] = round(
            current["critical_path_s_median"] / base["critical_path_s_median"], 3)
        report["same_results"] = len(current["digests"]) == 1 and current["digests"] == base["digests"]
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
