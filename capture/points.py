"""Instrumentation points: reading plans, and the built-in per-strategy defaults.

A plan (``astrepo plan`` writes them; see issue 7) is JSON::

    {"format": 1, "strategy": "balanced",
     "points": [{"node_id": "...", "kind": "function_boundary",
                 "capture": {"args": true, "return": true}, "sampling": null, "reason": "..."}]}

Point kinds and what the instrumenter does for them:

* ``function_boundary`` (a function's node ID): entry (timestamp, argument
  previews if ``capture.args``), exit (duration, return preview if
  ``capture.return``);
* ``exception`` (a function's ID: exceptions leaving it, with the line they
  passed and whether they were raised there; an ``except`` clause's ID: the
  exception caught there and where it was raised);
* ``branch`` (an ``if``/``while``/``for``/``case`` ID): which way it went;
* ``line`` (any statement's ID): that it ran;
* ``variable`` (an ``assign``/``annassign``/``augassign`` ID): previews of the
  plain names it bound (never re-reads attributes or subscripts: that could run
  user code);
* ``expression`` (a ``call`` ID): a preview of the value.

``sampling`` (``{"first": N, "every": M}``, default null) says which executions carry value
previews (argument/return/expression/variable values): the first N, then one in every M; null means the recorder's default (`SAMPLE_FIRST`, `SAMPLE_EVERY` in
astrepo.capture.recorder). Every execution is still counted and timed. Expression points always
use the default.

Until the planner exists, a plan with no points and a ``strategy`` means the
built-in default below, computed per module from its source alone (so it
also works for modules the index has never seen):

* ``full_trace``: everything above at every node;
* ``balanced``: boundaries with argument/return previews of every function,
  exceptions everywhere, branches and variables in "complex" functions
  (at least `COMPLEX_DECISIONS` decision points, or containing ``raise``);
* ``minimal``: exceptions everywhere (free until an exception happens: the
  wrapper is a zero-cost ``try``) and bare boundaries (count, duration) of
  entry points (functions named like `ENTRY_NAMES`, ``test_*``).

Standard library only: this runs inside the traced program.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field

from astrepo.capture.ast_ids import FUNCTION_TYPES, AstIds

#: Version of the plan document. History: 1 - first version.
PLAN_FORMAT = 1

STRATEGIES = ("minimal", "balanced", "full_trace")
POINT_KINDS = ("function_boundary", "expression", "variable", "branch", "line", "exception")

#: Decision points (if/for/while/try/except/case/bool ops) making a function "complex" for `balanced`.
COMPLEX_DECISIONS = 6

#: Function names treated as entry points by `minimal`.
ENTRY_NAMES = frozenset({"main", "run", "cli", "handle", "handler", "entry", "entrypoint", "app"})


@dataclass(frozen=True, slots=True)
class Point:
    """What to record at one node."""

    node_id: str
    kind: str  #: one of POINT_KINDS
    capture: dict = field(default_factory=dict, hash=False, compare=False)
    sampling: object = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """A strategy and, when the planner made it, explicit points."""

    strategy: str
    points: tuple[Point, ...] = ()
    digest: str = ""  #: identifies the plan in the compiled-code cache

    @property
    def explicit(self) -> bool:
        return bool(self.points)


def plan_for_strategy(strategy: str) -> Plan:
    """A plan meaning "the built-in default of ``strategy``"."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    return Plan(strategy, (), hashlib.blake2b(f"default:{strategy}".encode(), digest_size=8).hexdigest())


