"""Facts about Python source computed with the standard library's `ast`, independently of astrepo.

The Django tests compare astrepo's answers with these. Naming follows astrepo's
documented convention (``astrepo.ids``): a definition's qualified name is its
module's dotted name plus the chain of enclosing definitions (no ``<locals>``),
lambdas are ``<lambdaN>`` (N = 1, 2, ... in source order within their scope),
and a redefinition keeps its plain name (so names may repeat).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True, slots=True)
class Definition:
    """A function, method, lambda or class of a source file."""

    name: str  #: qualified dotted name
    kind: str  #: module | class | function | lambda
    node: ast.AST
    parent: "Definition | None"  #: the enclosing definition (None at module level)
    file: str  #: path relative to the project root


def module_name(rel: str) -> str:
    """``django/utils/text.py`` -> ``django.utils.text``; a package's ``__init__.py`` is the package."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def definitions(root: Path, rel: str) -> list[Definition]:
    """The module, then every class, def and lambda of one file in source order."""
    tree = ast.parse((root / rel).read_text(encoding="utf-8"))
    out: list[Definition] = [Definition(module_name(rel), "module", tree, None, rel)]

    def visit(node: ast.AST, prefix: str, parent: Definition | None, lambdas: list[int]) -> None:
        # Fields in source order; a definition's decorators, defaults and bases belong to the
        # enclosing scope, its body (and a lambda's body) to itself.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (*_DEFS, ast.ClassDef)):
                for outer in (*child.decorator_list, *_outer_parts(child)):
                    visit_expr(outer, prefix, parent, lambdas)
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                d = Definition(f"{prefix}.{child.name}", kind, child, parent, rel)
                out.append(d)
                inner: list[int] = [0]
                for stmt in child.body:
                    visit_stmt(stmt, d.name, d, inner)
            elif isinstance(child, ast.Lambda):
                visit_expr(child, prefix, parent, lambdas)
            else:
                visit(child, prefix, parent, lambdas)

    def visit_stmt(stmt: ast.AST, prefix: str, parent: Definition | None, lambdas: list[int]) -> None:
        wrapper = ast.Module(body=[stmt], type_ignores=[])
        visit(wrapper, prefix, parent, lambdas)

    def visit_expr(expr: ast.AST, prefix: str, parent: Definition | None, lambdas: list[int]) -> None:
        if isinstance(expr, ast.Lambda):
            for default in (*expr.args.defaults, *(d for d in expr.args.kw_defaults if d is not None)):
                visit_expr(default, prefix, parent, lambdas)
            lambdas[0] += 1
            d = Definition(f"{prefix}.<lambda{lambdas[0]}>", "lambda", expr, parent, rel)
            out.append(d)
            visit_expr(expr.body, d.name, d, [0])
            return
        for child in ast.iter_child_nodes(expr):
            if isinstance(child, (ast.expr, ast.comprehension, ast.keyword, ast.arguments, ast.arg)):
                visit_expr(child, prefix, parent, lambdas)

    visit(tree, module_name(rel), None, [0])
    return out


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """Expressions of a def/class evaluated in the enclosing scope (besides decorators)."""
    if isinstance(node, ast.ClassDef):
        return [*node.bases, *(k.value for k in node.keywords)]
    args = node.args  # type: ignore[attr-defined]
    parts: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None and a.annotation is not None:
            parts.append(a.annotation)
    if node.returns is not None:  # type: ignore[attr-defined]
        parts.append(node.returns)  # type: ignore[attr-defined]
    return parts


