"""End-to-end: the real ``astrepo`` command on the example project, with real Kuzu."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def run_json(cli, *args: str) -> dict:
    result = cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_index_stats_and_cypher(shop: Path, tmp_path: Path, astrepo_cli) -> None:
    db = str(tmp_path / "db")
    summary = run_json(astrepo_cli, "index", str(shop), "--db", db, "--no-embed")
    assert summary["format"] == 1
    for key in ("files", "changed", "skipped", "errors", "nodes", "edges", "seconds"):
        assert key in summary
    assert summary["files"] == 7 and summary["changed"] == 7 and summary["errors"] == []

    stats = run_json(astrepo_cli, "stats", "--db", db)
    functions = sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                    for p in shop.rglob("*.py") for n in ast.walk(ast.parse(p.read_bytes())))
    assert stats["nodes"]["Function"] == functions
    assert stats["total_nodes"] == summary["nodes"] and stats["total_edges"] == summary["edges"]

    rows = run_json(astrepo_cli, "query", "--db", db, "--cypher",
                    "MATCH (f:Function)-[:CALLS]->(g:Function) WHERE g.name = 'shop.orders.place_order' "
                    "RETURN f.name AS caller ORDER BY caller")
    assert rows["columns"] == ["caller"]
    assert rows["rows"] == [{"caller": "app.main"}, {"caller": "shop.orders.try_order"},
                            {"caller": "tests.test_shop.test_failed_order_takes_nothing"},
                            {"caller": "tests.test_shop.test_order_takes_stock"}]
    every = run_json(astrepo_cli, "query", "--db", db, "--cypher", "MATCH (n) RETURN n.id")
    assert len(every["rows"]) == summary["nodes"]


def test_second_run_is_incremental(shop: Path, tmp_path: Path, astrepo_cli) -> None:
    db = str(tmp_path / "db")
    run_json(astrepo_cli, "index", str(shop), "--db", db, "--no-embed")
    (shop / "shop" / "pricing.py").write_text((shop / "shop" / "pricing.py").read_text() + "\nVAT = 0.2\n")
    again = run_json(astrepo_cli, "index", str(shop), "--db", db, "--no-embed")
    assert (again["changed"], again["modified"]) == (1, 1)


@pytest.mark.parametrize("args, fragment", [
    (("query", "--cypher", "MATCH (n) RETURN n.id"), "no index at"),
    (("query", "--cypher", "MATCH (n) DETACH DELETE n"), "read-only"),
    (("index", "/definitely/not/here"), "is not a folder"),
])
def test_user_errors_are_one_line(tmp_path: Path, astrepo_cli, args, fragment, shop: Path) -> None:
    if "DELETE" in " ".join(args):
        assert astrepo_cli("index", str(shop), "--db", str(tmp_path / "db"), "--no-embed").returncode == 0
    result = astrepo_cli(*args, "--db", str(tmp_path / "db"))
    assert result.returncode == 1
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    as_json = astrepo_cli(*args, "--db", str(tmp_path / "db"), "--json")
    assert json.loads(as_json.stdout)["error"]["message"]


def test_damaged_database_names_the_fix(shop: Path, tmp_path: Path, astrepo_cli) -> None:
    db = tmp_path / "db"
    assert astrepo_cli("index", str(shop), "--db", str(db), "--no-embed").returncode == 0
    current = (db / "graph" / "CURRENT").read_text().strip()
    (db / "graph" / current / "graph.kuzu").write_bytes(b"this is not a database" * 100)
    result = astrepo_cli("stats", "--db", str(db))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "astrepo index --rebuild" in result.stderr
    rebuilt = astrepo_cli("index", str(shop), "--db", str(db), "--rebuild", "--no-embed")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert astrepo_cli("stats", "--db", str(db)).returncode == 0


def test_usage_error_exits_2(astrepo_cli) -> None:
    result = astrepo_cli("index", "--no-such-option")
    assert result.returncode == 2 and "Traceback" not in result.stderr
