"""What the planner plans from: the project's functions with their static facts, the call graph,
an earlier run's statistics, and the lines changed since a git revision.

Not runtime code: it reads the published graph (`astrepo.graph.store`) and the
ingested runs (`astrepo.graph.join`), and parses each indexed file with
`astrepo.capture.ast_ids` (the same node IDs as the graph) to know each
function's own statements, branches, assignments and call sites, with their
loop depth.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from astrepo.capture.ast_ids import FUNCTION_TYPES, assign_ids
from astrepo.capture.levels import BOUNDARY, EXCEPTIONS, FULL, LEVEL_OF
from astrepo.capture.points import default_points
from astrepo.errors import ConfigError

log = logging.getLogger(__name__)

#: Function columns read from the graph (see graph/schema.py).
FACT_COLUMNS = ("id", "name", "file", "start_line", "kind", "cyclomatic", "cognitive", "lines", "statements",
                "max_nesting", "roles", "effects", "pure", "fan_in", "fan_out", "pagerank", "recursion", "may_raise",
                "n_params")
#: Node tables whose IDs plan points may name.
POINT_TABLES = ("Module", "Class", "Function", "CallSite", "Stmt")


@dataclass(slots=True)
class Function:
    """One project function: graph facts plus what the planner derives from its syntax."""

    id: str
    name: str
    file: str
    line: int
    facts: dict  #: Function columns from the graph (cyclomatic, statements, fan_in, ...)
    params: int = 0
    #: own nodes: (node id, capture kind, loop depth, names assigned (variables))
    own: list = field(default_factory=list)
    excepts: list = field(default_factory=list)  #: own except clause ids
    first_stmt: str = ""  #: id of the first statement (the counter of ``counted``)
    max_loop: int = 0
    has_raise: bool = False
    is_generator: bool = False


@dataclass(slots=True)
class RunStats:
    """Runtime statistics of one ingested run, per node id."""

    run: str
    summary: dict
    rows: dict  #: node id -> RuntimeStat row
    plan_levels: dict | None  #: function id -> level the run used (None: unknown per function)
    default_level: int | None  #: level of functions not in plan_levels (built-in strategies)
    compiled_points: int = 0  #: points the run instrumented afresh (the first run of its plan: a cold cache)
    #: node id -> executions per call of its function, of the nodes the run's plan left out as hot loops
    hot_loops: dict = field(default_factory=dict)

    def level_of(self, fid: str) -> int | None:
        if self.plan_levels is not None and fid in self.plan_levels:
            return self.plan_levels[fid]
        return self.default_level


@dataclass(slots=True)
class Inputs:
    """Everything a plan is computed from."""

    root: str
    functions: dict[str, Function]
    calls: list[tuple[str, str]]  #: function-level CALLS (caller, callee)
    module_nodes: dict[str, list]  #: file -> full_trace points of module/class bodies: (id, kind, names)
    graph_ids: set[str]
    stats: RunStats | None = None
    sources: dict[str, str] = field(default_factory=dict)
    #: call site id -> the project functions it may call (the graph's CallSite-level CALLS)
    site_callees: dict[str, list] = field(default_factory=dict)


def load_inputs(db_dir: str, root: str, run: str | None = None, use_stats: bool = True) -> Inputs:
    """Read facts from the published graph, parse the indexed files, read the latest run's statistics."""
    from astrepo.graph.store import GraphStore
    from astrepo.layout import Layout

    db = GraphStore(Layout(Path(db_dir))).open_read()
    try:
        _, rows = db.execute("MATCH (f:Function) RETURN " + ", ".join(f"f.{c}" for c in FACT_COLUMNS))
        facts = {r[0]: dict(zip(FACT_COLUMNS, r)) for r in rows}
        _, rows = db.execute("MATCH (a:Function)-[:CALLS]->(b:Function) RETURN a.id, b.id")
        calls = sorted({(a, b) for a, b in rows})
        _, rows = db.execute("MATCH (c:CallSite)-[:CALLS]->(b:Function) RETURN c.id, b.id")
        site_callees: dict[str, list] = {}
        for site, callee in sorted(set(map(tuple, rows))):
            site_callees.setdefault(site, []).append(callee)
        _, rows = db.execute("MATCH (f:File) RETURN f.file, f.status")
        files = sorted(f for f, status in rows if status == "ok" and f.endswith(".py"))
        graph_ids = _ids_of(db)
    finally:
        db.close()
    functions: dict[str, Function] = {}
    module_nodes: dict[str, list] = {}
    sources: dict[str, str] = {}
    for rel in files:
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            tree = ast.parse(data)
        except (OSError, SyntaxError, ValueError) as err:
            log.info("planner skips %s: %s", rel, err)
            continue
        sources[rel] = data.decode("utf-8", "replace")
        _read_module(tree, rel, facts, functions, module_nodes)
    inputs = Inputs(os.path.abspath(root), functions, calls, module_nodes, graph_ids, sources=sources,
                    site_callees=site_callees)
    if use_stats:
        inputs.stats = load_run_stats(db_dir, run)
    return inputs


