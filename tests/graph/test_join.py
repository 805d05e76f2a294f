"""The runtime join: exception occurrences, per-node statistics, runs in every generation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from astrepo.capture.bootstrap import trace_environment, write_bootstrap
from astrepo.graph.join import RunInfo, join_run

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent('''
    class Oops(ValueError):
        pass


    def inner(n):
        if n > 2:
            raise Oops(f"too big: {n}")
        return n * 2


    def middle(n):
        return inner(n) + 1


    def outer(values):
        out = []
        for v in values:
            try:
                out.append(middle(v))
            except Oops:
                out.append(-1)
        return out


    def never():
        return "unused"


    def rethrow():
        try:
            middle(5)
        except Oops:
            raise


    print(outer([1, 2, 3]))
    try:
        rethrow()
    except ValueError as err:
        print("caught", err)
''')


def trace_program(tmp_path: Path, strategy: str = "full_trace") -> tuple[Path, Path]:
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "prog.py").write_text(PROGRAM)
    db = tmp_path / "db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env = trace_environment(base, write_bootstrap(str(db / "bootstrap")), str(project), str(db), "run1",
                            None, strategy)
    proc = subprocess.run([sys.executable, "prog.py"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return project, db / "events" / "run1"


def rows_of(table) -> list[dict]:
    return table.to_pylist()


def test_join_groups_exception_occurrences_and_counts_nodes(tmp_path: Path) -> None:
    project, run_dir = trace_program(tmp_path)
    rows = join_run(str(run_dir), RunInfo(command="python prog.py", root=str(project), exit_code=0))
    events = sorted(rows_of(rows.nodes["Event"]), key=lambda r: r["ts_ns"])
    # outer(3): raised in inner, left inner and middle, caught in outer.
    # rethrow(): raised in inner, left inner, middle, caught and re-raised in rethrow, caught at module level.
    assert [(e["exc_type"], e["message"], e["outcome"], e["frames"]) for e in events] == [
        ("__main__.Oops", "too big: 3", "caught", 2),
        ("__main__.Oops", "too big: 5", "caught", 3),
    ]
    assert all(e["file"] == "prog.py" and e["line"] == 8 for e in events)
    observed = rows_of(rows.edges[("OBSERVED_AT", "Event", "Function")])
    first = [r for r in observed if r["from"] == events[0]["id"]]
    assert [r["role"] for r in first] == ["propagated", "propagated"]
    caught = rows_of(rows.edges[("OBSERVED_AT", "Event", "Stmt")])
    assert sorted(r["role"] for r in caught if r["from"] == events[1]["id"]) == ["caught", "caught"]
    stats = {r["name"]: r for r in rows_of(rows.nodes["RuntimeStat"]) if r["node_kind"] == "function"}
    assert stats["inner"]["calls"] == 4 and stats["inner"]["exceptions"] == 2
    assert stats["inner"]["arg_types"] == ["arg0: int"]  # no graph index given: positions
    assert stats["inner"]["return_types"] == ["int"]
    assert stats["middle"]["max_ns"] >= stats["middle"]["mean_ns"] > 0
    branch = [r for r in rows_of(rows.nodes["RuntimeStat"]) if r["node_kind"] == "if"][0]
    assert (branch["taken"], branch["not_taken"]) == (2, 2)
    # Lines that never ran are rows with zero hits.
    assert stats["never"]["calls"] == 0
    assert [r["hits"] for r in rows_of(rows.nodes["RuntimeStat"]) if r["node_kind"] == "return"
            and r["name"] == "never"] == [0]
    calls = {(r["from"], r["to"]) for r in rows_of(rows.edges[("CALLS", "Function", "Function")])}
    assert len(calls) == 3  # outer->middle, middle->inner, rethrow->middle
    run = rows_of(rows.nodes["Run"])[0]
    assert (run["command"], run["exit_code"], run["exceptions"]) == ("python prog.py", 0, 2)


LOOPS = textwrap.dedent('''
    def parse(text):
        return int(text)


    def total(items):
        acc = 0
        for item in items:
            try:
                acc += parse(item)
            except ValueError:
                acc -= 1
        return acc


    def gen(n):
        for i in range(n):
            yield parse(str(i))


    print(total([str(i) if i % 7 else "x" for i in range(3000)]), sum(gen(500)))
''')


def test_aggregated_join_matches_decoded_events(tmp_path: Path, monkeypatch) -> None:
    """The join counts frames without decoding them: the same totals as counting decoded events."""
    from collections import Counter

    from astrepo.capture.events import read_run
    import astrepo.graph.join as join

    project = tmp_path / "proj"
    project.mkdir()
    (project / "prog.py").write_text(LOOPS)
    db = tmp_path / "db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env = trace_environment(base, write_bootstrap(str(db / "bootstrap")), str(project), str(db), "run1",
                            None, "full_trace")
    proc = subprocess.run([sys.executable, "prog.py"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    run_dir = db / "events" / "run1"
    monkeypatch.setattr(join, "MAX_EVENTS_PER_SITE", 10)
    rows = join_run(str(run_dir), RunInfo(root=str(project)))
    events, _ = read_run(str(run_dir))
    by_kind = Counter(e.kind for e in events)
    doc = rows.summary
    assert doc["event_counts"] == dict(sorted(by_kind.items()))
    stats = {r["node"]: r for r in rows.nodes["RuntimeStat"].to_pylist()}
    expect: dict = {}
    for e in events:
        s = expect.setdefault(e.node_id, Counter())
        s[e.kind] += 1
        if e.kind == "branch":
            s["taken" if e.data["taken"] else "not_taken"] += 1
        if e.duration_ns is not None:
            s["total_ns"] += e.duration_ns
    for node_id, s in expect.items():
        row = stats[node_id]
        assert row["calls"] == s["call"]
        assert row["exceptions"] == s["exception"] + s["caught"]
        assert row["hits"] == max(s["line"] + s["value"] + s["caught"], s["variable"])
        assert (row["taken"], row["not_taken"]) == (s["taken"], s["not_taken"])
        assert row["total_ns"] == s["total_ns"]
    # 429 ValueErrors raised in one place: 10 stored as Event rows, all counted, the rest noted.
    assert doc["exceptions"] == 429 and len(rows.nodes["Event"]) == 10 and doc["exceptions_not_stored"] == 419
    assert "419 of 429 exception occurrences" in doc["note"]


def cypher(astrepo_cli, cwd: Path, query: str) -> list[dict]:
    proc = astrepo_cli("query", "--cypher", query, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["rows"]


def test_trace_publishes_runs_and_index_keeps_them(shop: Path, astrepo_cli) -> None:
    assert astrepo_cli("index", ".", "--no-embed", "--json", cwd=shop).returncode == 0
    for strategy in ("full_trace", "balanced"):
        proc = astrepo_cli("trace", "--strategy", strategy, "--", sys.executable, "app.py", cwd=shop)
        assert proc.returncode == 0, proc.stderr
        assert "order 3: None" in proc.stdout
    runs = cypher(astrepo_cli, shop, "MATCH (r:Run) RETURN r.id AS id, r.strategy AS s, r.plan AS p, "
                  "r.exceptions AS x, r.exceptions_stored AS kept ORDER BY r.id")
    # With an index, `--strategy S` runs the planner: the run records the plan file it wrote (plans/S-*.json).
    assert [(r["s"], Path(r["p"]).name.split("-")[0], r["x"], r["kept"]) for r in runs] == [
        ("full_trace", "full_trace", 1, 1), ("balanced", "balanced", 1, 1)]
    latest = runs[-1]["id"]
    # One occurrence: raised in Inventory.take, re-raised by place_order, caught in try_order.
    path = cypher(astrepo_cli, shop, "MATCH (e:Event {run: $run})-[o:OBSERVED_AT]->(n) "
                  "RETURN o.role AS role, n.name AS name, n.start_line AS line ORDER BY o.position"
                  .replace("$run", f"'{latest}'"))
    assert [p["role"] for p in path] == ["raised", "propagated", "caught", "propagated", "caught"]
    assert path[1]["name"] == "shop.inventory.Inventory.take"
    stat = cypher(astrepo_cli, shop, "MATCH (s:RuntimeStat)-[:STAT_OF]->(f:Function {name: 'shop.pricing.price_of'}) "
                  "RETURN s.run AS run, s.calls AS calls, s.arg_types AS args")
    assert sorted((s["calls"], tuple(s["args"])) for s in stat) == [(3, ("sku: str",))] * 2
    # Edit a traced function away: the next index drops its rows as stale and keeps the rest.
    pricing = shop / "shop" / "pricing.py"
    text = pricing.read_text()
    pricing.write_text(text.replace("def price_of(", "def price_of_renamed(").replace("price_of(sku)", "price_of_renamed(sku)"))
    proc = astrepo_cli("index", ".", "--no-embed", "--json", cwd=shop)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["runtime"]["runs"] == 2 and summary["runtime"]["stale"] > 0
    assert len(cypher(astrepo_cli, shop, "MATCH (r:Run) RETURN r.id")) == 2
    assert cypher(astrepo_cli, shop, "MATCH (s:RuntimeStat)-[:STAT_OF]->(f:Function {name: 'shop.pricing.price_of'}) "
                  "RETURN s.id") == []
    assert cypher(astrepo_cli, shop, "MATCH (s:RuntimeStat)-[:STAT_OF]->(f:Function {name: 'shop.orders.place_order'}) "
                  "RETURN count(*) AS n")[0]["n"] == 2


def test_runs_ingested_before_the_plan_column_still_load(tmp_path: Path) -> None:
    """Rows format 1 kept a planned run's plan file in ``strategy`` and had no ``exceptions_stored``."""
    import pyarrow as pa

    from astrepo.graph.join import load_runtime_rows, run_plan_file
    from astrepo.graph.rowcache import write_table

    plan = tmp_path / "plans" / "balanced-1.json"
    plan.parent.mkdir()
    plan.write_text(json.dumps({"format": 1, "strategy": "balanced", "points": []}))
    old = {"id": "r1", "command": "python app.py", "root": "/p", "strategy": str(plan), "start_ns": 1,
           "start": "", "duration_s": 1.0, "exit_code": 0, "processes": 1, "events": 10, "calls": 2,
           "exceptions": 3, "overflow": 0, "errors": 0}
    rows_dir = tmp_path / "db" / "runs" / "r1"
    rows_dir.mkdir(parents=True)
    write_table(rows_dir / "node.Run.arrow", pa.table({k: [v] for k, v in old.items()}))
    (rows_dir / "run.json").write_text(json.dumps(dict(old, format=1)))
    loaded = load_runtime_rows(tmp_path / "db", pa.array([], type=pa.string()))
    (run,) = pa.concat_tables(loaded.nodes["Run"]).to_pylist()
    assert (run["strategy"], run["plan"], run["exceptions_stored"]) == ("balanced", str(plan), 3)
    assert run_plan_file(old) == str(plan) and run_plan_file({"strategy": "minimal"}) == ""
