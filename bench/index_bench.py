"""Index speed on real projects, side by side with tree-sitter's bare parse.

Usage: python bench/index_bench.py [--runs N] [--projects django,flask,requests] [--jobs J]
                                  [--baseline REV | --no-baseline] [--check-equal]

For each project (a source distribution from PyPI, cached in bench/.cache) it
prints files, lines, the full-index time (median of --runs fresh runs, no
embeddings), lines/s, the peak RSS of the largest process, the time
tree-sitter alone takes to parse the same files on one core (median, same
run), their ratio, and the time of an incremental re-index after one file
was touched. Each index runs the real CLI in a subprocess.

``--baseline REV`` (default BASELINE_REV, the index as issue 2 left it: syntax,
imports and first-level call resolution, before the analyzers ran) also times
a full index by that revision's code, checked out in a temporary git
worktree, alternating with the current code's full runs; the ratio of the two
medians (``over_baseline``) is what the analyzers cost (issue 3 allows 2x).

The incremental runs also report their CPU time and stage seconds;
``--check-equal`` then compares the incrementally updated graph with a full
rebuild (normalised dumps, graph/dump.py) and reports ``incremental_equals_full``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
CACHE = HERE / ".cache"

#: The last commit whose index ran no static analyses (83e94bd added them to the pipeline).
BASELINE_REV = "657a9f1"

#: Runs the CLI of a worktree at another revision: its folders mapped onto the ``astrepo``
#: namespace the way the package installs them (astrepo.graph -> graph/, ...).
_BASELINE_RUNNER = """
import sys
tree = sys.argv.pop(1)
sys.path.insert(0, tree)
import astrepo
astrepo.__path__.append(tree)
import astrepo.graph.build
assert astrepo.graph.build.__file__.startswith(tree), astrepo.graph.build.__file__
from astrepo.cli.app import main
sys.argv[0] = "astrepo"
sys.exit(main())
"""

PROJECTS = {
    "django": ("django", "5.1.4"),
    "flask": ("flask", "3.1.0"),
    "requests": ("requests", "2.32.3"),
}


def fetch(name: str, version: str) -> Path:
    """Unpacked source distribution of name==version (downloaded once)."""
    CACHE.mkdir(exist_ok=True)
    for candidate in CACHE.iterdir():
        if candidate.is_dir() and candidate.name.lower() == f"{name}-{version}".lower():
            return candidate
    archives = [p for p in CACHE.glob("*.tar.gz") if p.name.lower() == f"{name}-{version}.tar.gz".lower()]
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"{name}=={version}", "-d", str(CACHE)], check=True, capture_output=True)
        archives = [p for p in CACHE.glob("*.tar.gz") if p.name.lower() == f"{name}-{version}.tar.gz".lower()]
    with tarfile.open(archives[0]) as tar:
        tar.extractall(CACHE, filter="data")
    return next(p for p in CACHE.iterdir() if p.is_dir() and p.name.lower() == f"{name}-{version}".lower())


def run_index(root: Path, db: Path, jobs: int, rebuild: bool, tree: Path | None = None) -> tuple[float, dict]:
    """Wall seconds and the JSON summary of one `astrepo index` run (by the code in ``tree``, a
    worktree of another revision, when given); the summary gains ``cpu_s``, the CPU time of the
    run and its workers (steadier than wall time on a shared machine)."""
    cli = ["-c", _BASELINE_RUNNER, str(tree)] if tree else ["-m", "astrepo.cli.app"]
    args = [sys.executable, *cli, "index", str(root), "--db", str(db), "--json", "--no-embed", "-q"]
    if jobs:
        args += ["--jobs", str(jobs)]
    if rebuild:
        args.append("--rebuild")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"index failed: {proc.stderr}")
    summary = json.loads(proc.stdout)
    summary["cpu_s"] = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    return elapsed, summary


def baseline_tree(rev: str, work: Path) -> Path:
    """A detached git worktree of ``rev`` under ``work`` (removed with it; pruned by git later)."""
    tree = work / f"baseline-{rev}"
    repo = HERE.parent
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-f", str(tree), rev],
                   check=True, capture_output=True)
    return tree


def revision_modules(rev: str, work: Path, modules: dict[str, tuple[str, ...]]) -> Path:
    """Revision ``rev``'s files ``modules`` ({folder: (module name, ...)}) as ``work/rev-REV/folder/name.py``,
    for a benchmark that puts them in front of the current tree's (a module added later is missing
    from older revisions: skipped)."""
    out = work / f"rev-{rev}"
    for folder, names in modules.items():
        (out / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            proc = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{rev}:{folder}/{name}.py"],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                (out / folder / f"{name}.py").write_text(proc.stdout)
    return out


def project_db(opts: argparse.Namespace, work: Path) -> Path:
    """The index named by ``--db``, else ``--project`` indexed (fully) into ``work/db``."""
    if opts.db is not None:
        return opts.db
    db = work / "db"
    run_index(fetch(*PROJECTS[opts.project]), db, 0, True)
    return db


def side_by_side_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark timing a part of the index on a project's state against a revision's code."""
    parser.add_argument("--project", default="django", choices=sorted(PROJECTS))
    parser.add_argument("--db", type=Path, help="an existing index of the project (else one is built)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default="HEAD", help="revision to time side by side (default HEAD)")
    parser.add_argument("--current", default="", help="revision to time as the current code (default: the "
                        "working tree); lets a benchmark run while the tree is being edited")


def same_graph(root: Path, db: Path, rebuilt: Path, jobs: int) -> bool:
    """Whether the graph in ``db`` equals a full rebuild of ``root`` (normalised dumps, graph/dump.py)."""
    from astrepo.graph.dump import dump_graph
    from astrepo.graph.store import GraphStore
    from astrepo.layout import Layout

    run_index(root, rebuilt, jobs, rebuild=True)
    dumps = []
    for where in (db, rebuilt):
        graph = GraphStore(Layout(where)).open_read()
        try:
            dumps.append(dump_graph(graph))
        finally:
            graph.close()
    if dumps[0] != dumps[1]:
        only = [sorted(set(dumps[0]) - set(dumps[1]))[:5], sorted(set(dumps[1]) - set(dumps[0]))[:5]]
        print(f"incremental != full for {root.name}: incremental only {only[0]}, full only {only[1]}", file=sys.stderr)
    return dumps[0] == dumps[1]


def parse_only(root: Path) -> tuple[float, int, int]:
    """tree-sitter alone on one core: (seconds, files, lines) for the files astrepo indexes."""
    from astrepo.discover import discover_files
    from astrepo.parse import SourceParser

    files = discover_files(root)
    sources = [Path(f.abspath).read_bytes() for f in files]
    parser = SourceParser()
    started = time.perf_counter()
    for raw in sources:
        parser.parse(raw)
    return time.perf_counter() - started, len(files), sum(s.count(b"\n") for s in sources)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--projects", default="django,flask,requests")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--baseline", default=BASELINE_REV, help="revision whose full index is the baseline")
    ap.add_argument("--no-baseline", action="store_true", help="skip the baseline runs")
    ap.add_argument("--check-equal", action="store_true",
                    help="after the incremental runs, compare the graph with a full rebuild's (normalised dumps)")
    opts = ap.parse_args()
    rows = []
    base_work = Path(tempfile.mkdtemp(prefix="astrepo-bench-baseline-"))
    tree = None if opts.no_baseline else baseline_tree(opts.baseline, base_work)
    for key in opts.projects.split(","):
        name, version = PROJECTS[key]
        root = fetch(name, version)
        work = Path(tempfile.mkdtemp(prefix=f"astrepo-bench-{key}-"))
        try:
            copy = work / root.name
            shutil.copytree(root, copy)
            db = work / "db"
            full_times, parse_times, cpu_times, base_times, base_cpu = [], [], [], [], []
            summary: dict = {}
            for _ in range(opts.runs):
                if tree is not None:
                    shutil.rmtree(db, ignore_errors=True)
                    seconds, base = run_index(copy, db, opts.jobs, rebuild=True, tree=tree)
                    base_times.append(seconds)
                    base_cpu.append(base["cpu_s"])
                shutil.rmtree(db, ignore_errors=True)  # cold: no graph, no per-file cache
                seconds, summary = run_index(copy, db, opts.jobs, rebuild=True)
                full_times.append(seconds)
                cpu_times.append(summary["cpu_s"])
                parse_times.append(parse_only(copy)[0])
            _, files, lines = parse_only(copy)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            # Incremental: touch (append to) one mid-sized file, re-index, median of runs.
            from astrepo.discover import discover_files

            indexed = sorted((Path(f.abspath) for f in discover_files(copy)), key=lambda p: p.stat().st_size)
            target = indexed[len(indexed) // 2]
            inc_times, inc_cpu, inc_stages = [], [], []
            for i in range(opts.runs):
                with open(target, "a") as handle:
                    handle.write(f"\n\ndef _bench_touch_{i}():\n    return {i}\n")
                seconds, inc = run_index(copy, db, opts.jobs, rebuild=False)
                assert inc["changed"] == 1 and not inc["full"], (inc["changed"], inc["full"])
                inc_times.append(seconds)
                inc_cpu.append(inc["cpu_s"])
                inc_stages.append(inc["stage_seconds"])
            equal = same_graph(copy, db, work / "rebuilt", opts.jobs) if opts.check_equal else None
            full, parse = statistics.median(full_times), statistics.median(parse_times)
            rows.append({
                "project": f"{name}-{version}", "files": files, "lines": lines,
                "index_s": round(full, 2), "index_cpu_s": statistics.median(cpu_times),
                "lines_per_s": int(lines / full), "peak_rss_mb": int(peak_rss_mb),
                "parse_only_s": round(parse, 2), "index_over_parse": round(full / parse, 1),
                "incremental_s": round(statistics.median(inc_times), 2),
                "incremental_cpu_s": statistics.median(inc_cpu),
                "incremental_stage_s": {k: round(statistics.median(s[k] for s in inc_stages), 2)
                                        for k in inc_stages[-1]},
                **({"incremental_equals_full": equal} if equal is not None else {}),
                "nodes": summary["nodes"], "edges": summary["edges"],
                "stage_s": summary["stage_seconds"],
            })
            if base_times:
                rows[-1].update({
                    "baseline": opts.baseline, "baseline_s": round(statistics.median(base_times), 2),
                    "baseline_cpu_s": statistics.median(base_cpu),
                    "over_baseline": round(full / statistics.median(base_times), 2),
                    "over_baseline_cpu": round(statistics.median(cpu_times) / statistics.median(base_cpu), 2),
                })
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if tree is not None:
        shutil.rmtree(base_work, ignore_errors=True)
        subprocess.run(["git", "-C", str(HERE.parent), "worktree", "prune"], capture_output=True)
    print(f"{'project':18} {'files':>6} {'lines':>8} {'index s':>8} {'cpu s':>7} {'lines/s':>8} {'RSS MB':>7} "
          f"{'parse s':>8} {'ratio':>6} {'incr s':>7} {'nodes':>8} {'edges':>8} {'base s':>7} {'x base':>6}")
    for r in rows:
        print(f"{r['project']:18} {r['files']:>6} {r['lines']:>8} {r['index_s']:>8} {r['index_cpu_s']:>7} {r['lines_per_s']:>8} "
              f"{r['peak_rss_mb']:>7} {r['parse_only_s']:>8} {r['index_over_parse']:>6} {r['incremental_s']:>7} "
              f"{r['nodes']:>8} {r['edges']:>8} {r.get('baseline_s', '-'):>7} {r.get('over_baseline', '-'):>6}")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
