"""The planner end to end on the example project (real Kuzu, real traced runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from astrepo.capture.cost import DEFAULT_COSTS, Costs, load_costs, sampled_previews, save_costs
from astrepo.capture.levels import BOUNDARY, DEEP, EXCEPTIONS
from astrepo.capture.plan import PlanOptions, make_plan
from astrepo.capture.plan_document import validate_plan
from astrepo.capture.plan_signals import RunStats, _levels_of_run, compiled_points, load_inputs
from astrepo.capture.points import plan_from_json

pytestmark = pytest.mark.integration


@pytest.fixture
def indexed_shop(shop: Path, astrepo_cli) -> Path:
    proc = astrepo_cli("index", ".", "--no-embed", cwd=shop)
    assert proc.returncode == 0, proc.stderr
    return shop


def _plan(astrepo_cli, cwd: Path, *args: str) -> dict:
    proc = astrepo_cli("plan", "--json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return {**doc, "doc": json.loads((cwd / doc["plan"]).read_text())}


def _kinds(doc: dict, node_id: str) -> set[str]:
    return {p["kind"] for p in doc["points"] if p["node_id"] == node_id}


def _fid(doc: dict, name: str) -> str:
    return next(f["id"] for f in doc["functions"] if f["name"] == name)


def test_three_strategies_nest_and_load(indexed_shop: Path, astrepo_cli) -> None:
    plans = {s: _plan(astrepo_cli, indexed_shop, "--strategy", s) for s in ("minimal", "balanced", "full_trace")}
    counts = {s: p["points"] for s, p in plans.items()}
    assert counts["minimal"] < counts["balanced"] < counts["full_trace"]
    for s, p in plans.items():
        plan = plan_from_json(json.dumps(p["doc"]))  # the runtime reads it
        assert plan.explicit and plan.strategy == s
        assert p["estimate"]["basis"].startswith("model")  # no run yet
        # exceptions everywhere, in every strategy
        for f in p["doc"]["functions"]:
            assert "exception" in _kinds(p["doc"], f["id"]), (s, f["name"])
    bal = _plan(astrepo_cli, indexed_shop, "--strategy", "balanced", "--budget", "1000")["doc"]  # rules, no cap
    main = _fid(bal, "app.main")
    assert _kinds(bal, main) >= {"function_boundary", "exception"}
    check = _fid(bal, "shop.inventory.Inventory._check")
    assert next(f for f in bal["functions"] if f["id"] == check)["level"] == "deep"  # raises
    mini = plans["minimal"]["doc"]
    assert "function_boundary" in _kinds(mini, main)  # entry point
    full = plans["full_trace"]["doc"]
    assert {p["kind"] for p in full["points"]} == {"function_boundary", "exception", "branch", "variable",
                                                  "expression", "line"}


def test_trace_strategy_uses_planner_and_review(indexed_shop: Path, astrepo_cli) -> None:
    proc = astrepo_cli("trace", "--strategy", "balanced", "--", sys.executable, "app.py", cwd=indexed_shop)
    assert proc.returncode == 0, proc.stderr
    assert "order 3: None" in proc.stdout
    runs = json.loads(astrepo_cli("events", "--json", "--kind", "exception", cwd=indexed_shop).stdout)
    plans = list((indexed_shop / ".astrepo" / "plans").glob("balanced-*.json"))
    assert len(plans) == 1
    review = json.loads(astrepo_cli("plan", "--review", "--json", "--baseline-seconds", "0.1",
                                    cwd=indexed_shop).stdout)["review"]
    assert review["plan"].endswith(plans[0].name)
    assert review["events"]["measured"] > 0 and review["nodes"]["compared"] > 5
    assert review["time"]["plain_s"] == 0.1 and "measured_ratio" in review["time"]
    assert review["time"]["probe_priced_capture_ms"] > 0  # the run's own counts, priced with the probe's costs
    assert review["nodes"]["modelled"] > 0 and review["nodes"]["rank_correlation"] is not None
    no_baseline = astrepo_cli("plan", "--review", "--learn", cwd=indexed_shop)
    assert no_baseline.returncode == 1 and "--learn needs" in no_baseline.stderr
    # After a run: statistics are the basis, the raising functions go deep, never-run ones are noted.
    doc = _plan(astrepo_cli, indexed_shop, "--strategy", "balanced", "--explain")
    assert doc["estimate"]["basis"].startswith("run ")
    funcs = {f["name"]: f for f in doc["functions"]}
    assert funcs["shop.inventory.Inventory.take"]["level"] == "deep"
    assert "raised" in funcs["shop.inventory.Inventory.take"]["reason"]
    assert funcs["shop.inventory.Inventory.count"]["known"] and funcs["shop.inventory.Inventory.count"]["calls"] == 3
    assert "never executed" in funcs["shop.inventory.Inventory.add"]["reason"]
    assert runs is not None
    # Learning the in-program factor: measured capture (here: 10 s beyond the fixed costs) / probe-priced.
    from astrepo.capture.review import _in_program_factor
    from astrepo.graph.join import list_ingested

    db = str(indexed_shop / ".astrepo")
    summary = list_ingested(Path(db))[-1]
    learnt = _in_program_factor(db, summary, json.loads(plans[0].read_text()), 10.0, learn=True)
    assert learnt["learnt"] and learnt["in_program_factor"] > 1
    kept = load_costs(db)
    assert kept.factor == learnt["in_program_factor"] and kept.factor_source == f"run {summary['id']}"


def test_exceptions_of_full_trace_kept_by_minimal(indexed_shop: Path, astrepo_cli) -> None:
    def exceptions(strategy: str) -> set:
        proc = astrepo_cli("trace", "--strategy", strategy, "--", sys.executable, "app.py", cwd=indexed_shop)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(astrepo_cli("events", "--kind", "exception", "--json", cwd=indexed_shop).stdout)
        rows = doc.get("events") or doc.get("rows") or []
        return {(r.get("exc_type"), r.get("file"), r.get("line")) for r in rows}

    full = exceptions("full_trace")
    assert full
    assert exceptions("minimal") >= full


def test_budget_target_and_diff(indexed_shop: Path, astrepo_cli) -> None:
    tight = _plan(astrepo_cli, indexed_shop, "--strategy", "balanced", "--budget", "0.0001")
    assert all(f["level"] in ("exceptions", "counted", "timed", "boundary", "deep") for f in tight["doc"]["functions"])
    assert any("budget" in f["reason"] for f in tight["doc"]["functions"])
    assert tight["estimate"]["overhead_pct"] <= 100
    tgt = _plan(astrepo_cli, indexed_shop, "--strategy", "minimal", "--target", "total_price", "--radius", "1")
    funcs = {f["name"]: f for f in tgt["doc"]["functions"]}
    assert funcs["shop.pricing.total_price"]["level"] == "full"
    assert funcs["shop.pricing.price_of"]["level"] == "deep"  # callee
    assert funcs["shop.orders.place_order"]["level"] == "deep"  # caller
    assert funcs["shop.inventory.Inventory.add"]["level"] == "exceptions"
    path_target = _plan(astrepo_cli, indexed_shop, "--strategy", "minimal", "--target", "shop/pricing.py")
    assert {f["level"] for f in path_target["doc"]["functions"] if f["file"] == "shop/pricing.py"} == {"full"}
    # diff: a git repository, one function changed
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], cwd=indexed_shop, check=True)
    subprocess.run(git + ["add", "app.py", "shop", "tests"], cwd=indexed_shop, check=True)
    subprocess.run(git + ["commit", "-qm", "x"], cwd=indexed_shop, check=True)
    src = (indexed_shop / "shop" / "pricing.py").read_text()
    (indexed_shop / "shop" / "pricing.py").write_text(src.replace("return ", "return  ", 1))
    assert astrepo_cli("index", ".", "--no-embed", cwd=indexed_shop).returncode == 0
    d = _plan(astrepo_cli, indexed_shop, "--strategy", "minimal", "--diff", "HEAD")
    changed = [f for f in d["doc"]["functions"] if f["level"] == "full"]
    assert len(changed) == 1 and changed[0]["file"] == "shop/pricing.py"
    assert any("caller of" in f["reason"] for f in d["doc"]["functions"])


def test_stale_nodes_dropped(indexed_shop: Path, astrepo_cli, tmp_path: Path) -> None:
    doc = _plan(astrepo_cli, indexed_shop, "--strategy", "balanced")["doc"]
    doc["points"].append({"node_id": "deadbeefdeadbeef", "kind": "line", "capture": {}, "sampling": None, "reason": ""})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    proc = astrepo_cli("plan", "--check", str(bad), "-o", str(tmp_path / "clean.json"), "--json", cwd=indexed_shop)
    out = json.loads(proc.stdout)
    assert out["stale_dropped"] == 1 and out["stale"] == ["deadbeefdeadbeef"]
    assert "deadbeefdeadbeef" not in (tmp_path / "clean.json").read_text()
    cleaned, stale = validate_plan(doc, {p["node_id"] for p in doc["points"][:-1]})
    assert stale == ["deadbeefdeadbeef"] and cleaned["stale_dropped"] == 1


def test_trace_without_index_keeps_builtin_default(shop: Path, astrepo_cli) -> None:
    proc = astrepo_cli("trace", "--strategy", "minimal", "--no-ingest", "--", sys.executable, "app.py", cwd=shop)
    assert proc.returncode == 0, proc.stderr
    assert not (shop / ".astrepo" / "plans").exists()


def test_costs_roundtrip_and_sampling(tmp_path: Path) -> None:
    assert load_costs(str(tmp_path)) == DEFAULT_COSTS
    save_costs(str(tmp_path), Costs(boundary=123.0, measured=True, machine="x"))
    assert load_costs(str(tmp_path)).boundary == 123.0
    assert sampled_previews(10) == 10 and sampled_previews(32 + 2048) == 34
    assert sampled_previews(100, every=1) == 100


def test_planner_in_process_with_stats_lowers_hot_cheap(indexed_shop: Path) -> None:
    inputs = load_inputs(str(indexed_shop / ".astrepo"), str(indexed_shop))
    count = next(f for f in inputs.functions.values() if f.name == "shop.inventory.Inventory.count")
    inputs.stats = RunStats("r", {"duration_s": 1.0, "processes": 1},
                            {count.id: {"calls": 1_000_000, "mean_ns": 200.0, "exceptions": 0}}, None, 3)
    doc = make_plan(inputs, PlanOptions("balanced"))
    f = next(f for f in doc["functions"] if f["id"] == count.id)
    assert f["level"] in ("counted", "exceptions") and ("hot" in f["reason"] or "budget" in f["reason"])


def test_new_plan_recompiles_only_the_modules_whose_points_changed(indexed_shop: Path, astrepo_cli) -> None:
    """Compiled code is cached per module, keyed by that module's points (each point names its file)."""
    doc = _plan(astrepo_cli, indexed_shop, "--strategy", "balanced")["doc"]
    files = {f["id"]: f["file"] for f in doc["functions"]}
    assert all(p["file"] for p in doc["points"])
    assert all(p["file"] == files[p["node_id"]] for p in doc["points"] if p["node_id"] in files)
    first = indexed_shop / "first.json"
    first.write_text(json.dumps(doc))
    take = _fid(doc, "shop.inventory.Inventory.take")
    second = dict(doc, points=[p for p in doc["points"] if not (p["node_id"] == take and p["kind"] == "function_boundary")])
    (indexed_shop / "second.json").write_text(json.dumps(second))
    cache = indexed_shop / ".astrepo" / "cache" / "capture"

    def trace(plan: str) -> set[str]:
        proc = astrepo_cli("trace", "--plan", plan, "--", sys.executable, "app.py", cwd=indexed_shop)
        assert proc.returncode == 0, proc.stderr
        return {p.name for p in cache.glob("*.code")}

    compiled = trace("first.json")
    assert len(compiled) >= 4  # app.py and the shop modules it imports
    recompiled = trace("second.json") - compiled
    assert len(recompiled) == 1  # shop/inventory.py only
    assert trace("first.json") == compiled | recompiled  # nothing new
    # Every module of a full_trace plan has a key (a nested function's boundary comes twice there).
    full = plan_from_json(json.dumps(_plan(astrepo_cli, indexed_shop, "--strategy", "full_trace")["doc"]))
    assert len({full.module_digest(rel) for rel in set(files.values())}) == len(set(files.values()))
    # A plan whose points do not say their files keys every module by the whole plan.
    (indexed_shop / "third.json").write_text(json.dumps(dict(doc, points=[
        {k: v for k, v in p.items() if k != "file"} for p in doc["points"]])))
    assert len(trace("third.json") - compiled - recompiled) == len(compiled)


