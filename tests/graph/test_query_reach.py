"""The reach index beside each generation, and the shortest paths found over it (real Kuzu)."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.query.exception_index import exception_records
from astrepo.graph.query.reach import all_shortest_paths, paths, reach
from astrepo.graph.query.reach_index import RELATIONS, TABLES, UNUSED_WHERE, ReachIndex
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout

pytestmark = pytest.mark.integration

#: t is called by b and c; a calls c then b; d calls a; t calls d (a cycle back to the start).
CHAIN = """\
def t():
    d()


def b():
    t()


def c():
    t()


def a():
    c()
    b()


def d():
    a()
"""


def index(root: Path, db_dir: Path) -> ReachIndex:
    build_index(IndexConfig(root=root, db_dir=db_dir))
    return ReachIndex.open(GraphStore(Layout(db_dir)).current_path())


def named(found_paths: dict[int, list[str]], index: ReachIndex) -> dict[str, list[str]]:
    return {index.name(row).rsplit(".", 1)[-1]: [p.rsplit(".", 1)[-1] for p in path]
            for row, path in found_paths.items()}


def test_callers_step_towards_the_start_through_the_smallest_name(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "chain.py").write_text(CHAIN)
    idx = index(tmp_path / "proj", tmp_path / "db")
    (start,), _ = idx.find_names("chain.t", "Function")
    found = reach(idx, "CALLS", start, backward=True)
    names = {row: idx.name(row) for row in [start, *found.order]}
    # a -> b -> t and a -> c -> t are equally short: b wins. The start is no caller of itself.
    assert named(paths(found, names, True), idx) == {
        "b": ["b", "t"], "c": ["c", "t"], "a": ["a", "b", "t"], "d": ["d", "a", "b", "t"]}
    assert [found.dist[r] for r in found.order] == [1, 1, 2, 3]
    assert len(reach(idx, "CALLS", start, backward=True, max_depth=2).order) == 3


def test_all_shortest_paths_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "chain.py").write_text(CHAIN)
    idx = index(tmp_path / "proj", tmp_path / "db")
    row = {n: idx.find_names(f"chain.{n}", "Function")[0][0] for n in "abcdt"}
    found = all_shortest_paths(idx, "CALLS", row["d"], row["t"])
    assert [[idx.name(r).rsplit(".", 1)[-1] for r in path] for path in found] == [list("dabt"), list("dact")]
    assert all_shortest_paths(idx, "CALLS", row["t"], row["t"]) == []  # as Kuzu: no path to itself
    assert all_shortest_paths(idx, "CALLS", row["d"], row["t"], max_depth=2) == []


def test_callees_hang_off_the_first_predecessor_by_name(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "chain.py").write_text(CHAIN.replace("def d():\n    a()", "def d():\n    c()\n    b()")
                                                 .replace("def a():\n    c()\n    b()", "def a():\n    d()"))
    idx = index(tmp_path / "proj", tmp_path / "db")
    (start,), _ = idx.find_names("chain.a", "Function")
    found = reach(idx, "CALLS", start, backward=False)
    names = {row: idx.name(row) for row in [start, *found.order]}
    assert named(paths(found, names, False), idx) == {
        "d": ["a", "d"], "b": ["a", "d", "b"], "c": ["a", "d", "c"], "t": ["a", "d", "b", "t"]}


def test_names_are_found_exactly_or_by_dotted_suffix(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "chain.py").write_text(CHAIN + "\n\nclass K:\n    def t(self):\n        pass\n")
    idx = index(tmp_path / "proj", tmp_path / "db")
    exact, suffix = idx.find_names("t", "Function")
    assert exact == [] and sorted(idx.name(r) for r in suffix) == ["chain.K.t", "chain.t"]
    exact, suffix = idx.find_names("chain.K.t", "Function")
    assert [idx.name(r) for r in exact] == ["chain.K.t"] and suffix == []
    assert idx.find_names("K.t", "Class") == ([], [])
    assert idx.find_id(idx.id(exact[0]), "Function") == exact[0]


def index_matches_graph(db_dir: Path) -> set[str]:
    """Every symbol and every CALLS/INHERITS edge between symbols, in the index as in Kuzu (and
    the same unused functions, which it returns)."""
    store = GraphStore(Layout(db_dir))
    idx = ReachIndex.open(store.current_path())
    db = store.open_read()
    try:
        for label in TABLES:
            table = idx.table(label)
            kind = "n.kind" if label in ("Function", "External") else "''"
            in_graph = {(table.first + offset, node_id, name, file or "", line or 0, k or "")
                        for offset, node_id, name, file, line, k in db.execute(
                            f"MATCH (n:{label}) RETURN offset(id(n)), n.id, n.name, n.file, n.start_line, {kind}")[1]}
            in_index = {(row, idx.id(row), idx.name(row), idx.file(row), idx.line[row], idx.kind(row))
                        for row in range(table.first, table.first + table.size) if idx.id(row)}
            assert in_index == in_graph, label
        for rel, (sources, targets) in RELATIONS.items():
            in_graph = {tuple(r) for r in db.execute(
                f"MATCH (a:{sources})-[:{rel}]->(b:{targets}) RETURN a.id, b.id")[1]}
            in_index = {(idx.id(a), idx.id(b)) for a, b in idx.edges(rel)}
            assert in_index == in_graph and in_graph, rel
            backward = {(idx.id(a), idx.id(b)) for b in range(idx.rows) for a in idx.neighbours(rel, "in", b)}
            assert backward == in_graph, rel
        # Unused functions: the example's one export is a class, so every function matching UNUSED_WHERE.
        unused = {r[0] for r in db.execute(f"MATCH (n:Function) WHERE {UNUSED_WHERE} RETURN n.id")[1]}
        assert {idx.id(r) for r in idx.array("unused")} == unused
        # Exception facts: every may-raise, uncaught implicit raise and handler, by node or scope.
        queries = {"raise": "MATCH (n)-[r:MAY_RAISE]->(e:ExceptionType) RETURN n.id, e.name, r.origin_at, r.via_at",
                   "implicit": "MATCH (s:Stmt)-[r:IMPLICIT_RAISE]->(e:ExceptionType) WHERE NOT r.caught "
                               "RETURN r.scope, e.name, r.line, r.op",
                   "catch": "MATCH (s:Stmt)-[r:CATCHES]->(e:ExceptionType) RETURN r.scope, e.name, r.line"}
        for kind, query in queries.items():
            in_graph = {(r[0], r[1], *(tuple(v) if isinstance(v, list) else v for v in r[2:]))
                        for r in db.execute(query)[1]}
            keys = list(idx.strings(f"{kind}.key"))
            in_index = {(idx.id(r[0]), *r[1:]) for r in exception_records(idx, kind, keys)}
            assert in_index == in_graph and in_graph, kind
    finally:
        db.close()
    return unused


def test_the_index_equals_the_graph_after_incremental_runs(shop: Path, tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    build_index(IndexConfig(root=shop, db_dir=db_dir))
    index_matches_graph(db_dir)
    inventory = shop / "shop" / "inventory.py"
    edits = [
        lambda: inventory.write_text(inventory.read_text()
                                     .replace("def count(self, sku: str)", "def amount(self, sku: str)")
                                     .replace("self.count(sku)", "self.amount(sku)")),
        lambda: (shop / "shop" / "returns.py").write_text(
            "from .inventory import Inventory\nfrom .orders import place_order\n\n\nclass Refused(LookupError):\n"
            "    pass\n\n\ndef give_back(inv: Inventory, sku):\n    inv.add(sku, 1)\n"
            "    return place_order(inv, [(sku, 1)])\n"),
        lambda: (shop / "tests" / "test_shop.py").unlink(),
        lambda: (shop / "shop" / "returns.py").write_text(
            (shop / "shop" / "returns.py").read_text().replace("inv.add(sku, 1)", "inv.take(sku, 1)")),
    ]
    for edit in edits:
        edit()
        summary = build_index(IndexConfig(root=shop, db_dir=db_dir))
        assert not summary.full and summary.changed
        unused = index_matches_graph(db_dir)
    assert unused  # shop.returns.give_back: no caller
