"""The per-file stage of an index run (`graph.perfile`) in one process: CPU of its two phases.

Usage: python bench/perfile_bench.py [--project django] [--runs N] [--baseline REV] [--sample K]
                                     [--digest [--mangle K]] [--profile extract|analyse]

Runs a worker's per-file work over every file of a project, in one process
with the garbage collector paused as a worker has it, and times, in CPU seconds:

* phase 1 - read, parse, extract the facts and pickle the resolution inputs
  (`parse_file` + the pickled `ModuleInputs`), what name resolution waits for;
* phase 2 - the per-file analyses (`analyze_file`, with its parts: statement
  index, CFG, data flow, exceptions, metrics) and what the worker does with
  them before the rows leave (aliases made canonical, facts enriched, Arrow rows).

Each run is a child process; the current tree and the ``--baseline`` revision
(its astrepo/, analyzers/ and graph/ folders, from git) alternate, and the
medians and their ratio are printed. ``--digest`` also hashes every file's
outputs (facts, pickled inputs, analyses, enriched facts, Arrow rows) on each
side and says whether they are equal, file by file (``--mangle K``: also with every K-th line of
each file left out, so with syntax errors). ``--sample K`` takes every
K-th file only. ``--profile`` runs cProfile over one phase of the current tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from index_bench import PROJECTS, fetch  # noqa: E402

#: Folders of a revision the per-file stage runs from (astrepo namespace -> folder).
_FOLDERS = {"analyzers": "analyzers", "graph": "graph", "embeddings": "embeddings", "capture": "capture"}

#: The child: argv[1] project root, argv[2] sample step, argv[3] digest file or "", argv[4] profile
#: phase or "". Prints one JSON line of CPU seconds.
_CHILD = r"""
import cProfile, hashlib, json, pickle, pstats, sys, time
from astrepo.discover import discover_files
from astrepo.facts import parse_file
from astrepo.gcpause import gc_paused
from astrepo.parse import SourceParser
from astrepo.source import DEFAULT_MAX_BYTES
from astrepo.analyzers import fileanalysis
from astrepo.analyzers.fileanalysis import FileAnalysis, analyze_file
from astrepo.graph import perfile
from astrepo.graph.analysis_rows import analysis_inputs, canonical_exceptions, enrich_facts
from astrepo.graph.load import facts_to_arrow

root, step, digest_file, profile, mangle = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
files = discover_files(root)[::step]
if mangle:  # files with syntax errors: every mangle-th line left out
    from astrepo.facts import parse_source

    def parse_file(source, parser, max_bytes):
        lines = open(source.abspath, "rb").read().split(b"\n")
        broken = b"\n".join(line for i, line in enumerate(lines) if i % mangle != mangle // 2)
        return parse_source(source.path, source.module, broken, parser, max_bytes)
parser = SourceParser()
clock = time.process_time
parts = {}

def timed(name, fn):
    def wrapper(*args, **kwargs):
        t = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            parts[name] = parts.get(name, 0.0) + clock() - t
    return wrapper

for name in ("index_statements", "build_cfg", "synthetic_nodes", "analyze_dataflow", "analyze_exceptions",
             "analyze_metrics"):
    setattr(fileanalysis, name, timed(name, getattr(fileanalysis, name)))

def phase1():
    out = []
    for source in files:
        facts, tree = parse_file(source, parser, DEFAULT_MAX_BYTES)
        out.append((facts, tree, perfile._pickled_inputs(facts)))
    return out

def phase2(items):
    out = []
    t = clock()
    for facts, tree, _ in items:
        out.append(analyze_file(tree, facts) if tree is not None else FileAnalysis(facts.path, {}, [], []))
    parts["analyze_file"] = clock() - t
    return out

def rest(items, analyses):
    t = clock()
    done = []
    for (facts, _, _), analysis in zip(items, analyses):
        analysis = canonical_exceptions(facts, analysis)
        enrich_facts(facts, analysis)
        done.append((facts, analysis))
    arrow = [facts_to_arrow([f]) for f, _ in done]
    parts["rows"] = clock() - t
    return done, arrow

with gc_paused(collect=False):
    if profile:
        prof = cProfile.Profile()
    t0 = clock()
    if profile == "extract":
        prof.enable()
    items = phase1()
    if profile == "extract":
        prof.disable()
    t1 = clock()
    if profile == "analyse":
        prof.enable()
    analyses = phase2(items)
    if profile == "analyse":
        prof.disable()
    t2 = clock()
    if digest_file:
        before = [pickle.dumps(f, protocol=5) for f, _, _ in items]
    done, arrow = rest(items, analyses)
    t3 = clock()
if profile:
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(45)
if digest_file:
    import pyarrow as pa
    def table_bytes(t):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        return sink.getvalue().to_pybytes()
    digests = {}
    for (facts, _, inputs), raw, (enriched, analysis), (nodes, edges) in zip(items, before, done, arrow):
        h = hashlib.blake2b(digest_size=16)
        for part in (raw, inputs, pickle.dumps(analysis, protocol=5), pickle.dumps(analysis_inputs(analysis), protocol=5),
                     pickle.dumps(enriched, protocol=5)):
            h.update(hashlib.blake2b(part).digest())
        for key in sorted(nodes, key=str):
            h.update(str(key).encode()); h.update(table_bytes(nodes[key]))
        for key in sorted(edges, key=str):
            h.update(str(key).encode()); h.update(table_bytes(edges[key]))
        digests[facts.path] = h.hexdigest()
    with open(digest_file, "w") as out:
        json.dump(digests, out, sort_keys=True)
print(json.dumps({"files": len(files), "phase1": t1 - t0, "analyses": t2 - t1, "rows": t3 - t2,
                  **{k: round(v, 4) for k, v in parts.items()}}))
"""


def revision_tree(rev: str, work: Path) -> Path:
    """A folder that imports as ``astrepo`` with the revision's astrepo/, analyzers/, graph/, ... files."""
    src = work / f"src-{rev}"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "astrepo", *_FOLDERS.values()],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    package = work / f"pkg-{rev}" / "astrepo"
    package.mkdir(parents=True)
    for item in (src / "astrepo").iterdir():
        (package / item.name).symlink_to(item)
    for name, folder in _FOLDERS.items():
        (package / name).symlink_to(src / folder)
    return package.parent


