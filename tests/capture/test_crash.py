"""A SIGKILLed traced process loses at most its last unflushed batch; what was written stays readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from astrepo.capture.bootstrap import trace_environment, write_bootstrap
from astrepo.capture.events import read_run

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent('''
    import sys, time

    def step(i):
        return i + 1

    def phase(start, n):
        i = start
        while i < start + n:
            i = step(i)
        return i

    i = phase(0, 50000)
    print("flushed", i, flush=True)
    time.sleep(0.6)            # the writer wakes every 0.1 s: everything so far reaches the file
    print("busy", flush=True)
    while True:                # then keep producing until killed
        i = step(i)
''')


def test_sigkill_loses_at_most_the_last_batch(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "prog.py").write_text(PROGRAM)
    db = tmp_path / "db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env = trace_environment(base, write_bootstrap(str(db / "bootstrap")), str(project), str(db), "run1",
                            None, "balanced")
    proc = subprocess.Popen([sys.executable, "prog.py"], cwd=project, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["flushed", "50000"]
        assert proc.stdout.readline().strip() == "busy"
        time.sleep(0.35)  # several flushes of the busy phase, the kill lands between two of them
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    events, summary = read_run(str(db / "events" / "run1"))
    # Only the bootstrap's pre-exec process (no events) wrote a final stats record: the traced one died.
    assert summary.stats.get("items", 0) == 0
    args = [e.data["args"][0]["repr"] for e in events if e.kind == "call" and e.name == "step" and e.data.get("args")]
    calls = [e for e in events if e.kind == "call" and e.name == "step"]
    # Every call made before the quiet flush is there, in order, with no gap and no garbage.
    assert len(calls) > 50000
    returns = [e for e in events if e.kind == "return" and e.name == "step"]
    assert len(returns) in (len(calls), len(calls) - 1)  # a batch never splits an event
    assert args[:32] == [str(i) for i in range(32)]  # sampled previews of the first calls
    # What was lost is at most one flush interval of work: the busy phase ran ~0.35 s and
    # the file holds all but (at most) its last ~0.1 s.
    seg = sorted((db / "events" / "run1").glob("*.seg"))
    assert seg and all(p.stat().st_size > 0 for p in seg)
    busy = len(calls) - 50000
    assert busy > 0, "nothing of the busy phase was flushed"


def test_truncated_tail_is_ignored(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "prog.py").write_text("def f(x):\n    return x\n\nfor i in range(100):\n    f(i)\n")
    db = tmp_path / "db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env = trace_environment(base, write_bootstrap(str(db / "bootstrap")), str(project), str(db), "run1",
                            None, "full_trace")
    subprocess.run([sys.executable, "prog.py"], cwd=project, env=env, check=True, timeout=60)
    before, _ = read_run(str(db / "events" / "run1"))
    seg = max((db / "events" / "run1").glob("*.seg"), key=lambda p: p.stat().st_size)
    with open(seg, "ab") as handle:  # a record cut short by a kill mid-write
        handle.write((10_000).to_bytes(4, "little") + b"\xe3partial")
    after, _ = read_run(str(db / "events" / "run1"))
    assert [e.to_json() for e in after] == [e.to_json() for e in before]
