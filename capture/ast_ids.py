"""Node IDs computed from a stdlib ``ast`` tree, identical to the index's.

The index (``astrepo.extract``) numbers nodes while walking tree-sitter
trees; the capture runtime only has ``ast``. Both follow the rules of
`astrepo.ids`: per scope and kind, nodes are numbered in source order,
which here is a sort by ``(lineno, col_offset, -end_lineno, -end_col_offset)``
(start position, outer node first on ties).

Scopes: module, class, function (sync and async) and lambda. A definition's
decorators, defaults, annotations (parameter and return), base classes and
class keywords are walked in the enclosing scope; its body and parameter
names belong to it. Comprehensions are not scopes.

Invariants and known limits:

* standard library only (runs inside the traced program); iterative walk,
  so deeply nested expressions do not hit the recursion limit;
* ``match_case`` has no position in ``ast``: a case is ordered and reported
  at its pattern's start (the ``case`` keyword sits just before it);
* results are side tables keyed by ``ast`` node identity; nodes are never
  modified.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from astrepo.ids import NodeId, join_scope, lambda_segment, node_id_for, scope_segment

#: ``ast`` statement classes -> canonical statement kinds (see ``astrepo.ids.STMT_KINDS``).
STMT_KINDS: dict[type, str] = {
    ast.Expr: "expr",
    ast.Assign: "assign",
    ast.AnnAssign: "annassign",
    ast.AugAssign: "augassign",
    ast.Return: "return",
    ast.Delete: "delete",
    ast.Pass: "pass",
    ast.Break: "break",
    ast.Continue: "continue",
    ast.Raise: "raise",
    ast.Assert: "assert",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.If: "if",
    ast.For: "for",
    ast.AsyncFor: "for",
    ast.While: "while",
    ast.Try: "try",
    ast.With: "with",
    ast.AsyncWith: "with",
    ast.Match: "match",
    ast.ExceptHandler: "except",
    ast.match_case: "case",
}
if hasattr(ast, "TryStar"):  # 3.11+
    STMT_KINDS[ast.TryStar] = "try"
if hasattr(ast, "TypeAlias"):  # 3.12+
    STMT_KINDS[ast.TypeAlias] = "typealias"

FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True, slots=True)
class IdRecord:
    """One addressable node: its ID, canonical kind, scope path and position."""

    id: NodeId
    kind: str  #: "module", "class", "function", "lambda", "call", "param" or a statement kind
    scope: str  #: scope path of the enclosing definition ("" = module); for definitions, their own
    ordinal: int | str
    line: int  #: 1-based line
    col: int  #: 0-based column, UTF-8 bytes


@dataclass(slots=True)
class AstIds:
    """Side tables of one module's IDs, keyed by ``ast`` node identity."""

    path: str  #: repo-relative POSIX path
    #: node -> record, for definitions, calls and statements
    records: dict[ast.AST, IdRecord] = field(default_factory=dict)
    #: definition node (module/class/function/lambda) -> its scope path
    scope_of: dict[ast.AST, str] = field(default_factory=dict)
    #: function/lambda node -> parameter records, in signature order
    params: dict[ast.AST, list[IdRecord]] = field(default_factory=dict)
    #: definition node -> qualified name within the module (``C.f.<locals>.g``-free, dotted)
    qualnames: dict[ast.AST, str] = field(default_factory=dict)

    def all_records(self) -> list[IdRecord]:
        """Every record (definitions, calls, statements, parameters)."""
        out = list(self.records.values())
        for plist in self.params.values():
            out.extend(plist)
        return out

    def id_of(self, node: ast.AST) -> NodeId | None:
        record = self.records.get(node)
        return record.id if record is not None else None


def _position(node: ast.AST) -> tuple[int, int, int, int]:
    if isinstance(node, ast.match_case):
        p = node.pattern
        return (p.lineno, p.col_offset, -(p.end_lineno or p.lineno), -(p.end_col_offset or 0))
    return (node.lineno, node.col_offset, -(node.end_lineno or node.lineno), -(node.end_col_offset or 0))


