"""The planner's cost model: per-event costs of capture on this machine, and their measurement.

`Costs` holds nanoseconds per recorded thing (a function's counted boundary, a
value preview, a line, a branch, ...). `astrepo calibrate` measures them by
running a small probe plain and instrumented with each point kind in a
subprocess (`measure_costs`), and stores them as JSON under
``.astrepo/calibration.json`` (`save_costs` / `load_costs`); without a
calibration the planner uses `DEFAULT_COSTS` (measured once on the
development machines, see DESIGN.md).

The planner multiplies these costs by predicted event counts (`sampled_previews`
says how many executions of a node carry value previews under sampling).

Not runtime code, but standard library only (the probe runs with ``python -m
astrepo.capture.cost`` in a fresh interpreter so its timings are not skewed by
the CLI's imports).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields, replace

#: Version of the calibration file. History: 1 - first version.
CALIBRATION_FORMAT = 1
CALIBRATION_FILE = "calibration.json"

#: Calls per timing loop of the probe, and rounds over all variants (the least of them).
PROBE_CALLS = 50_000
PROBE_REPEATS = 9


#: Per-event fields of `Costs` (what `Costs.in_program` scales).
EVENT_FIELDS = ("exc_wrapper", "local_fetch", "boundary", "sample_check", "preview", "line", "branch", "variable",
                "expression", "exception")
#: Capture in a real program costs this many times what the tight-loop probe measures: its
#: instrumented code is larger and colder (caches, branch predictors) than one small hot function.
#: Measured with bench/plan_eval.py on more-itertools 11.2.1's test suite (extra CPU time of warm
#: traced runs beyond the per-process cost, over the probe's price of their recorded events):
#: 1.4 (balanced), 1.7 (full_trace), 2.25 (balanced with statistics) at commit d6e8d14, 2.0-2.7
#: with the recorder before it; `astrepo plan --review --rerun N --learn` measures it per program.
IN_PROGRAM_FACTOR = 2.0


@dataclass(frozen=True, slots=True)
class Costs:
    """Costs of capture, in nanoseconds of CPU time on the measuring machine.

    The per-event costs are the probe's (a small function in a tight loop); `in_program` scales
    them to what the same events cost inside a real program.
    """

    exc_wrapper: float = 1.0  #: per call of a function with only an ``exception`` point
    local_fetch: float = 32.0  #: per call of a function fetching its buffer without a boundary
    boundary: float = 230.0  #: per call: enter + exit events (timestamps, duration), no previews
    sample_check: float = 50.0  #: per call/execution of a node with sampled previews (counter test)
    preview: float = 1025.0  #: one value preview (type + bounded repr)
    line: float = 20.0  #: one line event
    branch: float = 30.0  #: one branch event
    variable: float = 41.0  #: one variable event without previews (previews counted apart)
    expression: float = 80.0  #: one expression event without a preview
    exception: float = 1800.0  #: one exception event (leaving a function or caught)
    instrument_point: float = 260_000.0  #: instrumenting and compiling one point (first run of a plan only)
    process: float = 10e6  #: fixed cost per traced process started through the shim (hook, recorder, final flush)
    interpreter_start: float = 60e6  #: an untraced Python process's start and exit (not capture: part of a run)
    factor: float = IN_PROGRAM_FACTOR  #: real-program cost of an event / the probe's (see IN_PROGRAM_FACTOR)
    factor_source: str = "default"  #: "default", or the run it was learnt from
    measured: bool = False  #: False: built-in defaults, not measured here
    machine: str = ""  #: where they were measured (hostname, python)

    def to_json(self) -> dict:
        return {"format": CALIBRATION_FORMAT, **asdict(self)}

    def in_program(self) -> "Costs":
        """These costs with the per-event ones scaled by `factor` (what the planner prices with)."""
        return replace(self, factor=1.0, **{f: getattr(self, f) * self.factor for f in EVENT_FIELDS})


#: The defaults: `astrepo calibrate` on the development machine (2 shared cores, Python 3.11.7), the
#: least loaded of three calibrations at commit d6e8d14 (loaded ones ran up to 1.5x higher).
DEFAULT_COSTS = Costs()


def sampled_previews(executions: float, first: int = 32, every: int = 1024) -> float:
    """How many of ``executions`` carry value previews when sampling keeps the first ``first``
    and then every ``every``-th (see astrepo.capture.recorder.SAMPLE_FIRST / SAMPLE_EVERY)."""
    if executions <= 0:
        return 0.0
    if every <= 1:
        return float(executions)
    return min(executions, first) + max(0.0, executions - first) / every


def calibration_path(db_dir: str) -> str:
    return os.path.join(db_dir, CALIBRATION_FILE)


def load_costs(db_dir: str) -> Costs:
    """The calibrated costs under ``db_dir``, or `DEFAULT_COSTS` when there are none (or unreadable)."""
    try:
        with open(calibration_path(db_dir), encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return DEFAULT_COSTS
    if not isinstance(doc, dict) or doc.get("format") != CALIBRATION_FORMAT:
        return DEFAULT_COSTS
    known = {f.name for f in fields(Costs)}
    if doc.get("factor_source", "default") == "default":
        known.discard("factor")  # not learnt: the current default applies
    try:
        return Costs(**{k: v for k, v in doc.items() if k in known})
    except TypeError:
        return DEFAULT_COSTS


def save_costs(db_dir: str, costs: Costs) -> str:
    """Write ``costs`` atomically; returns the file."""
    from astrepo.capture.hook import write_atomic

    os.makedirs(db_dir, exist_ok=True)
    path = calibration_path(db_dir)
    write_atomic(path, json.dumps(costs.to_json(), indent=1, sort_keys=True).encode("utf-8"))
    return path


# -- measuring ------------------------------------------------------------------------------------

PROBE_SOURCE = '''
def f(a, b):
    c = len(a) + len(b)
    if c > 0:
        c = c - 1
    return c


def boom(x):
    raise ValueError(x)


def catch(x):
    try:
        boom(x)
    except ValueError:
        return 1
    return 0
'''


def measure_costs(repeats: int = PROBE_REPEATS, calls: int = PROBE_CALLS, python: str | None = None) -> Costs:
    """Measure `Costs` on this machine (runs the probe in a fresh interpreter; takes a few seconds)."""
    cmd = [python or sys.executable, "-m", "astrepo.capture.cost", str(repeats), str(calls)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"calibration probe failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    micro = json.loads(proc.stdout)
    process_ns, point_ns, start_ns = _measure_process(python or sys.executable)
    import platform

    return Costs(**micro, instrument_point=point_ns, process=process_ns, interpreter_start=start_ns,
                 measured=True, machine=f"{platform.node()} python {platform.python_version()}")


def _probe(repeats: int, calls: int) -> dict:
    """Per-event costs from the probe, in-process (the ``python -m astrepo.capture.cost`` side)."""
    import ast

    from astrepo.capture import recorder
    from astrepo.capture.ast_ids import assign_ids
    from astrepo.capture.instrument import instrument_module
    from astrepo.capture.points import Point

    events_dir = tempfile.mkdtemp(prefix="astrepo-calibrate-")
    recorder.start(events_dir, "calibrate")
    tree = ast.parse(PROBE_SOURCE)
    ids = assign_ids(tree, "probe.py")
    by = {}  # (function name, kind, ordinal) -> id
    for node, rec in ids.records.items():
        scope = rec.scope.split(".")[-1] if rec.scope else ""
        by[(getattr(node, "name", None) or scope, rec.kind, rec.ordinal if rec.kind != "function" else 0)] = rec.id

    def fid(name: str) -> str:
        return by[(name, "function", 0)]

    def pt(node_id: str, kind: str, **kw) -> tuple[str, str, Point]:
        capture = kw.pop("capture", {})
        return node_id, kind, Point(node_id, kind, capture, kw.pop("sampling", None), "calibrate")

    def table(*points):
        out: dict = {}
        for node_id, kind, p in points:
            out.setdefault(node_id, {})[kind] = p
        return out

    f = fid("f")
    first_assign = by[("f", "assign", 0)]
    second_assign = by[("f", "assign", 1)]
    if_id = by[("f", "if", 0)]
    ret_id = by[("f", "return", 0)]
    len_calls = [by[("f", "call", 0)], by[("f", "call", 1)]]
    exc_f = pt(f, "exception")
    every = {"first": 0, "every": 1}
    variants = {
        "plain": None,
        "exc": table(exc_f),
        "counted": table(exc_f, pt(first_assign, "line")),
        "lines4": table(exc_f, *(pt(s, "line") for s in (first_assign, if_id, second_assign, ret_id))),
        "branch": table(exc_f, pt(first_assign, "line"), pt(if_id, "branch")),
        "variable": table(exc_f, pt(first_assign, "line"), pt(first_assign, "variable"),
                          pt(second_assign, "variable")),
        "boundary": table(exc_f, pt(f, "function_boundary")),
        "previews": table(exc_f, pt(f, "function_boundary", capture={"args": True, "return": True}, sampling=every)),
        "sampled": table(exc_f, pt(f, "function_boundary", capture={"args": True, "return": True})),
        "expression": table(exc_f, *(pt(c, "expression") for c in len_calls)),
    }
    exc_variants = {"plain": None, "exc": table(pt(fid("boom"), "exception"), pt(fid("catch"), "exception"),
                                                pt(by[("catch", "except", 0)], "exception"))}
    a, b = "abcdef", [1, 2, 3]

    def load(points, fn_name: str):
        if points is None:
            code = compile(tree, "probe.py", "exec")
        else:
            code = compile(instrument_module(tree, ids, points).tree, "probe.py", "exec")
        ns: dict = {"__name__": "probe"}
        exec(code, ns)
        return ns[fn_name]

    def measure(fns: dict, arg_sets: list) -> dict[str, float]:
        """Least CPU ns per call of each function over the rounds (this process, the writer thread
        included); rounds interleave the variants and include writing the events out (the writer's
        share of the cost). CPU time, not wall time, and the least of the rounds: the load of other
        processes (preemption, caches) only ever adds to it."""
        samples: dict[str, list] = {name: [] for name in fns}
        rec = recorder.active()
        for _ in range(repeats):
            for name, fn in fns.items():
                rec.flush()
                t0 = time.process_time_ns()
                for args in arg_sets:
                    fn(*args)
                rec.flush()
                samples[name].append((time.process_time_ns() - t0) / len(arg_sets))
        return {name: min(v) for name, v in samples.items()}

    t = measure({name: load(points, "f") for name, points in variants.items()}, [(a, b)] * calls)
    te = measure({name: load(points, "catch") for name, points in exc_variants.items()},
                 [(1,)] * max(1000, calls // 20))
    recorder.active().close()
    line = max(1.0, (t["lines4"] - t["counted"]) / 3)
    local_fetch = max(1.0, t["counted"] - t["exc"] - line)
    boundary = max(1.0, t["boundary"] - t["exc"])
    preview = max(1.0, (t["previews"] - t["boundary"]) / 3)
    out = {
        "exc_wrapper": max(0.0, t["exc"] - t["plain"]),
        "local_fetch": local_fetch,
        "line": line,
        "branch": max(1.0, t["branch"] - t["counted"]),
        "variable": max(1.0, (t["variable"] - t["counted"]) / 2),
        "boundary": boundary,
        "sample_check": max(0.0, t["sampled"] - t["boundary"] - 3 * preview * sampled_previews(calls) / calls),
        "preview": preview,
        "expression": max(1.0, (t["expression"] - t["exc"]) / 2),
        # one call of catch records two exception events: leaving boom (X), caught in catch (H)
        "exception": max(1.0, (te["exc"] - te["plain"]) / 2),
    }
    import shutil

    shutil.rmtree(events_dir, ignore_errors=True)
    return {k: round(v, 1) for k, v in out.items()}


def _measure_process(python: str, repeats: int = 11) -> tuple[float, float, float]:
    """(fixed ns per traced process, ns per instrumented point, ns of an untraced start) from a tiny
    script run plain and traced (full_trace), in CPU time of the child processes."""
    from astrepo.capture.bootstrap import trace_environment, write_bootstrap
    from astrepo.capture.hook import new_run_id
    import py_compile

    from astrepo.capture.run import shim_command

    tmp = tempfile.mkdtemp(prefix="astrepo-calibrate-")
    try:
        project = os.path.join(tmp, "proj")
        os.makedirs(project)
        body = "\n".join(f"def g{i}(x):\n    y = x + {i}\n    if y > 3:\n        y -= 1\n    return y\n"
                         for i in range(200))
        with open(os.path.join(project, "mod.py"), "w") as handle:
            handle.write(body)
        with open(os.path.join(project, "main.py"), "w") as handle:
            handle.write("import mod\nprint(mod.g1(2))\n")
        # Plain runs load mod's bytecode as warm traced runs load its instrumented code (else, under
        # PYTHONDONTWRITEBYTECODE, compiling it would count against the plain run).
        py_compile.compile(os.path.join(project, "mod.py"), doraise=True)
        n_points = _count_points(body, "mod.py") + _count_points("import mod\nprint(mod.g1(2))\n", "main.py")
        db = os.path.join(tmp, "db")
        bootstrap = write_bootstrap(os.path.join(db, "bootstrap"))
        base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}

        script = [python, os.path.join(project, "main.py")]
        # Traced as `astrepo trace` runs it: straight through the bootstrap's shim (no re-exec).
        traced = shim_command(script, bootstrap, project)

        def run(env, cmd=script) -> float:
            """CPU ns (user + system) of one run of the script."""
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, cwd=project, env=env, capture_output=True, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return 1e9 * ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))

        plains, cold, warm = [], [], []
        for _ in range(repeats):  # interleaved: a change of the machine's load hits all three alike
            plains.append(run(base))
            shutil_rm(os.path.join(db, "cache"))
            env = trace_environment(base, bootstrap, project, db, new_run_id(), None, "full_trace")
            cold.append(run(env, traced))
            env = trace_environment(base, bootstrap, project, db, new_run_id(), None, "full_trace")
            warm.append(run(env, traced))
        process = max(0.0, statistics.median(w - p for w, p in zip(warm, plains)))
        per_point = max(0.0, statistics.median(c - w for c, w in zip(cold, warm)) / max(1, n_points))
        return round(process, 0), round(per_point, 1), round(statistics.median(plains), 0)
    finally:
        shutil_rm(tmp)


def _count_points(source: str, path: str) -> int:
    import ast

    from astrepo.capture.ast_ids import assign_ids
    from astrepo.capture.points import default_points

    tree = ast.parse(source)
    return sum(len(v) for v in default_points("full_trace", tree, assign_ids(tree, path)).values())


def shutil_rm(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":  # the probe: python -m astrepo.capture.cost REPEATS CALLS
    _reps = int(sys.argv[1]) if len(sys.argv) > 1 else PROBE_REPEATS
    _calls = int(sys.argv[2]) if len(sys.argv) > 2 else PROBE_CALLS
    sys.stdout.write(json.dumps(_probe(_reps, _calls)) + "\n")
