"""The planner's estimate: predicted executions per node, the capture cost of a function at a level,
and the untraced run time that cost is relative to.

Executions (`Counts`) come from an earlier run's statistics when known; for the
other functions they are predicted statically (`static_calls`): a function
nobody in the project calls runs `ENTRY_CALLS` time (a test, ``main``, a
callback), and each call site passes its function's calls on to the functions
it may call, times `LOOP_ITERATIONS` per enclosing loop, split among its
possible callees; recursive cycles multiply by `RECURSION_FACTOR`.

Costs (`function_cost`) are those calibrated per event (`astrepo.capture.cost`)
times the predicted events of the function's points at a level. Value
previews are sampled (the first N executions of a node, then one in M): with
statistics their number is exact; without, the part bounded by N does not
grow with the run's length and counts as a fixed cost (`bounded_preview_cost`),
the rest scales with the calls.

The untraced time (`baseline`) is modelled (`modelled_time`: a cost per call,
per statement, per call of something outside the project, fitted on a real
test suite) at the same predicted executions, so a first-run estimate is a
ratio that holds whatever the run's length; with an earlier run it is that
run's CPU time (its recorders measure it) minus what its capture cost, which
the machine's load does not inflate (for runs recorded before that: the wall
duration minus the capture, or the modelled time at its recorded counts, plus
the interpreter's start `astrepo calibrate` measured, when less). Known limits:
one-off work (imports) is not modelled, and a program that spends a much
larger share of its time in libraries than the fitted suite gets too high a
first-run estimate (and, with statistics, too small a baseline: a
conservative plan).
"""

from __future__ import annotations

from astrepo.analyzers.components import strongly_connected
from astrepo.capture.cost import Costs, sampled_previews
from astrepo.capture.levels import BOUNDARY, COUNTED, DEEP, FULL, TIMED
from astrepo.capture.plan_signals import Function, Inputs
from astrepo.capture.recorder import SAMPLE_EVERY, SAMPLE_FIRST  # the runtime's default sampling

#: Calls of a function no project code calls (an entry point, a test, a callback), per run.
ENTRY_CALLS = 1.0
#: Predicted iterations per enclosing loop (without statistics).
LOOP_ITERATIONS = 4
#: Multiplier of the calls of a recursive function (or a cycle of them), without statistics.
RECURSION_FACTOR = 4.0
#: Upper bound of a predicted count (deep loop nests in long call chains).
MAX_PREDICTED = 1e12
#: Modelled time of the untraced program (ns): per call of a project function (frame setup,
#: argument binding, return), per executed statement, per executed call of something outside the
#: project. Fitted on more-itertools 11.2.1's test suite: with the counts its full_trace run
#: recorded (1.55M calls, 9.66M statements, 7.15M outside calls) they give its untraced CPU time
#: (5.8 s), so they include, in that suite's proportion, the time spent in the test runner,
#: builtins and libraries.
CALL_NS = 340.0
STATEMENT_NS = 135.0
EXTERNAL_CALL_NS = 560.0


