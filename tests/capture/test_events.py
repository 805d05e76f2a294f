"""The event stream as decoded: implied events put back, sampling, side items, threads, many batches."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from astrepo.capture.events import read_run

pytestmark = pytest.mark.integration

FUNCTIONS = textwrap.dedent('''
    import threading

    def classify(n, password="hunter2"):
        """Doc."""
        kind = "small"
        if n > 5:
            kind = "big"
        else:
            kind = "tiny" if n < 2 else kind
        for i in range(n % 3):
            if i:
                continue
            kind = kind.upper()
        else:
            pass
        while n > 100:
            n -= 100
        return kind

    def safe(x):
        try:
            return {"a": 1}[x]
        except KeyError:
            return -1

    def worker(k):
        return [classify(i) for i in range(k)]
''')
PROGRAM = FUNCTIONS + textwrap.dedent('''
    results = [classify(i) for i in range(3000)] + [safe("a"), safe("b")]
    t = threading.Thread(target=worker, args=(50,), name="side")
    t.start()
    t.join()
    print(len(results))
''')

RUNNER = textwrap.dedent('''
    import sys
    from astrepo.capture import recorder
    from astrepo.capture.instrument import instrument_source
    from astrepo.capture.points import plan_for_strategy, points_for_module

    out_dir, elide, path = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    sys.setswitchinterval(1e-5)  # let the writer cut batches anywhere, mid-frame included
    rec = recorder.start(out_dir, "run", flush_interval=0.0005, busy_interval=0.0005)
    plan = plan_for_strategy("full_trace")
    source = open(path).read()
    result = instrument_source(source, "prog.py", lambda tree, ids: points_for_module(plan, tree, ids), elide)
    exec(compile(result.tree, path, "exec"), {"__name__": "__main__"})
    rec.close()
''')


def _record(tmp_path: Path, elide: bool) -> list:
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    out = tmp_path / ("elided" if elide else "full") / "run"
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "1" if elide else "0", str(prog)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3002"
    events, summary = read_run(str(out))
    assert summary.stats["errors"] == 0 and summary.stats["batches"] > 3  # several batches per thread
    return events


def _shape(events: list) -> list:
    """Events without times (which differ from run to run), thread by thread (streams interleave
    at batch boundaries, which differ from run to run too)."""
    out = []
    for e in sorted(events, key=lambda e: (e.thread, e.seq)):
        data = {k: v for k, v in e.data.items() if k != "task"}
        out.append((e.thread, e.kind, e.node_id, e.name, e.line, e.call_id.rsplit(":", 1)[-1],
                    e.parent_call.rsplit(":", 1)[-1], repr(data)))
    return out


def test_elided_events_decode_to_the_full_stream(tmp_path: Path) -> None:
    elided, full = _record(tmp_path, True), _record(tmp_path, False)
    assert _shape(elided) == _shape(full)


def test_counts_sampling_and_side_items(tmp_path: Path) -> None:
    events = _record(tmp_path, True)
    main = [e for e in events if e.thread == "MainThread"]
    calls = [e for e in main if e.kind == "call" and e.name == "classify"]
    assert len(calls) == 3000
    # Arguments are previewed on the first 32 calls, then on one in 1024; the secret one is redacted.
    sampled = [e for e in calls if e.data["args"]]
    assert [e.data["args"][0]["repr"] for e in sampled[:32]] == [str(i) for i in range(32)]
    assert len(sampled) == 32 + len(range(32, 3000, 1024))
    assert all(e.data["args"][1] == {"type": "redacted", "repr": "<redacted>"} for e in sampled)
    returns = [e for e in main if e.kind == "return" and e.name == "classify"]
    assert len(returns) == 3000 and all(e.duration_ns is not None and e.duration_ns >= 0 for e in returns)
    plain: dict = {}
    exec(FUNCTIONS, plain)
    assert [e.data["value"]["repr"] for e in returns[:32]] == [repr(plain["classify"](n)) for n in range(32)]
    # Branches: ``if n > 5`` taken for n in 6..2999, the for loop body runs n % 3 times per call.
    branches = Counter((e.line, e.data["taken"]) for e in main if e.kind == "branch" and e.name == "classify")
    assert branches[(7, True)] == 2994 and branches[(7, False)] == 6
    assert branches[(11, True)] == sum(n % 3 for n in range(3000))
    # Every call starts with the line after the docstring (its line event is implied by the call).
    for e, nxt in zip(main, main[1:]):
        if e.kind == "call" and e.name == "classify":
            assert (nxt.kind, nxt.line, nxt.call_id) == ("line", 6, e.call_id)
    caught = [e for e in main if e.kind == "caught"]
    assert [(e.name, e.data["exc_type"]) for e in caught] == [("safe", "KeyError")]
    side = [e for e in events if e.thread == "side"]
    assert len([e for e in side if e.kind == "call" and e.name == "classify"]) == 50
    assert {e.call_id.split(":")[1] for e in side} != {e.call_id.split(":")[1] for e in main if e.call_id}


COLLECTED = textwrap.dedent('''
    import gc

    def boom(n):
        raise ValueError(f"boom {n}")

    def swallow(n):
        try:
            boom(n)
        except ValueError:
            return n

    def during_collection(phase, info):
        if phase == "start":
            try:
                {}[phase]
            except KeyError:
                pass

    gc.callbacks.append(during_collection)
    gc.set_threshold(1)
    for i in range(2000):
        swallow(i)
    gc.callbacks.remove(during_collection)
    print(3002)
''')


def test_code_run_by_the_collector_keeps_frames_and_side_items_paired(tmp_path: Path) -> None:
    """The collector runs Python code (here a gc callback, as well ``__del__`` or weakref callbacks)
    that records exceptions of its own at any allocation, also inside the recorder's helpers: its
    frames must not come between an exception frame and its side item (python-dateutil's suite
    under full_trace got exception frames read with other frames' details)."""
    prog = tmp_path / "prog.py"
    prog.write_text(COLLECTED)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "1", str(prog)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    events, summary = read_run(str(out))
    assert summary.stats["cpu_ns"] > 0  # the process's CPU time, measured at exit (the planner's baseline)
    left = [e for e in events if e.kind == "exception"]
    caught = [e for e in events if e.kind == "caught"]
    assert Counter((e.name, e.data["exc_type"], e.data["raised_here"], e.line) for e in left) == {
        ("boom", "ValueError", True, 5): 2000}
    assert Counter((e.name, e.data["exc_type"]) for e in caught) == {
        ("swallow", "ValueError"): 2000, ("during_collection", "KeyError"): len(caught) - 2000}
    assert len(caught) > 2100  # the collector ran often, inside the helpers too
    assert all(e.data["origin_file"] == str(prog) for e in caught)
    messages = [e.data["message"] for e in left]
    assert messages == [repr(f"boom {i}") for i in range(2000)]


def test_a_side_item_of_the_wrong_shape_decodes_to_empty_fields(tmp_path: Path) -> None:
    """Segments written before that fix hold exception frames paired with another frame's side
    item: a caught exception's (type, message, file, line) read as an exception frame's (type,
    message, line, raised here) gave a file name as the line, and the join crashed comparing it
    with statement lines. Such an item now decodes to empty fields."""
    from astrepo.capture import recorder
    from astrepo.capture.codes import event_code

    rec = recorder.Recorder(str(tmp_path / "run"), "run")
    rec._open_segment()
    rec.register_module("m.py", (("f1", "function", "f", 3),))
    buf = rec.thread_buffer()
    buf.side += [("KeyError", "'k'", "/src/m.py", 4), ("ValueError", "'v'", 7, True)]
    buf += [event_code("f1", "X"), 10, event_code("f1", "X"), 20]
    rec.close()
    events, _ = read_run(str(tmp_path / "run"))
    assert [(e.kind, e.line, e.data["exc_type"]) for e in events] == [("exception", 3, ""),
                                                                    ("exception", 7, "ValueError")]


def test_writer_comes_back_when_the_buffers_should_hold_a_batch(tmp_path: Path) -> None:
    from astrepo.capture import recorder

    rec = recorder.Recorder(str(tmp_path), "run", flush_interval=0.1, busy_interval=0.005, batch_items=16384)
    assert rec.next_interval(0, 0.1) == 0.1  # nothing came in: the slow pace
    assert rec.next_interval(16384, 0.02) == pytest.approx(0.02)  # a batch's worth in 20 ms: again in 20 ms
    assert rec.next_interval(1000, 0.1) == 0.1  # a trickle: no sooner than the slow pace
    assert rec.next_interval(10 * 16384, 0.05) == 0.005  # a flood: no more often than every 5 ms


COUNTED = textwrap.dedent('''
    import os

    def leaf(x):
        return x + 1

    for i in range(1234):
        leaf(i)
    child = os.fork() == 0
    for i in range(10 if child else 0):
        leaf(i)
    if not child:
        os.wait()
''')

COUNTER_RUNNER = textwrap.dedent('''
    import ast, sys
    from astrepo.capture import recorder
    from astrepo.capture.instrument import instrument_source
    from astrepo.capture.points import Point

    out_dir, path = sys.argv[1], sys.argv[2]
    rec = recorder.start(out_dir, "run")

    def points(tree, ids):
        leaf = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "leaf")
        first = ids.records[leaf.body[0]].id
        return {first: {"line": Point(first, "line", {"counter": True})}}

    result = instrument_source(open(path).read(), "prog.py", points)
    print("_ar_tl" in ast.unparse(result.tree))
    exec(compile(result.tree, path, "exec"), {"__name__": "__main__"})
    rec.close()
''')


def test_a_counted_function_counts_without_events_and_a_forked_child_its_own_calls(tmp_path: Path) -> None:
    """A ``line`` point with ``capture.counter`` is a C-level counter (no buffer, no event per call):
    the recorder writes one ``N`` frame per process at its end; a forked child starts from zero."""
    import ast

    from astrepo.capture.ast_ids import assign_ids
    from astrepo.capture.codes import TAG, event_code
    from astrepo.capture.events import aggregate_run

    prog = tmp_path / "prog.py"
    prog.write_text(COUNTED)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", COUNTER_RUNNER, str(out), str(prog)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "False"  # the counted function fetches no buffer
    tree = ast.parse(COUNTED)
    leaf = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "leaf")
    first = assign_ids(tree, "prog.py").records[leaf.body[0]].id
    _, totals, details = aggregate_run(str(out))
    list(details)
    assert totals.counts[event_code(first, "L")] == 1234 + 10
    assert not any(code & 15 == TAG["N"] for code in totals.counts)
    events, summary = read_run(str(out))
    counted = [e for e in events if e.node_id == first]
    assert sorted(e.data["count"] for e in counted) == [10, 1234] and {e.kind for e in counted} == {"line"}
    assert summary.stats["errors"] == 0
