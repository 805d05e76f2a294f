"""Query speed on the Django graph: per question type in-process, and the whole CLI call.

Usage: python bench/query_bench.py [--repeat N] [--cli-runs N]

Indexes Django 5.1.4 (from bench/.cache, downloaded by bench/index_bench.py's
fetch) into bench/.cache/django-graph unless a usable index is there already
(one written with another schema version is rebuilt), then runs each question
--repeat times after one warm-up on one open engine and prints p50/p95 of wall
and of CPU time in milliseconds (CPU is steadier on a shared machine; Kuzu may
use more than one thread, so CPU can exceed wall), the rows and the Cypher
round trips, and the median wall and CPU time of `astrepo query` as a
subprocess (start-up, imports, opening the database, the query, output), next
to `python -c pass` measured in the same run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from index_bench import CACHE, fetch  # noqa: E402

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
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--cli-runs", type=int, default=7)
    opts = ap.parse_args()
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
    print(f"{'question':28} {'rows':>6} {'trips':>5} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8}")
    for label, text in QUESTIONS.items():
        result = engine.answer(text)  # warm-up
        wall, cpu = [], []
        for _ in range(opts.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            engine.answer(text)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        print(f"{label:28} {len(result.rows):>6} {len(result.cypher):>5} {statistics.median(wall):>8.1f} "
              f"{percentile(wall, 0.95):>8.1f} {statistics.median(cpu):>8.1f} {percentile(cpu, 0.95):>8.1f}")
    engine.db.close()

    def timed(args: list[str]) -> tuple[float, float]:
        """Median wall and CPU seconds of a subprocess."""
        walls, cpus = [], []
        for _ in range(opts.cli_runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return statistics.median(walls), statistics.median(cpus)

    bare, bare_cpu = timed([sys.executable, "-c", "pass"])
    cli, cli_cpu = timed([sys.executable, "-m", "astrepo.cli.app", "query", QUESTIONS["callers"], "--db", str(db),
                          "--json"])
    print(f"CLI `astrepo query \"{QUESTIONS['callers']}\" --json`: median {cli:.2f} s wall, {cli_cpu:.2f} s CPU "
          f"(python -c pass: {bare:.2f} s wall, {bare_cpu:.2f} s CPU)")


if __name__ == "__main__":
    main()
