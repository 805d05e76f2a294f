"""Query speed on the Django graph: per question type in-process, and the whole CLI call.

Usage: python bench/query_bench.py [--repeat N] [--cli-runs N]

Indexes Django 5.1.4 (from bench/.cache, downloaded by bench/index_bench.py's
fetch) into bench/.cache/django-graph unless it is there already, then runs
each question --repeat times after one warm-up on one open engine and prints
p50/p95 in milliseconds, and the median wall time of `astrepo query` as a
subprocess (start-up, imports, opening the database, the query, output), next
to `python -c pass` measured in the same run.
"""

from __future__ import annotations

import argparse
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
    "paths from X to Y": "paths from django.core.management.execute_from_command_line "
                         "to django.core.management.base.BaseCommand.execute",
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
    if not (db / "graph" / "CURRENT").exists():
        subprocess.run([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db), "--no-embed",
                        "-q", "--json"], check=True, capture_output=True)
    from astrepo.graph.query import open_engine

    engine = open_engine(db)
    print(f"{'question':28} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for label, text in QUESTIONS.items():
        rows = len(engine.answer(text).rows)  # warm-up
        times = []
        for _ in range(opts.repeat):
            started = time.perf_counter()
            engine.answer(text)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:28} {rows:>6} {statistics.median(times):>8.1f} {percentile(times, 0.95):>8.1f}")
    engine.db.close()

    def wall(args: list[str]) -> float:
        samples = []
        for _ in range(opts.cli_runs):
            started = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    bare = wall([sys.executable, "-c", "pass"])
    cli = wall([sys.executable, "-m", "astrepo.cli.app", "query", QUESTIONS["callers"], "--db", str(db), "--json"])
    print(f"CLI `astrepo query \"{QUESTIONS['callers']}\" --json`: median {cli:.2f} s "
          f"(python -c pass: {bare:.2f} s)")


if __name__ == "__main__":
    main()
