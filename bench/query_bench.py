"""Query speed on the Django graph: per question type in-process, and the whole CLI call.

Usage: python bench/query_bench.py [--repeat N] [--cli-runs N] [--only TEXT]

Indexes Django 5.1.4 (from bench/.cache, downloaded by bench/index_bench.py's
fetch) into bench/.cache/django-graph unless a usable index is there already
(one written with another schema version is rebuilt) and, for the behaviour
questions, records one traced run of bench/workloads/django_utils.py into it
when it holds none, and computes its embeddings for the similarity question
(about two minutes, once); then runs each question
--repeat times after one warm-up on one open engine and prints p50/p95 of wall
and of CPU time in milliseconds (CPU is steadier on a shared machine; Kuzu may
use more than one thread, so CPU can exceed wall), the rows and the Cypher
round trips (reads of the reach index beside the graph are not counted), and
the median wall and CPU time of `astrepo query` as a subprocess (start-up,
imports, opening the database, the query, output), next to `python -c pass`
measured in the same run.

With --baseline REV, the same questions also run on the code of REV (a git
worktree, with its own Django graph in bench/.cache/django-graph-REV, built
once): each side answers in its own child process, the two take turns on every
repetition, and the table shows both sides' medians and the CPU ratio
(current / baseline), which survives a busy machine better than absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from index_bench import _BASELINE_RUNNER, CACHE, baseline_tree, fetch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

#: A child answering the questions it reads on stdin (one per line) with the code of a tree
#: (mapped onto the ``astrepo`` namespace as the package installs it); prints, per question,
#: [wall ms, CPU ms, rows, round trips].
_ANSWERER = """
import json, sys, time
tree, db = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import astrepo
astrepo.__path__.append(tree)
from astrepo.graph.query import open_engine
import astrepo.graph.query.engine as engine_module
assert engine_module.__file__.startswith(tree), engine_module.__file__
engine = open_engine(db)
print("ready", flush=True)
for line in sys.stdin:
    started, started_cpu = time.perf_counter(), time.process_time()
    result = engine.answer(line.rstrip("\\n"))
    wall, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
    print(json.dumps([wall, cpu, len(result.rows), sum(not c.startswith("--") for c, _ in result.cypher)]), flush=True)
"""

QUESTIONS = {
    "callers": "callers of django.db.models.query.QuerySet.filter",
    "callees": "callees of django.db.models.query.QuerySet.filter",
    "transitive callers": "transitive callers of django.core.handlers.base.BaseHandler.get_response",
    "transitive callees": "transitive callees of django.core.handlers.base.BaseHandler.get_response",
    "functions in P": "functions in django/db/models/sql/",
    "functions in P calling X": "functions in django/db/ calling django.db.models.query.QuerySet.filter",
    "functions called by X": "functions called by django.db.models.query.QuerySet.filter",
    "methods of C": "methods of django.db.models.query.QuerySet",
    "subclasses of C": "subclasses of django.db.models.fields.Field",
    "recursive functions": "recursive functions",
    "unused functions": "unused functions",
    "entry points reaching X": "entry points reaching django.core.management.base.BaseCommand.execute",
    "paths from X to Y": "paths from django.core.management.base.BaseCommand.run_from_argv "
                         "to django.core.management.base.BaseCommand.execute",
    "functions raising E": "functions raising django.core.exceptions.ValidationError",
    "callers of X raising E": "callers of django.core.signing.Signer.unsign raising django.core.signing.BadSignature",
    "transitive callers raising E": "transitive callers of django.core.signing.loads raising "
                                    "django.core.signing.BadSignature",
    "functions catching E": "functions catching django.core.exceptions.ValidationError",
    "implicitly raising E": "functions in django/utils/ implicitly raising KeyError",
    "complexity > N": "functions with complexity > 25",
    # Behaviour: over a traced run of bench/workloads/django_utils.py (recorded once, see traced()).
    "functions that raised E": "functions that raised django.utils.datastructures.MultiValueDictKeyError",
    "callers of X that raised E": "callers of django.utils.datastructures.MultiValueDict.__getitem__ "
                                  "that raised KeyError",
    "never executed functions in P": "never executed functions in django/utils/",
    "slow functions": "slow functions",
    "functions slower than T": "functions slower than 1ms",
    "called more than N times": "functions called more than 100 times",
    # Similarity: over the graph's embeddings (computed once, see embedded()).
    "similar to text": 'functions similar to "parse a date string into a date object"',
}

#: What the behaviour questions ask about: a run over Django modules that import without settings.
WORKLOAD = Path(__file__).parent / "workloads" / "django_utils.py"


def traced(root: Path, db: Path) -> None:
    """Record and ingest one full_trace run of the workload over Django into ``db``."""
    subprocess.run([sys.executable, "-m", "astrepo.cli.app", "trace", "--db", str(db), "--root", str(root),
                    "--strategy", "full_trace", "-q", "--", sys.executable, str(WORKLOAD)],
                   cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True, capture_output=True)


def embedded(db: Path) -> bool:
    """Whether the graph in ``db`` has its symbols' embeddings (an `astrepo index` without --no-embed)."""
    from astrepo.layout import Layout

    directory = Layout(db).embeddings_dir
    return directory.is_dir() and any(directory.iterdir())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def index_with(tree: Path, root: Path, db: Path) -> None:
    """Index ``root`` into ``db`` with the code of ``tree``."""
    subprocess.run([sys.executable, "-c", _BASELINE_RUNNER, str(tree), "index", str(root), "--db", str(db), "--no-embed",
                    "--rebuild", "-q", "--json"], check=True, capture_output=True)


