"""``pycg_callgraph`` on our own call-graph cases: each case indexed into real Kuzu, exported in
PyCG's format and compared edge by edge with its expected ``callgraph.json`` (written by hand and
checked against a real run with ``bench/callgraph_eval.py --verify-runtime``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.export import pycg_callgraph, pycg_external_name
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout

pytestmark = pytest.mark.integration

CASES = Path(__file__).parents[1] / "callgraph_cases"


def edges(graph: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(src, dst) for src, dsts in graph.items() for dst in dsts}


@pytest.mark.parametrize("case", sorted(p.parent for p in CASES.glob("*/*/callgraph.json")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case_exports_its_expected_graph(case: Path, tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    build_index(IndexConfig(root=case, db_dir=db_dir))
    db = GraphStore(Layout(db_dir)).open_read()
    try:
        found = edges(pycg_callgraph(db))
    finally:
        db.close()
    expected = edges(json.loads((case / "callgraph.json").read_text()))
    known = json.loads((case / "known_misses.json").read_text()) if (case / "known_misses.json").exists() else {}
    known_missing = {tuple(e) for e in known.get("missing", [])}  # expected failures: not found yet
    known_wrong = {tuple(e) for e in known.get("unexpected", [])}  # ... and reported though they never happen
    missing = sorted(expected - found - known_missing)
    unexpected = sorted(found - expected - known_wrong)
    fixed = sorted((known_missing & found) | (known_wrong - found))
    assert not missing and not unexpected, f"missing {missing}\nunexpected {unexpected}"
    assert not fixed, f"edges listed in known_misses.json are right now, drop them there: {fixed}"


@pytest.mark.parametrize("name, pycg", [
    ("<builtin>.str.join", "<**PyStr**>.join"),
    ("<builtin>.bytes.decode", "<**PyBytes**>.decode"),
    ("<builtin>.len", "<builtin>.len"),
    ("<builtin>.str", "<builtin>.str"),
    ("collections.OrderedDict.popitem", "collections.OrderedDict.popitem"),
])
def test_external_names_follow_pycg(name: str, pycg: str) -> None:
    assert pycg_external_name(name) == pycg
