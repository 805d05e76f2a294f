"""Exception flow: hierarchy matching, per-file facts (golden), propagation over the call graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.analyzers.callgraph import ModuleInputs, resolve_project
from astrepo.analyzers.exceptions import (
    CallSiteGuard, ExceptionFacts, RaiseFact, analyze_exceptions, is_subclass, merge_hierarchy,
    propagate_exceptions,
)
from astrepo.ids import NodeId
from astrepo.model import Edge, EdgeKind, NodeKind

GOLDEN = Path(__file__).parent.parent / "golden" / "exceptions"


@pytest.mark.parametrize("name, handler, expected", [
    ("KeyError", "LookupError", True),
    ("KeyError", "Exception", True),
    ("KeyError", "BaseException", True),
    ("KeyError", "ValueError", False),
    ("KeyboardInterrupt", "Exception", False),
    ("UnicodeDecodeError", "ValueError", True),
    ("NotFound", "LookupError", True),  # user class below KeyError
    ("Fatal", "Exception", False),  # user class below BaseException only
    ("Mystery", "Exception", True),  # unknown: assumed an Exception
    ("Mystery", "KeyError", False),
    ("errors.NotFound", "KeyError", True),
])
def test_is_subclass(name: str, handler: str, expected: bool) -> None:
    hierarchy = merge_hierarchy([[("NotFound", ("KeyError",)), ("Fatal", ("BaseException",))]])
    assert is_subclass(name, handler, hierarchy) is expected


def test_propagation_budget_marks_partial() -> None:
    # a chain f0 <- f1 <- ... <- f9, budget of 3 rounds
    raises = [RaiseFact(NodeId("r0"), NodeId("f0"), "ValueError", "raise", "", None, 1)]
    sites = [CallSiteGuard(NodeId(f"c{i}"), NodeId(f"f{i}"), NodeId(f"s{i}"), ()) for i in range(1, 10)]
    edges = [Edge(EdgeKind.CALLS, NodeId(f"c{i}"), NodeKind.CALLSITE, NodeId(f"f{i - 1}"), NodeKind.FUNCTION)
             for i in range(1, 10)]
    files = [ExceptionFacts(raises, [], [], sites, [])]
    full = propagate_exceptions(files, edges)
    assert not full.partial and len(full.may_raise) == 10
    assert [m for m in full.may_raise if m.function == "f9"][0].via == tuple(NodeId(f"c{i}") for i in range(9, 0, -1))
    cut = propagate_exceptions(files, edges, max_rounds=3)
    assert cut.partial and len(cut.may_raise) == 4


def dump(analyze, labels, source: str) -> str:
    tree, facts, index = analyze(source, dedent=False)
    result = analyze_exceptions(tree, facts, index)
    names = labels(facts, index)
    out = [f"raise {names[r.scope]} {names[r.stmt]} {r.type or '?'} {r.kind}"
           f"{' from ' + r.cause if r.cause else ''} -> {names[r.caught_by] if r.caught_by else 'escapes'}"
           for r in result.raises]
    out += [f"catch {names[c.scope]} {names[c.handler]} {c.type}" for c in result.catches]
    out += [f"implicit {names[i.scope]} {names[i.stmt]} {i.type} ({i.op}){' caught' if i.caught else ''}"
            for i in result.implicit]
    out += [f"guard {names[s.scope]} {names[s.call]} {list(s.handlers)}" for s in result.sites if s.handlers]
    inputs = [ModuleInputs(facts.path, facts.module, False, tuple(facts.scopes), tuple(facts.calls), tuple(facts.imports))]
    prop = propagate_exceptions([result], resolve_project(inputs).edges)
    out += [f"may_raise {names[m.function]} {m.type} at {names[m.origin]} via {[names[c] for c in m.via]}"
            for m in prop.may_raise]
    return "".join(f"{line}\n" for line in sorted(out))


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("case_*.py")))
def test_golden(case: str, golden, analyze, labels) -> None:
    path = GOLDEN / case
    golden(path.with_suffix(".exceptions.txt"), dump(analyze, labels, path.read_text()))


@pytest.mark.parametrize("source, expected", [
    ("def f(d, k):\n    return d[k]\n", {"KeyError", "IndexError"}),
    ("def f(s):\n    return s[1:]\n", set()),  # a slice never raises a lookup error
    ("def f(s):\n    return s[::2]\n", set()),
    ("def f(d, k):\n    d[k] = 1\n", {"IndexError"}),  # a dict store adds the key; a list store may be out of range
    ("def f(d, k):\n    d[k] += 1\n", {"KeyError", "IndexError"}),  # reads d[k] first
    ("def f(d, k):\n    del d[k]\n", {"KeyError", "IndexError"}),
    ("def f(d, k):\n    d[k].x = 1\n", {"KeyError", "IndexError"}),  # d[k] is read to store on it
])
def test_implicit_lookup_errors_of_subscripts(source: str, expected: set[str], analyze) -> None:
    tree, facts, index = analyze(source)
    result = analyze_exceptions(tree, facts, index)
    assert {i.type for i in result.implicit if i.op == "subscript"} == expected
