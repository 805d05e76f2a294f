"""Name resolution (`analyzers.callgraph.resolve_project`) alone, on a real project's index state.

Usage: python bench/resolve_bench.py [--project django] [--db DIR] [--runs N] [--baseline REV]
                                     [--order-check]

Reads the per-file resolution inputs a published index keeps (its pickled
state; ``--db`` an existing index, else the project, fetched like
bench/index_bench.py does, is indexed into a temporary one), then:

* times a full resolution in a child process (CPU seconds) by the current
  code and, alternating with it, by the ``--baseline`` revision's
  name resolution modules (`RESOLUTION_MODULES`); prints the medians, their ratio
  and a digest of each result (edges, externals, unresolved counts), which
  must be equal when a change is meant to keep the results;
* with ``--order-check``, also resolves with the call sites visited in reverse
  order and counts the edges that differ from the normal order, and whether the
  digests (edges, externals, unresolved reasons) are equal: how much the result
  depends on evaluation order, the obstacle to an incremental resolution equal to
  a full one. It must be 0 (cycles are iterated to their fixpoint, no budget
  depends on the path a value is reached by).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from index_bench import project_db, revision_modules, side_by_side_arguments  # noqa: E402

#: Resolves the inputs in argv[1] (a pickle of {path: pickled ModuleInputs}) with the analyzers of
#: the current tree, or of the directory argv[2] (files of another revision) when given; argv[3]
#: "reverse" visits the call sites in reverse order. Prints one JSON line.
_CHILD = r"""
import hashlib, json, pickle, sys, time
if len(sys.argv) > 2 and sys.argv[2]:
    # that revision's modules come first; any other analyzers module from the current tree
    import astrepo.analyzers
    astrepo.analyzers.__path__.insert(0, sys.argv[2])
from astrepo.analyzers import callgraph
from astrepo.gcpause import gc_paused
if len(sys.argv) > 3 and sys.argv[3] == "reverse":
    # Call sites evaluated last to first; their results put back in the normal order, so that
    # only what evaluation order does to memoized values (cycle cuts) can differ.
    one_round = callgraph._resolve_round

    def reversed_round(project, resolver, calls, items, changed):
        one_round(project, resolver, calls[::-1], items, changed)
        found, scope_edges, pending = [], [], []
        keys = [call.id for call, _ in calls]
        for scope in project.scopes.values():
            keys += [("implicit", scope.id), ("decorated", scope.id)]
        for key in keys:
            if key in items:
                f, e, p = items[key][0]
                found += f
                scope_edges += e
                pending += p
        return found, scope_edges, pending

    callgraph._resolve_round = reversed_round
with open(sys.argv[1], "rb") as handle:
    inputs = pickle.load(handle)
modules = [pickle.loads(inputs[p]) for p in sorted(inputs)]
started = time.process_time()
with gc_paused():
    res = callgraph.resolve_project(modules)
cpu = time.process_time() - started
digest = hashlib.sha256()
for item in [*res.edges, *res.externals, sorted(res.unresolved.items()), res.partial, res.resolved_calls]:
    digest.update(repr(item).encode())
edges = sorted({f"{e.kind.value} {e.src} {e.dst}" for e in res.edges})
out = {"cpu_s": round(cpu, 3), "digest": digest.hexdigest()[:16], "edges": len(res.edges),
       "calls": sum(1 for e in res.edges if e.kind.value == "CALLS"), "partial": res.partial}
if len(sys.argv) > 4:
    with open(sys.argv[4], "w") as handle:
        handle.write("\n".join(edges))
print(json.dumps(out))
"""


def state_inputs(db: Path, target: Path) -> int:
    """Write the current generation's per-file resolution inputs to ``target``; the file count."""
    import pickle

    generation = (db / "graph" / "CURRENT").read_text().strip()
    with open(db / "graph" / generation / "state.pickle", "rb") as handle:
        state, _counts = pickle.load(handle)
    with open(target, "wb") as handle:
        pickle.dump(state.inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return len(state.inputs)


def resolve(inputs: Path, analyzers: Path | None = None, order: str = "", edges: Path | None = None) -> dict:
    args = [sys.executable, "-c", _CHILD, str(inputs), str(analyzers or ""), order]
    if edges is not None:
        args.append(str(edges))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"resolution failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: The modules of name resolution (analyzers/), as far as a revision has them.
RESOLUTION_MODULES = ("symbols", "targets", "containers", "classmodel", "pointsto", "callgraph")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    side_by_side_arguments(parser)
    parser.add_argument("--order-check", action="store_true")
    parser.add_argument("--edges-dir", type=Path, help="also write each side's edges (one 'KIND src dst' per "
                        "line, sorted) to current.txt and baseline.txt there, to compare them")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resolve-bench-") as tmp:
        work = Path(tmp)
        db = project_db(opts, work)
        inputs = work / "inputs.pickle"
        files = state_inputs(db, inputs)
        modules = {"analyzers": RESOLUTION_MODULES}
        base = revision_modules(opts.baseline, work, modules) / "analyzers"
        current = revision_modules(opts.current, work, modules) / "analyzers" if opts.current else None
        times: dict[str, list[float]] = {"current": [], opts.baseline: []}
        results: dict[str, set] = {"current": set(), opts.baseline: set()}
        for _ in range(opts.runs):
            for label, analyzers in (("current", current), (opts.baseline, base)):
                out = resolve(inputs, analyzers)
                times[label].append(out["cpu_s"])
                results[label].add((out["digest"], out["edges"], out["calls"], out["partial"]))
        report = {"project": opts.project, "files": files, "current_code": opts.current or "working tree"}
        for label in times:
            report[label] = {"cpu_s_median": statistics.median(times[label]), "cpu_s": times[label],
                             "results": sorted(results[label])}
        report["ratio_current_over_baseline"] = round(
            statistics.median(times["current"]) / statistics.median(times[opts.baseline]), 3)
        report["same_results"] = results["current"] == results[opts.baseline] and len(results["current"]) == 1
        if opts.edges_dir:
            opts.edges_dir.mkdir(parents=True, exist_ok=True)
            resolve(inputs, current, "", opts.edges_dir / "current.txt")
            resolve(inputs, base, "", opts.edges_dir / "baseline.txt")
        if opts.order_check:
            forward, backward = work / "forward.txt", work / "reverse.txt"
            normal = resolve(inputs, current, "forward", forward)
            reverse = resolve(inputs, current, "reverse", backward)
            a = set(forward.read_text().splitlines())
            b = set(backward.read_text().splitlines())
            report["order_check"] = {"edges": len(a), "only_normal_order": len(a - b),
                                     "only_reverse_order": len(b - a),
                                     "same_digest": normal["digest"] == reverse["digest"]}
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
