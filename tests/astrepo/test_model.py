"""Typed records: per-file facts survive pickling (the facts cache, worker results) with their types."""

from __future__ import annotations

import pickle
from pathlib import Path

from astrepo.facts import facts_from_source
from astrepo.model import Binding, CallFact, Diagnostic, ImportFact, ScopeFacts
from astrepo.parse import SourceParser

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"


def test_file_facts_pickle_round_trip_keeps_records_typed() -> None:
    parser = SourceParser()
    seen = {"scopes": 0, "calls": 0, "imports": 0, "diagnostics": 0}
    for path in sorted(EXAMPLE.rglob("*.py")):
        facts = facts_from_source(path.name, path.stem, path.read_bytes() + b"\ndef broken(:\n", parser)
        back = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == facts
        for name in seen:
            seen[name] += len(getattr(facts, name))
        assert all(type(s) is ScopeFacts for s in back.scopes)
        assert all(type(b) is Binding for s in back.scopes for b in s.bindings.values())
        assert all(type(c) is CallFact for c in back.calls)
        assert all(type(i) is ImportFact for i in back.imports)
        assert all(type(d) is Diagnostic for d in back.diagnostics)
        assert back.scopes[0].bindings.keys() == facts.scopes[0].bindings.keys()  # binding order kept
        assert [list(s.bindings) for s in back.scopes] == [list(s.bindings) for s in facts.scopes]
    assert all(seen.values()), seen