def _ids_of(db) -> set[str]:
    ids: set[str] = set()
    for table in POINT_TABLES:
        _, rows = db.execute(f"MATCH (n:{table}) RETURN n.id")
        ids.update(r[0] for r in rows)
    return ids


def read_graph_ids(db_dir: str) -> set[str]:
    """Every node ID a plan point may name, in the published graph."""
    from astrepo.graph.store import GraphStore
    from astrepo.layout import Layout

    db = GraphStore(Layout(Path(db_dir))).open_read()
    try:
        return _ids_of(db)
    finally:
        db.close()


def _read_module(tree: ast.Module, rel: str, facts: dict, functions: dict, module_nodes: dict) -> None:
    ids = assign_ids(tree, rel)
    full = default_points("full_trace", tree, ids)
    for node, record in ids.records.items():
        if record.kind != "function" or not isinstance(node, FUNCTION_TYPES):
            continue
        f = facts.get(record.id)
        fn = Function(record.id, (f or {}).get("name") or ids.qualnames.get(node, ""), rel, record.line, f or {},
                      params=len(ids.params.get(node, ())))
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        if body:
            fn.first_stmt = ids.records[body[0]].id if body[0] in ids.records else ""
        for inner, depth in _own_nodes_with_depth(node):
            if isinstance(inner, (ast.Yield, ast.YieldFrom)):
                fn.is_generator = True
            rec = ids.records.get(inner)
            if rec is None:
                continue
            if isinstance(inner, ast.Raise):
                fn.has_raise = True
            fn.max_loop = max(fn.max_loop, depth)
            if rec.kind == "except":
                fn.excepts.append(rec.id)
            for kind in full.get(rec.id, {}):
                if kind == "exception":
                    continue
                fn.own.append((rec.id, kind, depth, _assigned_count(inner) if kind == "variable" else 0))
        functions[record.id] = fn
    # Module and class bodies: import-time statements (full_trace only), except clauses always.
    function_scopes = {s for n, s in ids.scope_of.items() if isinstance(n, (*FUNCTION_TYPES, ast.Lambda))}
    out = []
    for node, record in ids.records.items():
        if record.kind in ("function", "lambda", "module", "class") or record.scope in function_scopes:
            continue
        for kind in full.get(record.id, {}):
            out.append((record.id, kind, _assigned_count(node) if kind == "variable" else 0))
    module_nodes[rel] = out


def _own_nodes_with_depth(func: ast.AST):
    """(node, loop depth) for the nodes of a function's body, not entering nested definitions."""
    stack = [(n, 0) for n in func.body]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        # A loop's body (and its test or iterable: they run about as often) is one level deeper.
        inner = depth + 1 if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.comprehension)) else depth
        for child in ast.iter_child_nodes(node):
            stack.append((child, inner))