def plan_from_json(text: str) -> Plan:
    """Parse a plan document; raises ValueError with a clear message on a bad one."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"plan is not valid JSON: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ValueError(f"plan must be a JSON object with \"format\": {PLAN_FORMAT}")
    strategy = doc.get("strategy", "balanced")
    points = []
    for raw in doc.get("points") or ():
        if not isinstance(raw, dict) or "node_id" not in raw or raw.get("kind") not in POINT_KINDS:
            raise ValueError(f"bad plan point {raw!r}: needs node_id and kind in {', '.join(POINT_KINDS)}")
        points.append(Point(str(raw["node_id"]), raw["kind"], dict(raw.get("capture") or {}),
                            raw.get("sampling"), str(raw.get("reason", ""))))
    if not points:
        return plan_for_strategy(strategy)
    digest = hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=8).hexdigest()
    return Plan(strategy, tuple(points), digest)


def plan_to_json(plan: Plan) -> str:
    """Serialize a plan (the inverse of `plan_from_json`)."""
    return json.dumps({
        "format": PLAN_FORMAT, "strategy": plan.strategy,
        "points": [{"node_id": p.node_id, "kind": p.kind, "capture": p.capture, "sampling": p.sampling,
                    "reason": p.reason} for p in plan.points],
    }, indent=1)


#: node ID -> {point kind -> Point}
PointTable = dict[str, dict[str, Point]]


def points_for_module(plan: Plan, tree: ast.Module, ids: AstIds) -> PointTable:
    """The points of ``plan`` that fall on this module's nodes."""
    if plan.explicit:
        known = {r.id for r in ids.records.values()}
        table: PointTable = {}
        for p in plan.points:
            if p.node_id in known:
                table.setdefault(p.node_id, {})[p.kind] = p
        return table
    return default_points(plan.strategy, tree, ids)


def default_points(strategy: str, tree: ast.Module, ids: AstIds) -> PointTable:
    """The built-in default points of ``strategy`` for one module (see the module docstring)."""
    table: PointTable = {}

    def add(node_id: str, kind: str, reason: str, **capture: object) -> None:
        table.setdefault(node_id, {})[kind] = Point(node_id, kind, capture, None, reason)

    full = strategy == "full_trace"
    for node, record in ids.records.items():
        kind = record.kind
        if kind == "function":
            if full or strategy == "balanced":
                add(record.id, "function_boundary", strategy, args=True, **{"return": True})
            elif _is_entry_point(node):
                add(record.id, "function_boundary", "entry point")
            add(record.id, "exception", "exceptions everywhere")
        elif kind == "except":
            add(record.id, "exception", "exceptions everywhere")
    if full:
        protected = _protected_statements(tree)
        for node, record in ids.records.items():
            kind = record.kind
            if kind in ("if", "while", "for", "case"):
                add(record.id, "branch", strategy)
            if kind in ("assign", "annassign", "augassign"):
                add(record.id, "variable", strategy)
            if kind == "call":
                add(record.id, "expression", strategy)
            if kind not in ("module", "class", "function", "lambda", "call", "except", "case") \
                    and id(node) not in protected:
                add(record.id, "line", strategy)
    elif strategy == "balanced":
        for node in ids.records:
            if isinstance(node, FUNCTION_TYPES) and _is_complex(node):
                for inner in _own_nodes(node):
                    record = ids.records.get(inner)
                    if record is None:
                        continue
                    if record.kind in ("if", "while", "for", "case"):
                        add(record.id, "branch", "complex function")
                    elif record.kind in ("assign", "annassign", "augassign"):
                        add(record.id, "variable", "complex function")
    return table


def _protected_statements(tree: ast.Module) -> set[int]:
    """ids of statements the instrumenter never puts a line event before (docstrings, futures)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(node, (ast.Module, ast.ClassDef, *FUNCTION_TYPES)) or not body:
            continue
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            out.add(id(first))
        if isinstance(node, ast.Module):
            out.update(id(s) for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__")
    return out


def _is_entry_point(node: ast.AST) -> bool:
    name = getattr(node, "name", "")
    return name in ENTRY_NAMES or name.startswith("test_") or name.startswith("test")


def _own_nodes(func: ast.AST):
    """Nodes of a function's body, not descending into nested definitions."""
    stack = list(func.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _is_complex(func: ast.AST) -> bool:
    decisions = 0
    for node in _own_nodes(func):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.match_case,
                             ast.BoolOp, ast.IfExp)):
            decisions += 1
    return decisions >= COMPLEX_DECISIONS