class Answerer:
    """A child process answering questions with one tree's code on one graph."""

    def __init__(self, tree: Path, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ANSWERER, str(tree), str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"the answerer on {tree} did not start")

    def ask(self, text: str) -> list[float]:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the answerer stopped at {text!r}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def compare(rev: str, root: Path, db: Path, repeat: int, cli_runs: int, asked: dict[str, str]) -> None:
    """Both sides' medians per question, taking turns, and the CLI call on each."""
    with tempfile.TemporaryDirectory() as work:
        tree = baseline_tree(rev, Path(work))
        base_db = CACHE / f"django-graph-{rev}"
        if not (base_db / "graph").exists():
            index_with(tree, root, base_db)
        sides = {"base": (tree, base_db), "now": (REPO, db)}
        answerers = {side: Answerer(t, d) for side, (t, d) in sides.items()}
        print(f"baseline {rev} vs working tree; p50 wall and CPU ms, ratio = CPU now / CPU base")
        print(f"{'question':28} {'rows':>11} {'trips':>7} {'base p50':>9} {'now p50':>8} {'base cpu':>9} "
              f"{'now cpu':>8} {'ratio':>6}")
        for label, text in asked.items():
            got: dict[str, list[list[float]]] = {side: [] for side in sides}
            for side in sides:
                answerers[side].ask(text)  # warm-up
            for i in range(repeat):
                for side in (("base", "now") if i % 2 == 0 else ("now", "base")):
                    got[side].append(answerers[side].ask(text))
            med = {side: (statistics.median(r[0] for r in got[side]), statistics.median(r[1] for r in got[side]))
                   for side in sides}
            rows = "/".join(str(int(got[side][0][2])) for side in sides)
            trips = "/".join(str(int(got[side][0][3])) for side in sides)
            print(f"{label:28} {rows:>11} {trips:>7} {med['base'][0]:>9.1f} {med['now'][0]:>8.1f} "
                  f"{med['base'][1]:>9.1f} {med['now'][1]:>8.1f} {med['now'][1] / med['base'][1]:>6.2f}")
        for answerer in answerers.values():
            answerer.close()
        walls: dict[str, list[float]] = {side: [] for side in sides}
        cpus: dict[str, list[float]] = {side: [] for side in sides}
        for i in range(cli_runs):
            for side in (("base", "now") if i % 2 == 0 else ("now", "base")):
                t, d = sides[side]
                wall, cpu = timed_once([sys.executable, "-c", _BASELINE_RUNNER, str(t), "query", QUESTIONS["callers"],
                                        "--db", str(d), "--json"])
                walls[side].append(wall)
                cpus[side].append(cpu)
        print(f"CLI `astrepo query \"{QUESTIONS['callers']}\" --json` median wall/CPU s: base "
              f"{statistics.median(walls['base']):.2f}/{statistics.median(cpus['base']):.2f}, now "
              f"{statistics.median(walls['now']):.2f}/{statistics.median(cpus['now']):.2f}")
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def timed_once(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--cli-runs", type=int, default=7)
    ap.add_argument("--baseline", metavar="REV", help="also run the questions on the code of this revision")
    ap.add_argument("--only", metavar="TEXT", help="only the question types whose label contains TEXT")
    opts = ap.parse_args()
    asked = {label: text for label, text in QUESTIONS.items() if not opts.only or opts.only in label}
    root = fetch("django", "5.1.4")
    db = CACHE / "django-graph"
    from astrepo.errors import AstrepoError
    from astrepo.graph.query import open_engine

    try:
        engine = open_engine(db)
    except AstrepoError:  # none yet, or written by another schema version
        subprocess.run([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db), "--no-embed",
                        "--rebuild", "-q", "--json"], check=True, capture_output=True)
        engine = open_engine(db)
    if not engine.db.scalar("MATCH (r:Run) RETURN count(*)"):
        engine.db.close()
        traced(root, db)
        engine = open_engine(db)
    if not embedded(db):
        engine.db.close()
        subprocess.run([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db), "-q", "--json"],
                       check=True, capture_output=True)
        engine = open_engine(db)
    if opts.baseline:
        engine.db.close()
        compare(opts.baseline, root, db, opts.repeat, opts.cli_runs, asked)
        return
    print(f"{'question':28} {'rows':>6} {'trips':>5} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8}")
    for label, text in asked.items():
        result = engine.answer(text)  # warm-up
        wall, cpu = [], []
        for _ in range(opts.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            engine.answer(text)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        trips = sum(not c.startswith("--") for c, _ in result.cypher)
        print(f"{label:28} {len(result.rows):>6} {trips:>5} {statistics.median(wall):>8.1f} "
              f"{percentile(wall, 0.95):>8.1f} {statistics.median(cpu):>8.1f} {percentile(cpu, 0.95):>8.1f}")
    engine.db.close()

    def timed(args: list[str]) -> tuple[float, float]:
        """Median wall and CPU seconds of a subprocess."""
        runs = [timed_once(args) for _ in range(opts.cli_runs)]
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    bare, bare_cpu = timed([sys.executable, "-c", "pass"])
    cli, cli_cpu = timed([sys.executable, "-m", "astrepo.cli.app", "query", QUESTIONS["callers"], "--db", str(db),
                          "--json"])
    print(f"CLI `astrepo query \"{QUESTIONS['callers']}\" --json`: median {cli:.2f} s wall, {cli_cpu:.2f} s CPU "
          f"(python -c pass: {bare:.2f} s wall, {bare_cpu:.2f} s CPU)")


if __name__ == "__main__":
    main()
