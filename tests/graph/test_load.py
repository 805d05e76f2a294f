"""Edge records to Arrow: the fast column path and the per-edge fallback give the same rows."""

from __future__ import annotations

from astrepo.graph.load import edges_to_arrow
from astrepo.model import Edge, EdgeKind, NodeKind

F, X = NodeKind.FUNCTION, NodeKind.EXCEPTION_TYPE


def may_raise(*attrs: tuple) -> Edge:
    return Edge(EdgeKind.MAY_RAISE, "f", F, "e", X, attrs)


def test_attributes_in_schema_order_missing_ones_defaulted() -> None:
    rows = edges_to_arrow(EdgeKind.MAY_RAISE, [may_raise(("origin", "o"), ("via", ["c1"]))] * 2).to_pylist()
    assert rows[0]["origin"] == "o" and rows[0]["via"] == ["c1"] and rows[0]["origin_at"] == ""
    assert rows[0] == rows[1]


def test_irregular_attributes_go_through_the_fallback() -> None:
    edges = [may_raise(("origin", "o"), ("via", ["c1"])), may_raise(("via", ["c2"]), ("origin", "p")),
             may_raise()]
    rows = edges_to_arrow(EdgeKind.MAY_RAISE, edges).to_pylist()
    assert [(r["origin"], r["via"]) for r in rows] == [("o", ["c1"]), ("p", ["c2"]), ("", [])]


def test_no_attributes_at_all() -> None:
    edges = [Edge(EdgeKind.CALLS, f"a{i}", F, "b", F) for i in range(3)]
    table = edges_to_arrow(EdgeKind.CALLS, edges)
    assert table.column("from").to_pylist() == ["a0", "a1", "a2"]
    assert table.column("provenance").to_pylist() == ["", "", ""]
