"""Metrics: complexity cases, golden roles/effects, project-level call-graph metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.analyzers.callgraph import ModuleInputs, resolve_project
from astrepo.analyzers.metrics import analyze_metrics, project_metrics, propagate_impurity

GOLDEN = Path(__file__).parent.parent / "golden" / "metrics"


@pytest.mark.parametrize("source, cyclomatic, cognitive", [
    ("def f():\n    return 1\n", 1, 0),
    ("def f(a):\n    if a:\n        return 1\n    return 2\n", 2, 1),
    ("def f(a, b, c):\n    if a and b and c:\n        return 1\n", 4, 2),
    ("def f(a, b, c):\n    if a and b or c:\n        return 1\n", 4, 3),
    # nesting: for (+1), if inside (+2), else (+1)
    ("def f(xs):\n    for x in xs:\n        if x:\n            pass\n        else:\n            pass\n", 3, 4),
    ("def f(a):\n    try:\n        pass\n    except A:\n        pass\n    except B:\n        pass\n", 3, 2),
    ("def f(p):\n    match p:\n        case 1:\n            pass\n        case _:\n            pass\n", 3, 1),
    ("def f(xs):\n    return [x for x in xs if x] if xs else []\n", 4, 1),
])
def test_complexity(source: str, cyclomatic: int, cognitive: int, analyze) -> None:
    tree, facts, index = analyze(source)
    (row,) = analyze_metrics(tree, facts, index).functions
    assert (row.cyclomatic, row.cognitive) == (cyclomatic, cognitive)


def _project(analyze, source: str):
    tree, facts, index = analyze(source, dedent=False)
    inputs = [ModuleInputs(facts.path, facts.module, False, tuple(facts.scopes), tuple(facts.calls), tuple(facts.imports))]
    return tree, facts, index, resolve_project(inputs).edges


def test_recursion_and_scc(analyze, labels) -> None:
    source = ("def fact(n):\n    return n * fact(n - 1)\n\n"
              "def even(n):\n    return odd(n - 1)\n\n"
              "def odd(n):\n    return even(n - 1)\n\n"
              "def top():\n    return fact(3), even(2)\n")
    tree, facts, index, edges = _project(analyze, source)
    names = labels(facts, index)
    rows = {names[g.id]: g for g in project_metrics(edges)}
    assert rows["case.fact"].recursion == "direct"
    assert rows["case.even"].recursion == rows["case.odd"].recursion == "mutual"
    assert rows["case.even"].scc == rows["case.odd"].scc != ""
    assert rows["case.top"].fan_out == 2 and rows["case.fact"].fan_in == 1
    assert rows["case.fact"].pagerank > rows["case.top"].pagerank


def dump(analyze, labels, source: str) -> str:
    tree, facts, index, edges = _project(analyze, source)
    result = analyze_metrics(tree, facts, index)
    names = labels(facts, index)
    out = [f"function {names[m.id]} cc={m.cyclomatic} cog={m.cognitive} lines={m.lines} stmts={m.statements} "
           f"params={m.params} nesting={m.max_nesting} roles={','.join(m.roles) or '-'} "
           f"effects={','.join(m.effects) or '-'} pure={m.pure}" for m in result.functions]
    out += [f"role {names[r.node]} {r.role}" for r in result.roles]
    out += [f"effect {names[e.function]} {names[e.stmt]} {e.kind} {e.detail}" for e in result.effects]
    impure = propagate_impurity(result.functions, edges)
    out += [f"impure_via_calls {names[f.id]}" for f in result.functions if f.pure and f.id in impure]
    out += [f"graph {names[g.id]} in={g.fan_in} out={g.fan_out} rec={g.recursion or '-'}" for g in project_metrics(edges)]
    return "".join(f"{line}\n" for line in sorted(out))


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("case_*.py")))
def test_golden(case: str, golden, analyze, labels) -> None:
    path = GOLDEN / case
    golden(path.with_suffix(".metrics.txt"), dump(analyze, labels, path.read_text()))


@pytest.mark.parametrize("seed", range(40))
def test_pagerank_and_components_are_networkx_s(seed: int) -> None:
    """`pagerank` equals networkx's to the last bit, `cyclic_components` has its components of two
    or more, on random graphs (self-loops, dangling nodes, duplicate-free edges in first-seen order)."""
    import random

    import networkx as nx

    from astrepo.analyzers.metrics import cyclic_components, pagerank

    rng = random.Random(seed)
    n = rng.randint(1, 80)
    pairs = list(dict.fromkeys((f"n{rng.randrange(n)}", f"n{rng.randrange(n)}") for _ in range(rng.randint(1, 300))))
    graph = nx.DiGraph()
    graph.add_edges_from(pairs)
    nodes = list(graph)
    number = {name: k for k, name in enumerate(nodes)}
    sources, targets = [number[a] for a, _ in pairs], [number[b] for _, b in pairs]
    expected = nx.pagerank(graph)
    assert pagerank(len(nodes), sources, targets) == [expected[name] for name in nodes]
    found = [frozenset(nodes[k] for k in c) for c in cyclic_components(len(nodes), sources, targets)]
    assert len(set(found)) == len(found)
    assert set(found) == {frozenset(c) for c in nx.strongly_connected_components(graph) if len(c) > 1}


def test_cyclic_components_of_a_long_chain() -> None:
    """A call chain deeper than the recursion limit, closed into one cycle, with a tail outside."""
    from astrepo.analyzers.metrics import cyclic_components

    n = 5000
    sources = [*range(n), n]
    targets = [*((k + 1) % n for k in range(n)), 0]
    (component,) = cyclic_components(n + 1, sources, targets)
    assert sorted(component) == list(range(n))