class Counts:
    """Predicted executions per function and node: runtime statistics when known, else `static_calls`."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self._calls: dict[str, float] = {}
        self._known: set[str] = set()
        self._mean: dict[str, float] = {}
        self._exc: dict[str, int] = {}
        stats = inputs.stats
        rows = stats.rows if stats else {}
        for fid, fn in inputs.functions.items():
            row = rows.get(fid)
            level = stats.level_of(fid) if stats else None
            if row is not None:
                self._exc[fid] = int(row.get("exceptions") or 0)
            if row is not None and (row.get("calls") or 0) > 0:
                self._calls[fid] = float(row["calls"])
                self._mean[fid] = float(row.get("mean_ns") or 0.0)
                self._known.add(fid)
            elif fn.first_stmt and (rows.get(fn.first_stmt) or {}).get("hits"):
                self._calls[fid] = float(rows[fn.first_stmt]["hits"])
                self._known.add(fid)
            elif row is not None and level is not None and level >= COUNTED:
                self._calls[fid] = 0.0  # instrumented, never called
                self._known.add(fid)
        self._calls.update(static_calls(inputs, self._calls))

    @property
    def any_known(self) -> bool:
        return bool(self._known)

    def known(self, fid: str) -> bool:
        return fid in self._known

    def calls(self, fid: str) -> float:
        return self._calls.get(fid, 0.0)

    def mean_ns(self, fid: str) -> float | None:
        return self._mean.get(fid)

    def exceptions(self, fid: str) -> int:
        return self._exc.get(fid, 0)

    def node(self, fid: str, node_id: str, kind: str, depth: int) -> float:
        """Predicted events of one own node of function ``fid``."""
        row = self.inputs.stats.rows.get(node_id) if self.inputs.stats else None
        if row is not None:
            if kind == "branch" and (row.get("taken") or row.get("not_taken")):
                return float(row["taken"] + row["not_taken"])
            if kind != "branch" and row.get("hits"):
                return float(row["hits"])
            if self.known(fid) and self.calls(fid) == 0:
                return 0.0
        elif self.inputs.stats is not None and node_id in self.inputs.stats.hot_loops:
            # Left out of the last run as a hot loop: its executions per call then.
            return self.calls(fid) * self.inputs.stats.hot_loops[node_id]
        return self.calls(fid) * (LOOP_ITERATIONS ** depth)


def static_calls(inputs: Inputs, known: dict[str, float]) -> dict[str, float]:
    """Predicted calls of every function whose count ``known`` lacks (see the module docstring).

    Functions are visited callers first (strongly connected components of the call graph in
    topological order); known counts are kept and passed on to callees.
    """
    funcs = inputs.functions
    # Call-graph edges with their weight: executions of the callee per call of the caller.
    owner: dict[str, tuple[str, int]] = {}
    for fid, fn in funcs.items():
        for node_id, kind, depth, _ in fn.own:
            if kind == "expression":
                owner[node_id] = (fid, depth)
    weights: dict[tuple[str, str], float] = {}
    module_calls: dict[str, float] = {}  # callee -> calls from module and class bodies (once each)
    for site, callees in inputs.site_callees.items():
        targets = [c for c in callees if c in funcs]
        if not targets:
            continue
        where = owner.get(site)
        for callee in targets:
            if where is None:
                module_calls[callee] = module_calls.get(callee, 0.0) + 1.0 / len(targets)
            else:
                key = (where[0], callee)
                weights[key] = weights.get(key, 0.0) + LOOP_ITERATIONS ** where[1] / len(targets)
    for a, b in inputs.calls:  # function-level edges the call sites did not give (e.g. decorators)
        if a in funcs and b in funcs and (a, b) not in weights:
            weights[(a, b)] = 1.0
    callees_of: dict[str, list] = {}
    callers_of: dict[str, set] = {}
    for (a, b), w in weights.items():
        callees_of.setdefault(a, []).append((b, w))
        callers_of.setdefault(b, set()).add(a)
    incoming: dict[str, float] = dict(module_calls)
    out: dict[str, float] = {}
    for component in _components_callers_first(list(funcs), callees_of):
        members = set(component)
        recursive = len(component) > 1 or any(b == component[0] for b, _ in callees_of.get(component[0], ()))
        # No caller outside its own cycle and no module-level call: an entry point.
        value = {fid: known.get(fid, incoming.get(fid, 0.0) + (
            0.0 if fid in module_calls or callers_of.get(fid, set()) - members else ENTRY_CALLS))
            for fid in component}
        if len(component) > 1:
            # Inside a cycle each member runs at least as often as its most frequent caller in it.
            for _ in range(min(len(component), 8)):
                for fid in component:
                    for callee, _w in callees_of.get(fid, ()):
                        if callee in members and callee not in known and value[fid] > value[callee]:
                            value[callee] = value[fid]
        for fid in component:
            if fid not in known:
                out[fid] = min(MAX_PREDICTED, value[fid] * (RECURSION_FACTOR if recursive else 1.0))
        for fid in component:
            calls = known[fid] if fid in known else out[fid]
            for callee, w in callees_of.get(fid, ()):
                if callee not in members:
                    incoming[callee] = incoming.get(callee, 0.0) + calls * w
    return out


def _components_callers_first(nodes: list[str], edges: dict[str, list]) -> list[list[str]]:
    """Strongly connected components, callers before callees, members sorted (``edges``: node ->
    [(callee, weight), ...])."""
    successors = {node: [edge[0] for edge in out] for node, out in edges.items()}
    found = [sorted(component) for component in strongly_connected(nodes, successors)]
    found.reverse()  # Tarjan completes callees first
    return found


# -- costs ----------------------------------------------------------------------------------------

def sampling_pair(sampling: dict | None) -> tuple[int, int]:
    """(first, every) of a point's ``sampling`` (None: the recorder's default)."""
    if not sampling:
        return SAMPLE_FIRST, SAMPLE_EVERY
    return int(sampling.get("first", SAMPLE_FIRST)), max(1, int(sampling.get("every", SAMPLE_EVERY)))


def _previews(executions: float, sampling: dict | None, exact: bool) -> float:
    """Previewed executions of a node: all of them with statistics (``exact``), else only the part
    that grows with the run (the first ``first`` are `bounded_preview_cost`'s)."""
    first, every = sampling_pair(sampling)
    if exact or every <= 1:
        return sampled_previews(executions, first, every)
    return executions / every


def function_cost(fn: Function, level: int, counts: Counts, costs: Costs, sampling: dict | None = None,
                  left_out=frozenset()) -> float:
    """Predicted capture cost (ns) of one function at ``level``, exception events and the bounded
    first previews of a first run apart; ``left_out``: own nodes without points (hot loops)."""
    c = counts.calls(fn.id)
    exact = counts.known(fn.id)
    total = c * costs.exc_wrapper
    if level == COUNTED:
        return total + c * costs.sample_check  # a C-level counter: ``next()`` of an itertools.count
    if level >= TIMED:
        total += c * costs.boundary
    if level >= BOUNDARY:
        total += c * costs.sample_check + _previews(c, sampling, exact) * (fn.params + 1) * costs.preview
    if level >= DEEP:
        for node_id, kind, depth, names in fn.own:
            if node_id in left_out:
                continue
            n = counts.node(fn.id, node_id, kind, depth)
            if kind == "branch":
                total += n * costs.branch
            elif kind == "variable":
                total += n * (costs.variable + costs.sample_check) + _previews(n, None, exact) * names * costs.preview
            elif level >= FULL and kind == "line":
                total += n * costs.line
            elif level >= FULL and kind == "expression":
                total += n * costs.expression + _previews(n, None, exact) * costs.preview
    return total


def capture_per_call(inputs: Inputs, counts: Counts, costs: Costs) -> dict[str, float]:
    """Per function called in the last run: the capture cost (ns) recorded inside one of its
    calls, which its measured mean duration includes: its own events at the level the run gave
    it, plus all the events of the project functions it alone calls (their calls all happen
    inside its calls). Empty without statistics."""
    stats = inputs.stats
    if stats is None or not stats.rows:
        return {}
    total: dict[str, float] = {}
    for fid, fn in inputs.functions.items():
        level = stats.level_of(fid)
        if level is not None and counts.known(fid) and counts.calls(fid) > 0:
            total[fid] = function_cost(fn, level, counts, costs, None, stats.hot_loops)
    callers: dict[str, set] = {}
    for a, b in inputs.calls:
        if a != b:
            callers.setdefault(b, set()).add(a)
    inside = dict(total)
    for callee, cost in total.items():
        only = callers.get(callee, ())
        if len(only) == 1:
            (caller,) = only
            if caller in inside:
                inside[caller] += cost
    return {fid: cost / counts.calls(fid) for fid, cost in inside.items()}


def bounded_preview_cost(fn: Function, level: int, counts: Counts, costs: Costs, sampling: dict | None = None) -> float:
    """The first previews of each node of ``fn`` (ns) when its calls are not known: bounded by the
    sampling's ``first``, whatever the run's length (0 with statistics)."""
    if counts.known(fn.id) or level < BOUNDARY:
        return 0.0
    first, every = sampling_pair(sampling)
    if every <= 1:
        return 0.0  # every execution previewed: already in function_cost
    c = counts.calls(fn.id)
    total = min(c, first) * (fn.params + 1) * costs.preview
    if level >= DEEP:
        for node_id, kind, depth, names in fn.own:
            n = min(counts.node(fn.id, node_id, kind, depth), SAMPLE_FIRST)
            if kind == "variable":
                total += n * names * costs.preview
            elif level >= FULL and kind == "expression":
                total += n * costs.preview
    return total


def exception_cost(inputs: Inputs, counts: Counts, costs: Costs) -> float:
    """Exception events of the last run, priced (every plan records them everywhere)."""
    return sum(counts.exceptions(fid) for fid in inputs.functions) * costs.exception


def module_cost(inputs: Inputs, strategy: str, costs: Costs) -> float:
    """Import-time line events of module and class bodies (full_trace only)."""
    if strategy != "full_trace":
        return 0.0
    return sum(len(v) for v in inputs.module_nodes.values()) * costs.line


# -- the untraced run -----------------------------------------------------------------------------

def own_time_ns(fn: Function, inputs: Inputs) -> float:
    """Modelled own time of one call of ``fn`` when not traced (statements at the predicted loop counts)."""
    total = CALL_NS
    for node_id, kind, depth, _ in fn.own:
        if kind == "line":
            total += STATEMENT_NS * LOOP_ITERATIONS ** depth
        elif kind == "expression" and node_id not in inputs.site_callees:
            total += EXTERNAL_CALL_NS * LOOP_ITERATIONS ** depth
    return total


def modelled_time(inputs: Inputs, counts: Counts) -> float:
    """Modelled untraced time (ns) of the whole run: calls, statements and outside calls at the
    predicted or recorded counts."""
    total = 0.0
    for fid, fn in inputs.functions.items():
        total += counts.calls(fid) * CALL_NS
        for node_id, kind, depth, _ in fn.own:
            if kind == "line":
                total += counts.node(fid, node_id, kind, depth) * STATEMENT_NS
            elif kind == "expression" and node_id not in inputs.site_callees:
                total += counts.node(fid, node_id, kind, depth) * EXTERNAL_CALL_NS
    return total


def baseline(inputs: Inputs, counts: Counts, costs: Costs, baseline_s: float | None,
             run_cost=function_cost) -> tuple[float, str, bool]:
    """The untraced run time (ns) the overhead is relative to, where it comes from, and whether it
    is absolute (from a run) rather than in the units of the predicted counts.

    With statistics: the earlier run's CPU time (its processes', as their recorders measured it at
    exit) minus what its capture and instrumenting cost. For a run recorded before recorders
    measured CPU time: its wall duration minus that, or the modelled time at its recorded counts
    when less (wall time also grows with the machine's load, which the model does not see)."""
    if baseline_s:
        return baseline_s * 1e9, "given baseline", True
    stats = inputs.stats
    model = modelled_time(inputs, counts)
    if stats is not None and stats.rows and stats.summary.get("duration_s"):
        cpu_ns = float((stats.summary.get("recorder") or {}).get("cpu_ns") or 0.0)
        duration = cpu_ns or float(stats.summary["duration_s"]) * 1e9
        processes = max(1, int(stats.summary.get("processes") or 1))
        model += costs.interpreter_start * processes
        spent = costs.process * processes
        spent += costs.instrument_point * stats.compiled_points
        for fid, fn in inputs.functions.items():
            level = stats.level_of(fid)
            if level is not None:
                spent += run_cost(fn, level, counts, costs, None, stats.hot_loops)
        spent += exception_cost(inputs, counts, costs)
        work = max(duration - spent, 0.05 * duration)
        if cpu_ns:
            return work, f"run {stats.run} ({cpu_ns / 1e9:.3f} CPU-s traced, minus its estimated capture cost)", True
        label = f"run {stats.run} ({stats.summary['duration_s']:.3f} s traced"
        if model < work:
            return model, f"{label}; modelled at its counts, less than its duration minus capture)", True
        return work, f"{label}, minus its estimated capture cost)", True
    return max(model, 1.0), ("model (no runtime statistics: predicted calls x modelled time of the project's "
                             "code)"), False