def own_nodes(d: Definition) -> list[ast.AST]:
    """The nodes of a definition's own body: nested defs, lambdas and classes excluded (but their
    decorators, defaults and bases, which run in this scope, included)."""
    found: list[ast.AST] = []
    body = d.node.body if isinstance(d.node, (ast.Module, *_DEFS, ast.ClassDef)) else [d.node.body]  # type: ignore[attr-defined]
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (*_DEFS, ast.ClassDef)):
            stack.extend(reversed([*node.decorator_list, *_outer_parts(node)]))
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(reversed([*node.args.defaults, *(x for x in node.args.kw_defaults if x)]))
            continue
        found.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def short(expr: ast.AST) -> str | None:
    """``pkg.mod.Name`` or ``Name`` -> ``Name``; anything else None."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def subclasses(defs: list[Definition], base: str) -> list[str]:
    """Qualified names of the classes deriving, directly or not, from the class named ``base``
    (bases matched by their last name component: the test checks those are unique)."""
    classes = [d for d in defs if d.kind == "class"]
    found: set[str] = set()
    frontier = {base.rsplit(".", 1)[-1]}
    while frontier:
        nxt = set()
        for c in classes:
            if c.name not in found and any(short(b) in frontier for b in c.node.bases):  # type: ignore[attr-defined]
                found.add(c.name)
                nxt.add(c.name.rsplit(".", 1)[-1])
        frontier = nxt
    return sorted(found)


def methods(defs: list[Definition], cls: str) -> list[str]:
    """Functions defined directly in the body of class ``cls`` (qualified name)."""
    return sorted(d.name for d in defs if d.kind == "function" and d.parent is not None and d.parent.name == cls)


def functions(defs: list[Definition], prefix: str) -> list[str]:
    """Qualified names of the functions, methods and lambdas in files under ``prefix``."""
    return sorted(d.name for d in defs if d.kind in ("function", "lambda") and d.file.startswith(prefix))


def exception_ancestors(name: str) -> set[str]:
    """Short names of a builtin exception class and its bases."""
    cls = getattr(builtins, name)
    return {c.__name__ for c in cls.__mro__ if c is not object}


def functions_catching(defs: list[Definition], exc: str) -> list[str]:
    """Functions (not lambdas) with an ``except`` clause of their own catching builtin ``exc``:
    a handler naming it or one of its bases; a bare ``except:`` catches everything."""
    catches = exception_ancestors(exc)
    out = []
    for d in defs:
        if d.kind != "function":
            continue
        for node in own_nodes(d):
            if isinstance(node, ast.ExceptHandler):
                types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if node.type is None or any(short(t) in catches for t in types):
                    out.append(d.name)
                    break
    return sorted(out)


def cyclomatic(d: Definition) -> int:
    """McCabe complexity as radon counts it: 1 + if/elif + loops + except clauses + case clauses +
    boolean operators + conditional expressions + comprehension for/if clauses."""
    n = 1
    for node in own_nodes(d):
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.IfExp,
                             ast.match_case)):
            n += 1
        elif isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            n += 1 + len(node.ifs)
    return n


def calls_by_name(defs_by_file: dict[str, list[Definition]], module: str, func: str) -> list[str]:
    """Scopes (qualified names; a module's name for its top-level code) calling the module-level
    function ``module.func`` by a plain name the file imported or defined, or as an attribute of
    the imported module. Only these two spellings: enough for the names asked."""
    out = []
    package, _, leaf = module.rpartition(".")
    for defs in defs_by_file.values():
        here = defs[0]
        plain = {func} if here.name == module else set()
        aliases: set[str] = set()
        for node in ast.walk(here.node):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                for a in node.names:
                    if node.module == module and a.name == func:
                        plain.add(a.asname or a.name)
                    if node.module == package and a.name == leaf:
                        aliases.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                aliases.update(a.asname for a in node.names if a.name == module and a.asname)

        def calls(node: ast.AST) -> bool:
            f = node.func  # type: ignore[attr-defined]
            return ((isinstance(f, ast.Name) and f.id in plain)
                    or (isinstance(f, ast.Attribute) and f.attr == func
                        and isinstance(f.value, ast.Name) and f.value.id in aliases))

        out += [d.name for d in defs if any(isinstance(n, ast.Call) and calls(n) for n in own_nodes(d))]
    return sorted(set(out))


def directly_recursive(defs: list[Definition]) -> list[str]:
    """Functions calling themselves: a function by its own name (not rebound in its body), a
    method as ``self.<name>`` / ``cls.<name>``."""
    out = []
    for d in defs:
        if d.kind != "function":
            continue
        name = d.name.rsplit(".", 1)[-1]
        method = d.parent is not None and d.parent.kind == "class"
        nodes = own_nodes(d)
        rebound = any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == name for n in nodes) or any(
            isinstance(n, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in n.names)
            for n in nodes)
        for n in nodes:
            if not isinstance(n, ast.Call):
                continue
            f = n.func
            if (not method and not rebound and isinstance(f, ast.Name) and f.id == name) or (
                    method and isinstance(f, ast.Attribute) and f.attr == name
                    and isinstance(f.value, ast.Name) and f.value.id in ("self", "cls")):
                out.append(d.name)
                break
    return sorted(out)


def implicitly_raising_key_error(defs: list[Definition]) -> list[str]:
    """Functions and lambdas with an operation of their own that may raise KeyError outside a
    ``try`` of theirs catching it: reading or deleting ``x[key]`` (a slice is not a key), or
    ``x.pop(key)`` without a default."""
    catches = exception_ancestors("KeyError")
    out = []
    for d in defs:
        if d.kind not in ("function", "lambda"):
            continue

        def risky(node: ast.AST, guarded: bool) -> bool:
            if isinstance(node, (*_DEFS, ast.ClassDef, ast.Lambda)):
                return False  # their own body is theirs (decorators/defaults: rare, ignored)
            if not guarded:
                if (isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice)
                        and not isinstance(node.ctx, ast.Store)):
                    return True
                if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
                    return True
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "pop"
                        and len(node.args) == 1 and not node.keywords):
                    return True
            if isinstance(node, ast.Try):
                caught = any(h.type is None or any(short(t) in catches for t in (
                    h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])) for h in node.handlers)
                return (any(risky(s, guarded or caught) for s in node.body)
                        or any(risky(s, guarded) for s in (*node.handlers, *node.orelse, *node.finalbody)))
            return any(risky(c, guarded) for c in ast.iter_child_nodes(node))

        body = d.node.body if isinstance(d.node, _DEFS) else [d.node.body]  # type: ignore[attr-defined]
        if any(risky(s, False) for s in body):
            out.append(d.name)
    return sorted(out)