def test_module_digest_of_points_repeated_with_other_options() -> None:
    """A node may come twice with one kind (an enclosing function's full capture lists a nested
    function's bare boundary, the nested function its own): the key still orders them."""
    def doc(*points):
        return json.dumps({"format": 1, "strategy": "full_trace", "points": [
            {"node_id": n, "kind": "function_boundary", "file": f, "capture": c} for n, f, c in points]})

    one = plan_from_json(doc(("a", "m.py", {}), ("a", "m.py", {"args": True}), ("b", "n.py", {})))
    two = plan_from_json(doc(("a", "m.py", {}), ("a", "m.py", {"args": True}), ("b", "n.py", {"args": True})))
    assert one.module_digest("m.py") == two.module_digest("m.py")
    assert one.module_digest("n.py") != two.module_digest("n.py")
    assert one.module_digest("other.py") == two.module_digest("other.py")


def test_what_a_run_took_from_its_plan_document() -> None:
    """A run traced with a plan file: its levels and hot loops come from the plan's document, and its
    points count as compiled afresh only on the first run of that plan (read once for both)."""
    doc = {"points": [{"node_id": "a"}, {"node_id": "b"}], "hot_loops": {"n": 12},
           "functions": [{"id": "f", "level": "deep"}, {"id": "g", "level": "nonsense"}, {"level": "full"}]}
    first, second = {"plan": "p.json", "start_ns": 1}, {"plan": "p.json", "start_ns": 2}
    assert compiled_points([first, second], first, doc) == 2
    assert compiled_points([first, second], second, doc) == 0  # the compiled code was cached by then
    assert compiled_points([first], first, None) == 0  # the plan file cannot be read
    assert compiled_points([], {"strategy": "balanced"}, doc) == 0  # a built-in strategy
    assert _levels_of_run("p.json", doc) == ({"f": DEEP, "g": EXCEPTIONS}, EXCEPTIONS, {"n": 12.0})
    assert _levels_of_run("p.json", None) == (None, None, {})
    assert _levels_of_run("balanced", None) == (None, BOUNDARY, {})
