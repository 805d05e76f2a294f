"""The built-in default points of each strategy, and the points of a plan that fall on one module.

Which nodes each strategy instruments is described in `astrepo.capture.points` (with the plan
format). Kept apart from it because this part needs ``ast``, which a traced process imports
only when it instruments a module (a compiled-code cache miss).

Standard library only: this runs inside the traced program.
"""

from __future__ import annotations

import ast

from astrepo.capture.ast_ids import FUNCTION_TYPES, AstIds
from astrepo.capture.points import COMPLEX_DECISIONS, ENTRY_NAMES, Plan, Point, PointTable


def points_for_module(plan: Plan, tree: ast.Module, ids: AstIds, rel: str | None = None) -> PointTable:
    """The points of ``plan`` that fall on this module's nodes (``rel``: the module's relative path,
    to look among its own points only when the plan says which file each point is in: what
    `Plan.module_digest` keys the compiled code by)."""
    if plan.explicit:
        known = {r.id for r in ids.records.values()}
        own = plan.module_points(rel) if rel is not None else None
        table: PointTable = {}
        for p in plan.points if own is None else own:
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
