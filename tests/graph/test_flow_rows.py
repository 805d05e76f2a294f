"""Interprocedural data flow in the graph: PASSES (argument -> parameter) and RETURNS_TO (return -> call site),
indexed by the real CLI and read back with Cypher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable


def cypher(run_astrepo: Callable, db: Path, query: str) -> list[dict]:
    proc = run_astrepo("query", "--db", str(db), "--cypher", query, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["rows"]


def test_arguments_and_returns_flow_across_files(shop: Path, tmp_path: Path, astrepo_cli: Callable) -> None:
    db = tmp_path / "db"
    proc = astrepo_cli("index", str(shop), "--db", str(db), "--no-embed", "-q", "--json")
    assert proc.returncode == 0, proc.stderr

    # app.main calls place_order(inventory, [...]) and place_order(inventory, [...], percent=10) (lines 11, 12).
    passes = cypher(astrepo_cli, db, "MATCH (c:CallSite)-[p:PASSES]->(x:Parameter) "
                        "WHERE c.file = 'app.py' AND x.name STARTS WITH 'shop.orders.place_order.' "
                        "RETURN c.start_line AS line, p.argument AS arg, x.name AS param")
    assert sorted((r["line"], r["arg"], r["param"].rsplit(".", 1)[1]) for r in passes) == [
        (11, "0", "inventory"), (11, "1", "lines"),
        (12, "0", "inventory"), (12, "1", "lines"), (12, "percent", "percent"),
    ]
    # A method call binds after the receiver: Inventory({...}) reaches __init__'s `items`, not `self`.
    init = cypher(astrepo_cli, db, "MATCH (c:CallSite)-[p:PASSES]->(x:Parameter) WHERE c.file = 'app.py' "
                      "AND x.name STARTS WITH 'shop.inventory.Inventory.__init__.' RETURN p.argument AS arg, x.name AS param")
    assert [(r["arg"], r["param"].rsplit(".", 1)[1]) for r in init] == [("0", "items")]

    # The one `return` of Inventory.count flows to every call site resolved to it, in any file.
    returns = cypher(astrepo_cli, db, "MATCH (s:Stmt)-[:RETURNS_TO]->(c:CallSite) "
                         "WHERE s.file = 'shop/inventory.py' AND s.start_line = 16 "
                         "RETURN c.file AS file, c.start_line AS line")
    calls = cypher(astrepo_cli, db, "MATCH (c:CallSite)-[:CALLS]->(f:Function {name: 'shop.inventory.Inventory.count'}) "
                       "RETURN c.file AS file, c.start_line AS line")
    assert calls, "Inventory.count has resolved callers"
    assert sorted((r["file"], r["line"]) for r in returns) == sorted((r["file"], r["line"]) for r in calls)
    assert ("app.py", 14) in {(r["file"], r["line"]) for r in returns}
