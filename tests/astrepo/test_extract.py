"""Extraction from tree-sitter trees: golden dumps, and counts checked against ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from astrepo.discover import discover_files
from astrepo.facts import facts_for_file, facts_from_source
from astrepo.model import FileFacts, NodeKind
from astrepo.parse import SourceParser

GOLDEN = Path(__file__).parent.parent / "golden" / "extract"
CASES = sorted(GOLDEN.glob("case_*.py"))
EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"


def render_facts(facts: FileFacts) -> str:
    """A stable, readable dump of one file's facts."""
    nodes = facts.nodes
    label = {}
    for n in nodes:
        short = n.name if n.kind in (NodeKind.MODULE, NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.PARAMETER) \
            else f"{n.name}@{n.span.start_line}:{n.span.start_col}"
        label[n.id] = f"{n.kind.value}:{short}"
    lines = []
    for n in nodes:
        s = n.span
        attrs = " ".join(f"{k}={v!r}" for k, v in sorted(n.attrs.items())
                         if k not in ("scope", "caller", "function", "hash", "docstring") or k == "docstring" and v)
        lines.append(f"{label[n.id]} {s.start_line}:{s.start_col}-{s.end_line}:{s.end_col} id={n.id} {attrs}".rstrip())
    for e in facts.edges:
        lines.append(f"{e.kind.value} {label.get(e.src, e.src)} -> {label.get(e.dst, e.dst)}")
    for scope in facts.scopes:
        for name, b in sorted(scope.bindings.items()):
            lines.append(f"bind {scope.qualname}: {name} = {b.kind.value}:{b.target}")
    for call in facts.calls:
        lines.append(f"call {label[call.id]} callee={call.callee!r}")
    for imp in facts.imports:
        lines.append(f"import {imp.module} names={list(imp.names)} level={imp.level} star={imp.star}")
    for d in facts.diagnostics:
        lines.append(f"diagnostic {d.render()}")
    return "\n".join(sorted(lines)) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path, golden) -> None:
    facts = facts_from_source(f"pkg/{case.name}", f"pkg.{case.stem}", case.read_bytes(), SourceParser())
    golden(case.with_suffix(".extract.txt"), render_facts(facts))


def test_syntax_errors_are_reported_with_a_line_and_the_rest_is_indexed() -> None:
    case = GOLDEN / "case_errors.py"
    facts = facts_from_source("pkg/case_errors.py", "pkg.case_errors", case.read_bytes(), SourceParser())
    assert [d.line for d in facts.diagnostics] and facts.diagnostics[0].line == 5
    names = {n.name for n in facts.nodes if n.kind is NodeKind.FUNCTION}
    assert {"pkg.case_errors.fine", "pkg.case_errors.StillHere.method"} <= names


@pytest.mark.parametrize(("source", "callees"), [
    (b"def f(:\n  x = = 2\n", []),
    (b"if x\n    g(h(1) +)\nz = {1: }\n", ["h"]),
    (b"def g():\n    return [x for x in (1,,)] + f(\n\nclass B:\n    def m(self):\n        self.a.b(c)\n", ["self.a.b"]),
])
def test_error_nodes_are_walked_into(source: bytes, callees: list[str]) -> None:
    """ERROR nodes have kind ID 65535, beyond the grammar's kinds: the walks' kind tables cover it."""
    from astrepo.analyzers.fileanalysis import analyze_file
    from astrepo.facts import parse_source

    facts, tree = parse_source("pkg/broken.py", "pkg.broken", source, SourceParser())
    assert tree is not None and tree.root_node.has_error
    assert facts.diagnostics and facts.diagnostics[0].severity.value == "error"
    assert sorted(c.callee for c in facts.calls) == callees
    analyze_file(tree, facts)  # the statement index and the analyzers walk the same tree


def ast_counts(source: bytes) -> tuple[int, int, int]:
    tree = ast.parse(source)
    funcs = sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for n in ast.walk(tree))
    classes = sum(isinstance(n, ast.ClassDef) for n in ast.walk(tree))
    calls = sum(isinstance(n, ast.Call) for n in ast.walk(tree))
    return funcs, classes, calls


def test_counts_match_pythons_ast_on_the_example_project() -> None:
    parser = SourceParser()
    files = discover_files(EXAMPLE)
    assert len(files) >= 6
    for f in files:
        facts = facts_for_file(f, parser)
        funcs = len(facts.node_tables.get(NodeKind.FUNCTION, ()))
        classes = len(facts.node_tables.get(NodeKind.CLASS, ()))
        calls = len(facts.node_tables.get(NodeKind.CALLSITE, ()))
        assert (funcs, classes, calls) == ast_counts(Path(f.abspath).read_bytes()), f.path


def test_counts_match_pythons_ast_on_golden_cases() -> None:
    parser = SourceParser()
    for case in CASES:
        if case.stem == "case_errors":
            continue
        facts = facts_from_source(case.name, case.stem, case.read_bytes(), parser)
        got = (len(facts.node_tables.get(NodeKind.FUNCTION, ())), len(facts.node_tables.get(NodeKind.CLASS, ())),
               len(facts.node_tables.get(NodeKind.CALLSITE, ())))
        assert got == ast_counts(case.read_bytes()), case.name