def run_child(root: Path, step: int, pythonpath: Path | None, digest: Path | None = None, profile: str = "",
              mangle: int = 0) -> dict:
    env = dict(os.environ, PYTHONPATH=str(pythonpath)) if pythonpath is not None else None
    # (run outside the source tree: ``-c`` puts the working directory first on sys.path)
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(step), str(digest or ""), profile, str(mangle)],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise SystemExit(f"per-file run failed: {proc.stderr.strip()[-2000:]}")
    if profile:
        print(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project", default="django", choices=sorted(PROJECTS))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", default="HEAD", help="revision to time side by side (default HEAD)")
    ap.add_argument("--sample", type=int, default=1, help="every K-th file only")
    ap.add_argument("--digest", action="store_true", help="compare every file's outputs with the baseline's")
    ap.add_argument("--profile", choices=("extract", "analyse"), default="")
    ap.add_argument("--mangle", type=int, default=0, help="with --digest: leave every K-th line of each file out "
                    "(files with syntax errors) and compare those outputs too")
    args = ap.parse_args()
    root = fetch(*PROJECTS[args.project])
    if args.profile:
        run_child(root, args.sample, None, profile=args.profile)
        return
    with tempfile.TemporaryDirectory(prefix="perfile-bench-") as tmp:
        work = Path(tmp)
        base = revision_tree(args.baseline, work)
        if args.digest:
            run_child(root, args.sample, base, work / "base.json")
            run_child(root, args.sample, None, work / "current.json")
            old, new = (json.loads((work / f"{s}.json").read_text()) for s in ("base", "current"))
            differ = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
            print(f"digests: {len(old)} files, {len(differ)} differ" + (f": {differ[:10]}" if differ else ""))
            if args.mangle:
                run_child(root, args.sample, base, work / "base.json", mangle=args.mangle)
                run_child(root, args.sample, None, work / "current.json", mangle=args.mangle)
                old, new = (json.loads((work / f"{s}.json").read_text()) for s in ("base", "current"))
                differ = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
                print(f"digests with every {args.mangle}th line left out: {len(old)} files, {len(differ)} differ"
                      + (f": {differ[:10]}" if differ else ""))
        if args.runs < 1:
            return
        runs: dict[str, list[dict]] = {"baseline": [], "current": []}
        for _ in range(args.runs):
            runs["baseline"].append(run_child(root, args.sample, base))
            runs["current"].append(run_child(root, args.sample, None))
        keys = [k for k in runs["current"][0] if k != "files"]
        print(f"{args.project}: {runs['current'][0]['files']} files, medians of {args.runs} (CPU s), "
              f"baseline {args.baseline} vs current tree")
        print(f"{'part':22} {'baseline':>9} {'current':>9} {'ratio':>6}")
        for key in keys:
            b = statistics.median(r.get(key, 0.0) for r in runs["baseline"])
            c = statistics.median(r.get(key, 0.0) for r in runs["current"])
            print(f"{key:22} {b:9.3f} {c:9.3f} {c / b if b else float('nan'):6.3f}")


if __name__ == "__main__":
    main()
