"""Reaching definitions: focused cases plus a golden dump; interprocedural binding over CALLS edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.analyzers.callgraph import ModuleInputs, resolve_project
from astrepo.analyzers.dataflow import analyze_dataflow, interprocedural_edges

GOLDEN = Path(__file__).parent.parent / "golden" / "dataflow"


def reaches(analyze, labels, source: str) -> set[str]:
    """``var:src_line->dst_line`` for every reach (``p`` for a parameter)."""
    tree, facts, index = analyze(source)
    result = analyze_dataflow(tree, facts, index)
    params = {p.id for p in result.params}
    lines = {info.id: str(info.line) for info in index.stmts}
    return {f"{r.var}:{'p' if r.src in params else lines[r.src]}->{lines[r.dst]}" for r in result.reaches}


@pytest.mark.parametrize("source, expected", [
    ("""\
     def f(a):
         b = a
         b = b + 1
         return b
     """, "a:p->2 b:2->3 b:3->4"),
    ("""\
     def f(a):
         if a:
             a = 1
         return a
     """, "a:p->2 a:p->4 a:3->4"),
    ("""\
     def f(n):
         while n:
             n -= 1
         return n
     """, "n:p->2 n:3->2 n:p->3 n:3->3 n:p->4 n:3->4"),
    ("""\
     def f(xs):
         for x in xs:
             pass
         try:
             y = x
         except E as e:
             y = e
         return y
     """, "xs:p->2 x:2->5 y:5->8 y:7->8 e:6->7"),
    ("""\
     def f():
         import os
         with os.open() as fh:
             print(fh)
         if (n := 3):
             return [n for n in range(n)]
     """, "os:2->3 fh:3->4 n:5->6"),
    ("""\
     def f(a):
         g = lambda a: a
         return g
     """, "g:2->3"),
    ("""\
     def f(a):
         global G
         G = a
         return G
     """, "a:p->3"),
])
def test_reaches(source: str, expected: str, analyze, labels) -> None:
    assert reaches(analyze, labels, source) == set(expected.split())


def dump(analyze, labels, source: str) -> str:
    tree, facts, index = analyze(source, dedent=False)
    result = analyze_dataflow(tree, facts, index)
    names = labels(facts, index)
    rows = sorted((names[r.scope], r.var, names[r.src], names[r.dst]) for r in result.reaches)
    out = [f"{scope} | {var}: {src} -> {dst}\n" for scope, var, src, dst in rows]
    # interprocedural flows within the one file
    inputs = [ModuleInputs(facts.path, facts.module, False, tuple(facts.scopes), tuple(facts.calls), tuple(facts.imports))]
    resolution = resolve_project(inputs)
    args, rets = interprocedural_edges(resolution.edges, result.call_args, result.params, result.callables, result.returns)
    out += sorted(f"arg {names[a.call]} -> {names[a.param]} ({a.argument})\n" for a in args)
    out += sorted(f"return {names[r.stmt]} -> {names[r.call]}\n" for r in rets)
    return "".join(out)


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("case_*.py")))
def test_golden(case: str, golden, analyze, labels) -> None:
    path = GOLDEN / case
    golden(path.with_suffix(".dataflow.txt"), dump(analyze, labels, path.read_text()))
