"""Real test suites of pure-Python PyPI packages, plain and under ``astrepo trace --strategy full_trace``.

Usage: ``python bench/package_suites.py [--sdist-dir DIR] [--strategy full_trace] [--only NAME] [--json]``

Each package's source distribution (``pip download --no-deps --no-binary :all: NAME==VERSION``,
once, into ``--sdist-dir``) is unpacked into a temporary folder and its own test suite is run
from there with ``python -m pytest`` (so the package is imported from the unpacked sources,
which makes it project code the import hook instruments). The pass/fail/skip counts must be
identical plain and traced; the script exits 4 when they are not. The project is then indexed
(untimed: the join links exceptions to statements of the graph) and each traced run joined into
the graph in a child process whose time and peak RSS are reported (``--no-ingest`` skips both).

more-itertools 11.2.1 has one test measuring, with ``tracemalloc``, the memory retained over
10,000 calls (limit 256 KiB): the recorder's events not yet flushed (about `BATCH_ITEMS` of them)
are allocations it sees, so traced it passes or fails by a few KiB from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

#: (name, version, test arguments, folder put on PYTHONPATH or ""): small pure-Python packages whose
#: tests run in seconds here.
PACKAGES = (
    ("six", "1.17.0", ["test_six.py"], ""),
    ("idna", "3.20", ["tests"], ""),
    ("toolz", "1.2.0", ["toolz/tests"], ""),
    # One test measures the memory retained over 10,000 calls with tracemalloc (see the module docstring).
    ("more_itertools", "11.2.1", ["tests"], ""),
    # A src layout (imported from src/, not from an installed copy); two test modules need freezegun,
    # its configuration turns the unregistered ``no_cover`` mark's warning into an error; four tests
    # fail plain and traced alike (the machine's time zone data).
    ("python_dateutil", "4.0.0", ["-W", "ignore::pytest.PytestUnknownMarkWarning", "--ignore", "tests/test_rrule.py",
                                  "--ignore", "tests/test_utils.py", "tests"], "src"),
)

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


def counts(output: str) -> dict[str, int]:
    """pytest's final tally (``3 passed, 1 skipped``) as a dict."""
    lines = [ln for ln in output.splitlines() if _COUNT.search(ln) and (" in " in ln)]
    if not lines:
        return {}
    return {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in _COUNT.findall(lines[-1])}


def sdist(directory: str, name: str, version: str) -> str:
    for candidate in os.listdir(directory) if os.path.isdir(directory) else ():
        if candidate.lower().replace("-", "_").startswith(f"{name}_{version}".lower()) and candidate.endswith(".tar.gz"):
            return os.path.join(directory, candidate)
    os.makedirs(directory, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "-d", directory, f"{name}=={version}"], check=True, capture_output=True)
    return sdist(directory, name, version)


def run_suite(src: str, test_args: list[str], traced: str | None, db: str, path: str = "") -> tuple[dict, float, str]:
    """(pytest's counts, seconds, output tail) of the suite, plain or under ``astrepo trace``
    (recording only: `ingest` joins the run apart, to measure it); ``path``: a folder of ``src``
    put on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env["PYTHONHASHSEED"] = "0"
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(src, path), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *test_args]
    if traced:
        cmd = [sys.executable, "-m", "astrepo.cli.app", "trace", "--strategy", traced, "--db", db, "--root", src,
               "--no-ingest", "--", *cmd]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=1800)
    return counts(proc.stdout), time.perf_counter() - started, proc.stdout[-1500:] + proc.stderr[-1500:]


INGEST = """
import sys
from pathlib import Path
from astrepo.capture.events import list_runs
from astrepo.graph.ingest import ingest_run
db = Path(sys.argv[1])
ingest_run(db, list_runs(str(db / "events"))[-1])
"""


def ingest(db: str) -> dict:
    """Join the run recorded under ``db`` in a child process: its seconds and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", INGEST, db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"ingest failed: {proc.stderr.read().decode()[-2000:]}")
    return {"ingest_s": round(time.perf_counter() - started, 1), "ingest_peak_mb": round(usage.ru_maxrss / 1024)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist-dir", default=os.path.join(tempfile.gettempdir(), "astrepo-sdists"))
    parser.add_argument("--strategy", default="full_trace")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-ingest", action="store_true", help="Record only (do not join the runs).")
    parser.add_argument("--only", action="append", metavar="NAME", help="Only this package (repeatable).")
    args = parser.parse_args()
    results = []
    ok = True
    for name, version, test_args, path in PACKAGES:
        if args.only and name not in args.only:
            continue
        tmp = tempfile.mkdtemp(prefix=f"astrepo-{name}-")
        try:
            with tarfile.open(sdist(args.sdist_dir, name, version)) as archive:
                archive.extractall(tmp, filter="data")
            (top,) = os.listdir(tmp)
            src = os.path.join(tmp, top)
            plain, plain_s, _ = run_suite(src, test_args, None, "", path)
            db = os.path.join(tmp, "astrepo-db")
            traced, traced_s, tail = run_suite(src, test_args, args.strategy, db, path)
            row = {"package": f"{name} {version}", "plain": plain, "traced": traced, "same": plain == traced and bool(plain),
                   "plain_s": round(plain_s, 2), "traced_s": round(traced_s, 2)}
            if not args.no_ingest:
                from astrepo.graph.join import list_ingested

                subprocess.run([sys.executable, "-m", "astrepo.cli.app", "index", src, "--db", db, "--no-embed",
                                "--quiet"], cwd=src, check=True, capture_output=True)
                row.update(ingest(db))
                run = list_ingested(Path(db))[-1]
                row.update(events=run["events"], exceptions=run["exceptions"],
                           exceptions_stored=run.get("exceptions_stored"))
            if not row["same"]:
                row["tail"] = tail
            ok &= row["same"]
            results.append(row)
            if not args.json:
                print(f"{row['package']:<24} plain {plain}  traced {traced}  {'SAME' if row['same'] else 'DIFFERENT'}  "
                      f"{row['plain_s']}s / {row['traced_s']}s  events {row.get('events')}  "
                      f"ingest {row.get('ingest_s')}s, peak {row.get('ingest_peak_mb')} MB", flush=True)
                if "tail" in row:
                    print(tail)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps({"format": 1, "strategy": args.strategy, "results": results}, indent=1))
    return 0 if ok else 4


if __name__ == "__main__":
    sys.exit(main())