def arg_list(args: ast.arguments) -> list[ast.arg]:
    """Every parameter of a signature, in declaration order."""
    out = list(args.posonlyargs) + list(args.args)
    if args.vararg is not None:
        out.append(args.vararg)
    out.extend(args.kwonlyargs)
    if args.kwarg is not None:
        out.append(args.kwarg)
    return out


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """Parts of a definition evaluated in the enclosing scope."""
    parts: list[ast.AST] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        parts.extend(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts.extend(node.bases)
        parts.extend(k.value for k in node.keywords)
    else:
        args = node.args
        parts.extend(args.defaults)
        parts.extend(d for d in args.kw_defaults if d is not None)
        if not isinstance(node, ast.Lambda):
            parts.extend(a.annotation for a in arg_list(args) if a.annotation is not None)
            if node.returns is not None:
                parts.append(node.returns)
    parts.extend(getattr(node, "type_params", ()) or ())
    return parts


def _body(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Lambda):
        return [node.body]
    return list(node.body)


def assign_ids(tree: ast.Module, path: str) -> AstIds:
    """Compute the node IDs of every addressable node of ``tree`` (a module of file ``path``)."""
    result = AstIds(path)
    module_id = node_id_for(path, "", "module")
    result.records[tree] = IdRecord(module_id, "module", "", 0, 1, 0)
    result.scope_of[tree] = ""
    result.qualnames[tree] = ""
    # Work list of scopes: (definition node, scope path, qualname, nodes belonging to it)
    pending: list[tuple[ast.AST, str, str, list[ast.AST]]] = [(tree, "", "", list(tree.body))]
    while pending:
        owner, spath, qual, roots = pending.pop()
        _walk_scope(result, owner, spath, qual, roots, pending)
    return result


def _walk_scope(result: AstIds, owner: ast.AST, spath: str, qual: str, roots: list[ast.AST],
                pending: list) -> None:
    path = result.path
    items: list[tuple[tuple[int, int, int, int], str, ast.AST]] = []
    defs: list[tuple[tuple[int, int, int, int], ast.AST]] = []
    lambdas: list[tuple[tuple[int, int, int, int], ast.AST]] = []
    stack = list(roots)
    stmt_kinds = STMT_KINDS
    while stack:
        node = stack.pop()
        t = type(node)
        if t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef:
            defs.append((_position(node), node))
            stack.extend(_outer_parts(node))
            continue
        if t is ast.Lambda:
            lambdas.append((_position(node), node))
            stack.extend(_outer_parts(node))
            continue
        if t is ast.Call:
            items.append((_position(node), "call", node))
        else:
            kind = stmt_kinds.get(t)
            if kind is not None:
                items.append((_position(node), kind, node))
        stack.extend(ast.iter_child_nodes(node))
    counters: dict[str, int] = {}
    items.sort(key=lambda item: item[0])
    for pos, kind, node in items:
        n = counters.get(kind, 0)
        counters[kind] = n + 1
        line, col = pos[0], pos[1]
        result.records[node] = IdRecord(node_id_for(path, spath, kind, n), kind, spath, n, line, col)
    # Definitions: classes and functions share the same-name counter.
    defs.sort(key=lambda item: item[0])
    seen: dict[str, int] = {}
    children: list[tuple[ast.AST, str, str]] = []
    for _, node in defs:
        previous = seen.get(node.name, 0)
        seen[node.name] = previous + 1
        children.append((node, scope_segment(node.name, previous), node.name))
    lambdas.sort(key=lambda item: item[0])
    for number, (_, node) in enumerate(lambdas, start=1):
        segment = lambda_segment(number)
        children.append((node, segment, segment))
    for node, segment, name in children:
        child_path = join_scope(spath, segment)
        kind = "class" if isinstance(node, ast.ClassDef) else "lambda" if isinstance(node, ast.Lambda) else "function"
        child_qual = f"{qual}.{name}" if qual else name
        result.records[node] = IdRecord(node_id_for(path, child_path, kind), kind, child_path, 0,
                                        node.lineno, node.col_offset)
        result.scope_of[node] = child_path
        result.qualnames[node] = child_qual
        if kind != "class":
            result.params[node] = [
                IdRecord(node_id_for(path, child_path, "param", a.arg), "param", child_path, a.arg,
                         a.lineno, a.col_offset)
                for a in arg_list(node.args)
            ]
        pending.append((node, child_path, child_qual, _body(node)))
