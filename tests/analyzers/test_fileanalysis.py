"""The packed per-file analysis: plain tuples that round-trip through pickle to the same records."""

from __future__ import annotations

import pickle
from pathlib import Path

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
