"""A traced process's start-up: the compiled plan, and what the program sees of the bootstrap."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

from astrepo.capture.bootstrap import trace_environment, write_bootstrap
from astrepo.capture.events import read_run
from astrepo.capture.hook import (Config, PlanKey, compile_instrumented, compiled_plan_path, plan_key, strategy_key,
                                 write_plan_key)
from astrepo.capture.points import plan_for_strategy, plan_from_json
from astrepo.capture.run import shim_command


def _plan_doc(*points: tuple[str, str, dict]) -> str:
    return json.dumps({"format": 1, "strategy": "balanced", "points": [
        {"node_id": n, "kind": "function_boundary", "file": f, "capture": c} for n, f, c in points]})


def test_plan_key_reads_the_compiled_form_until_the_plan_changes(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(_plan_doc(("a", "m.py", {}), ("b", "n.py", {"args": True})))
    plan = plan_from_json(plan_file.read_text())
    key = plan_key(str(plan_file), db)  # no compiled form yet: parsed, and the compiled form written
    for rel in ("m.py", "n.py", "other.py"):
        assert key.module_digest(rel) == plan.module_digest(rel)
    assert key.plan() == plan
    compiled = Path(compiled_plan_path(db, str(plan_file)))
    fmt, size, mtime_ns, digests = marshal.loads(compiled.read_bytes())
    assert digests == plan.digests()
    # The compiled form is what a traced process reads while the plan file is unchanged ...
    compiled.write_bytes(marshal.dumps((fmt, size, mtime_ns, ("balanced", "d", {"m.py": "x"}, "e"))))
    assert plan_key(str(plan_file), db).module_digest("m.py") == "x"
    # ... and a new plan in the same file is parsed again.
    plan_file.write_text(_plan_doc(("a", "m.py", {"return": True})))
    new = plan_from_json(plan_file.read_text())
    assert new.module_digest("m.py") != plan.module_digest("m.py")
    assert plan_key(str(plan_file), db).module_digest("m.py") == new.module_digest("m.py")
    assert marshal.loads(compiled.read_bytes())[3] == new.digests()
    # A plan without files keys every module by the whole plan's digest.
    doc = json.loads(_plan_doc(("a", "m.py", {})))
    del doc["points"][0]["file"]
    plan_file.write_text(json.dumps(doc))
    whole = write_plan_key(str(plan_file), db)
    assert whole.module_digest("m.py") == whole.module_digest("z.py") == plan_from_json(json.dumps(doc)).digest
    for strategy in ("minimal", "balanced", "full_trace"):
        assert strategy_key(strategy).module_digest("m.py") == plan_for_strategy(strategy).module_digest("m.py")



def test_a_module_is_cached_under_the_plan_it_was_instrumented_with(tmp_path: Path) -> None:
    """A plan file rewritten after a process read its key: the module's compiled code is cached under
    the digest of the plan it got, so that a process reading the new key finds it."""
    (tmp_path / "mod.py").write_text(MODULE)
    source = (tmp_path / "mod.py").read_bytes()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(_plan_doc(("a", "mod.py", {"args": True})))
    db = str(tmp_path / "db")
    cache = tmp_path / "db" / "cache" / "capture"
    stale = PlanKey(("balanced", "old", {"mod.py": "old"}, "old"), str(plan_file))
    assert compile_instrumented(source, str(tmp_path / "mod.py"), Config(str(tmp_path), db, "r1", stale)) is not None
    written = sorted(cache.glob("*.code"))
    assert len(written) == 1
    fresh = Config(str(tmp_path), db, "r2", write_plan_key(str(plan_file), db))
    assert compile_instrumented(source, str(tmp_path / "mod.py"), fresh) is not None
    assert sorted(cache.glob("*.code")) == written  # a cache hit: nothing new written

PROGRAM = '''import sys
import threading

import mod

try:
    mod.fail()
except ValueError:
    pass
print(mod.twice(21))
print(threading.active_count(), [t.name for t in threading.enumerate()])
print(sys.path)
print({m: m in sys.modules for m in ("json", "signal", "astrepo.capture.points", "astrepo.capture.instrument")})
'''

MODULE = '''def twice(x):
    return 2 * x


def fail():
    raise ValueError("no")
'''


def test_traced_start_up_reads_no_json_and_leaves_sys_path_and_threads_alone(tmp_path: Path) -> None:
    """Traced as `astrepo trace` runs it (the plan compiled beforehand, the script through the shim):
    the program sees the sys.path and threads it has untraced, and a warm run (compiled code
    cached) loads neither json nor the planner's modules that plain start-up does not."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "main.py").write_text(PROGRAM)
    (project / "mod.py").write_text(MODULE)
    db = tmp_path / "db"
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"format": 1, "strategy": "full_trace", "points": []}))
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    cmd = [sys.executable, "main.py"]
    plain = subprocess.run(cmd, cwd=project, env=base, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    bootstrap = write_bootstrap(str(db / "bootstrap"))
    write_plan_key(str(plan_file), str(db))
    for run_id in ("cold", "warm"):
        env = trace_environment(base, bootstrap, str(project), str(db), run_id, str(plan_file), None)
        traced = subprocess.run(shim_command(cmd, bootstrap, str(project), cwd=str(project)), cwd=project, env=env,
                                capture_output=True, text=True, timeout=120)
        assert traced.returncode == 0, traced.stderr
        events, _ = read_run(str(db / "events" / run_id))
        assert {"call", "exception"} <= {e.kind for e in events}
    out, want = traced.stdout.splitlines(), plain.stdout.splitlines()
    assert out[:3] == want[:3]  # the result, the threads, sys.path
    loaded, plain_loaded = eval(out[3]), eval(want[3])  # noqa: S307 - our own program's dict literal
    assert not loaded["astrepo.capture.points"] and not loaded["astrepo.capture.instrument"]
    assert loaded["json"] == plain_loaded["json"] and loaded["signal"] == plain_loaded["signal"]