def _assigned_count(node: ast.AST) -> int:
    targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
    return max(1, sum(len([n for n in ast.walk(t) if isinstance(n, ast.Name)]) for t in targets if t is not None))


def load_run_stats(db_dir: str, run: str | None = None) -> RunStats | None:
    """Statistics of run ``run`` (default: the latest ingested one), or None."""
    from astrepo.graph.join import list_ingested, read_run_table, run_plan_file, select_run

    runs = list_ingested(Path(db_dir))
    chosen = select_run(runs, run)
    if chosen is None:
        return None
    table = read_run_table(Path(db_dir), chosen["id"], "RuntimeStat")
    rows = {r["node"]: r for r in table.to_pylist()} if table is not None else {}
    plan_file = run_plan_file(chosen)
    doc = _read_plan(plan_file) if plan_file else None  # read once: a full_trace plan of Django is ~150 MB
    plan_levels, default_level, hot_loops = _levels_of_run(plan_file or chosen.get("strategy", ""), doc)
    return RunStats(chosen["id"], chosen, rows, plan_levels, default_level, compiled_points(runs, chosen, doc),
                    hot_loops)


def _read_plan(path: str) -> dict | None:
    """The plan document in file ``path``, None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def compiled_points(runs: list[dict], summary: dict, doc: dict | None) -> int:
    """Points a run instrumented afresh: all of its plan's (``doc``, read from its plan file; None when
    unreadable) when no earlier run used the same plan file (the compiled-code cache is keyed by the
    plan), else none."""
    from astrepo.graph.join import run_plan_file

    plan = run_plan_file(summary)
    if doc is None or not plan or any(run_plan_file(r) == plan and r.get("start_ns", 0) < summary.get("start_ns", 0)
                                      for r in runs):
        return 0
    return len(doc.get("points") or ())


def _levels_of_run(strategy: str, doc: dict | None) -> tuple[dict | None, int | None, dict]:
    """Which level each function had in a run, from the run's strategy (a name, or a plan file and
    ``doc``, its document; None when unreadable), and the nodes its plan left out as hot loops (with
    their executions per call)."""
    if strategy == "full_trace":
        return None, FULL, {}
    if strategy == "balanced":
        return None, BOUNDARY, {}
    if strategy == "minimal":
        return None, None, {}
    if doc is None:
        return None, None, {}
    levels = {f["id"]: LEVEL_OF.get(f.get("level"), EXCEPTIONS) for f in doc.get("functions", ()) if "id" in f}
    hot = {str(k): float(v) for k, v in (doc.get("hot_loops") or {}).items() if isinstance(v, (int, float))}
    return levels, EXCEPTIONS if levels else None, hot


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines_since(root: str, rev: str) -> dict[str, list[int]]:
    """Changed (added or modified) lines per repo-relative .py file, from ``git diff -U0 REV``."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        proc = subprocess.run(["git", "diff", "-U0", "--no-color", "--no-ext-diff", rev, "--", "*.py"], cwd=root,
                              capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ConfigError(f"--diff needs a git repository at {root}: {err}") from err
    if proc.returncode != 0:
        raise ConfigError(f"git diff {rev} failed: {proc.stderr.strip().splitlines()[-1:]}")
    out: dict[str, list[int]] = {}
    current = None
    root_abs = os.path.realpath(root)
    for line in proc.stdout.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            current = None
            if name != "/dev/null":
                full = os.path.realpath(os.path.join(top, name[2:] if name.startswith("b/") else name))
                if full.startswith(root_abs + os.sep):
                    current = os.path.relpath(full, root_abs).replace(os.sep, "/")
            continue
        m = _HUNK.match(line)
        if m and current:
            start, length = int(m.group(1)), int(m.group(2) or 1)
            out.setdefault(current, []).extend(range(start, start + length))
    return out
