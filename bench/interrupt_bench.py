"""Ctrl-C during a full index: how long the process takes to end, and whether the graph survives.

Usage: python bench/interrupt_bench.py [--project django] [--at FUNCTION | --after SECONDS]
                                       [--delay SECONDS] [--runs N]

Indexes the project once (the graph to keep), then per run starts a full
re-index (``--rebuild``) by the real CLI and sends it SIGINT: ``--after`` N
seconds, or, with ``--at``, as soon as the function is on one of the
process's stacks (polled with py-spy, which must be installed; plus
``--delay``). That targets a stage whatever the machine's speed: e.g.
``save_rows`` (the thread loading per-file rows beside name resolution),
``fill_generation`` (the load stage), ``analyze_project``, ``_commit``.
Prints per run the seconds from the signal to the process's end, its exit
status (130 expected; a negative one is a crash) and whether the published
generation (``graph/CURRENT``) is unchanged and still opens.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from index_bench import PROJECTS, fetch, run_index  # noqa: E402


def _wait_for(pid: int, function: str, proc: subprocess.Popen) -> bool:
    """Poll the process's stacks until ``function`` is on one; False if the process ended first."""
    while proc.poll() is None:
        dump = subprocess.run(["py-spy", "dump", "--pid", str(pid)], capture_output=True, text=True).stdout
        if f" {function} (" in dump:
            return True
        time.sleep(0.2)
    return False


def interrupt_once(root: Path, db: Path, at: str | None, after: float, delay: float) -> dict:
    current = (db / "graph" / "CURRENT").read_text().strip()
    proc = subprocess.Popen([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db),
                             "--no-embed", "--rebuild", "-q", "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    started = time.perf_counter()
    if at is not None:
        if not _wait_for(proc.pid, at, proc):
            return {"at": at, "error": "the run ended before reaching it"}
    else:
        time.sleep(after)
    time.sleep(delay)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    ended = time.perf_counter()
    kept = (db / "graph" / "CURRENT").read_text().strip() == current
    check = subprocess.run([sys.executable, "-m", "astrepo.cli.app", "stats", "--db", str(db), "--json"],
                           capture_output=True, text=True)
    return {"signal_after_s": round(sent - started, 2), "exit_after_signal_s": round(ended - sent, 2),
            "status": proc.returncode, "graph_kept": kept and check.returncode == 0,
            "stderr_tail": err.strip().splitlines()[-2:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", default="django", choices=sorted(PROJECTS))
    parser.add_argument("--at", help="send SIGINT once this function is on a stack (needs py-spy)")
    parser.add_argument("--after", type=float, default=12.0, help="else: seconds after the start")
    parser.add_argument("--delay", type=float, default=0.0, help="more seconds before the signal")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    if opts.at and shutil.which("py-spy") is None:
        raise SystemExit("--at needs py-spy (pip install py-spy)")
    source = fetch(*PROJECTS[opts.project])
    with tempfile.TemporaryDirectory(prefix="interrupt-bench-") as tmp:
        db = Path(tmp) / "db"
        run_index(source, db, 0, True)
        runs = [interrupt_once(source, db, opts.at, opts.after, opts.delay) for _ in range(opts.runs)]
    exits = [r["exit_after_signal_s"] for r in runs if "exit_after_signal_s" in r]
    report = {"project": opts.project, "at": opts.at or f"{opts.after} s", "delay_s": opts.delay, "runs": runs,
              "exit_after_signal_s_median": statistics.median(exits) if exits else None,
              "crashes": sum(1 for r in runs if r.get("status", 0) < 0),
              "graph_kept_every_time": all(r.get("graph_kept", False) for r in runs if "status" in r)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
