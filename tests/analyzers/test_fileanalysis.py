"""The packed per-file analysis: plain tuples that round-trip through pickle to the same records."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from astrepo.analyzers.callgraph import ModuleInputs, resolve_project
from astrepo.analyzers.cfg import build_cfg
from astrepo.analyzers.exceptions import analyze_exceptions, propagate_exceptions
from astrepo.analyzers.fileanalysis import RECORD_TYPES, analyze_file

GOLDEN = Path(__file__).parent.parent / "golden"


def test_round_trip_and_records(analyze) -> None:
    source = (GOLDEN / "exceptions" / "case_flow.py").read_text()
    tree, facts, index = analyze(source, dedent=False)
    packed = analyze_file(tree, facts)
    assert set(packed.tables) == set(RECORD_TYPES)
    assert all(type(row) is tuple for rows in packed.tables.values() for row in rows)
    back = pickle.loads(pickle.dumps(packed, protocol=5))
    assert back.records("cfg_edges") == build_cfg(tree, facts, index)


def test_propagation_from_packed_guards_and_call_facts(analyze) -> None:
    source = (GOLDEN / "exceptions" / "case_flow.py").read_text()
    tree, facts, index = analyze(source, dedent=False)
    inputs = [ModuleInputs(facts.path, facts.module, False, tuple(facts.scopes), tuple(facts.calls), tuple(facts.imports))]
    edges = resolve_project(inputs).edges
    full = propagate_exceptions([analyze_exceptions(tree, facts, index)], edges)
    packed = analyze_file(tree, facts)
    light = propagate_exceptions([packed.exception_facts()], edges, {c.id: c.scope for c in facts.calls})
    assert light.may_raise == full.may_raise


@pytest.mark.parametrize("prefix", ["\n\n", "   \n\n", "\n# a comment\n"])
def test_statements_found_when_the_module_does_not_start_at_byte_0(prefix: str, analyze) -> None:
    # tree-sitter's module node starts at the first token, after leading blank lines.
    # Statement facts are keyed by absolute byte offsets, so they must come out the same.
    source = "class C(Exception):\n    pass\n\n\ndef f(n, d):\n    if n:\n        raise C()\n    return d[n]\n"
    shifted = prefix.count("\n")

    def facts_of(text: str):
        _, _, index = analyze(text, dedent=False)
        return sorted((s.kind, s.line - (shifted if text is not source else 0), tuple(sorted(s.uses)),
                       tuple(sorted(s.implicit))) for s in index.stmts)

    assert facts_of(prefix + source) == facts_of(source)
    assert any(kind == "raise" for kind, *_ in facts_of(prefix + source))
