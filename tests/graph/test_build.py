"""The index pipeline against real Kuzu: incremental equals full, bad input, safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from astrepo.errors import IndexLocked
from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.dump import dump_graph
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout

pytestmark = pytest.mark.integration


def dump(db_dir: Path) -> list[str]:
    db = GraphStore(Layout(db_dir)).open_read()
    try:
        return dump_graph(db)
    finally:
        db.close()


def index(root: Path, db_dir: Path, **kw):
    return build_index(IndexConfig(root=root, db_dir=db_dir, **kw))


def test_incremental_equals_full_rebuild(shop: Path, tmp_path: Path) -> None:
    inc = tmp_path / "inc.astrepo"
    first = index(shop, inc)
    assert first.full and first.files == first.added
    # Modify one file, add one, delete one.
    pricing = shop / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text() + "\n\ndef free(lines):\n    return total_price(lines, 100)\n")
    (shop / "shop" / "returns.py").write_text(
        "from .inventory import Inventory\n\n\ndef give_back(inv: Inventory, sku):\n    inv.add(sku, 1)\n")
    (shop / "tests" / "test_shop.py").unlink()
    second = index(shop, inc)
    assert (second.full, second.added, second.modified, second.deleted) == (False, 1, 1, 1)
    assert dump(inc) == dump_of_full_rebuild(shop, tmp_path / "full.astrepo")
    # Nothing changed: no new generation, same graph.
    third = index(shop, inc)
    assert third.changed == 0 and third.nodes == second.nodes
    assert dump(inc) == dump_of_full_rebuild(shop, tmp_path / "full2.astrepo")


def dump_of_full_rebuild(root: Path, db_dir: Path) -> list[str]:
    index(root, db_dir, rebuild=True)
    return dump(db_dir)


def test_changed_callee_file_updates_cross_file_edges(shop: Path, tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    index(shop, db_dir)
    inventory = shop / "shop" / "inventory.py"
    inventory.write_text(inventory.read_text().replace("def count(self, sku: str)", "def amount(self, sku: str)")
                         .replace("self.count(sku)", "self.amount(sku)"))
    index(shop, db_dir)
    assert dump(db_dir) == dump_of_full_rebuild(shop, tmp_path / "full")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("row_by_row", [0, 16, 10**9], ids=["load-from", "default", "row-by-row"])
def test_every_kind_of_edit_in_a_row_matches_a_full_rebuild(shop: Path, tmp_path: Path, row_by_row: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Incremental runs one after another (each patching the previous generation) equal full rebuilds,
    whether the delta's rows go in through LOAD FROM, one statement each, or as they go by default."""
    from astrepo.graph import delta
    from astrepo.graph.rowcache import MAX_SEGMENTS, ROWS_DIR

    monkeypatch.setattr(delta, "ROW_BY_ROW", row_by_row)

    pkg = shop / "shop"
    original_tests = (shop / "tests" / "test_shop.py").read_text()
    edits = [
        ("append a function", lambda: _edit(pkg / "pricing.py", "    return discount(total, percent) if percent else total\n",
                                              "    return discount(total, percent) if percent else total\n\n\n"
                                              "def free(lines):\n    return total_price(lines, 100)\n")),
        ("rename a method called from other files",
         lambda: _edit(pkg / "inventory.py", "def count(self, sku: str)", "def amount(self, sku: str)")),
        ("add a file", lambda: (pkg / "returns.py").write_text(
            "from .inventory import Inventory\nfrom .orders import place_order\n\n\n"
            "def give_back(inv: Inventory, sku):\n    inv.add(sku, 1)\n    return place_order(inv, [(sku, 1)])\n")),
        ("delete a file", lambda: (shop / "tests" / "test_shop.py").unlink()),
        ("insert lines above everything", lambda: _edit(pkg / "orders.py", '"""Placing orders',
                                                        '# moved\n# down\n\n"""Placing orders')),
        ("change what a function raises (may-raise elsewhere)",
         lambda: _edit(pkg / "inventory.py", "raise OutOfStock(sku)", "raise LookupError(sku)")),
        ("change a call target in another file", lambda: _edit(pkg / "returns.py", "inv.add(sku, 1)", "inv.take(sku, 1)")),
        ("delete the added file", lambda: (pkg / "returns.py").unlink()),
        ("bring a deleted file back", lambda: (shop / "tests" / "test_shop.py").write_text(original_tests)),
        ("break a file", lambda: (pkg / "broken.py").write_text("def ok():\n    return 1\n\ndef bad(:\n    pass\n")),
        ("fix it", lambda: (pkg / "broken.py").write_text("def ok():\n    return 2\n")),
        ("a new exception type", lambda: _edit(pkg / "pricing.py", "    return PRICES[sku]",
                                               "    if sku == 'gold':\n        raise OverflowError(sku)\n    return PRICES[sku]")),
        ("and gone again", lambda: _edit(pkg / "pricing.py", "    if sku == 'gold':\n        raise OverflowError(sku)\n", "")),
        ("rename a module-level function", lambda: _edit(pkg / "pricing.py", "def free(lines)", "def gratis(lines)")),
    ]
    assert len(edits) > MAX_SEGMENTS  # the segments of the row cache get merged on the way
    inc = tmp_path / "inc"
    index(shop, inc)
    for what, edit in edits:
        edit()
        summary = index(shop, inc)
        assert not summary.full and summary.changed, what
        rebuilt = index(shop, tmp_path / "full", rebuild=True)
        assert dump(inc) == dump(tmp_path / "full"), what
        assert (summary.node_counts, summary.edge_counts) == (rebuilt.node_counts, rebuilt.edge_counts), what
        current = GraphStore(Layout(inc)).current_path()
        segments = [p for p in (current / ROWS_DIR).iterdir() if p.is_dir() and p.name != "global"]
        assert 1 <= len(segments) <= MAX_SEGMENTS, what
    # Unchanged files' rows are not rewritten: the oldest segment is shared with the previous generation.
    oldest = min(segments)
    assert all(f.stat().st_nlink >= 2 for f in oldest.iterdir()) or oldest.name.startswith(current.name)


def test_many_deleted_nodes_mean_a_full_load_with_the_same_result(shop: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_DELTA_DELETES deleted nodes, an incremental run loads an empty database in full."""
    from astrepo.graph import generation

    db_dir = tmp_path / "db"
    index(shop, db_dir)
    monkeypatch.setattr(generation, "MAX_DELTA_DELETES", 0)
    _edit(shop / "shop" / "pricing.py", "def price_of(sku):", "def unit_price(sku):")
    summary = index(shop, db_dir)
    assert not summary.full
    rebuilt = index(shop, tmp_path / "full", rebuild=True)
    assert dump(db_dir) == dump(tmp_path / "full")
    assert (summary.node_counts, summary.edge_counts) == (rebuilt.node_counts, rebuilt.edge_counts)
    monkeypatch.setattr(generation, "MAX_DELTA_DELETES", 10**9)
    _edit(shop / "shop" / "pricing.py", "def unit_price(sku):", "def price(sku):")
    index(shop, db_dir)  # and the next run patches what the full load wrote
    assert dump(db_dir) == dump_of_full_rebuild(shop, tmp_path / "full2")


def test_a_database_grown_by_deltas_is_loaded_in_full_again(shop: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Once deltas have grown the database past MAX_GROWTH times its size when last loaded in
    full, an incremental run loads an empty one in full (same graph), and growth counts from it."""
    from astrepo.graph import generation, store

    db_dir = tmp_path / "db"
    index(shop, db_dir)
    reloads = []
    real_reload = generation._reload_generation
    monkeypatch.setattr(generation, "_reload_generation", lambda *a, **k: reloads.append(1) or real_reload(*a, **k))
    states = GraphStore(Layout(db_dir))
    _edit(shop / "shop" / "pricing.py", "def price_of(sku):", "def unit_price(sku):")
    index(shop, db_dir)  # patched: the size it was loaded at is recorded
    fresh_bytes = states.read_state()[1]["fresh_bytes"]
    assert not reloads and fresh_bytes == (states.current_path().parent / "gen-000001" / "graph.kuzu").stat().st_size
    monkeypatch.setattr(store, "MAX_GROWTH", 0.5)  # any size is too large now
    _edit(shop / "shop" / "pricing.py", "def unit_price(sku):", "def price(sku):")
    summary = index(shop, db_dir)
    assert reloads and not summary.full and states.read_state()[1]["fresh_bytes"] is None
    assert dump(db_dir) == dump_of_full_rebuild(shop, tmp_path / "full")
    monkeypatch.setattr(store, "MAX_GROWTH", 1.5)
    _edit(shop / "shop" / "pricing.py", "def price(sku):", "def price_of(sku):")
    index(shop, db_dir)  # patches what the full load wrote
    assert len(reloads) == 1 and states.read_state()[1]["fresh_bytes"]
    assert dump(db_dir) == dump_of_full_rebuild(shop, tmp_path / "full2")


def test_a_current_graph_of_another_schema_means_a_full_run(shop: Path, tmp_path: Path) -> None:
    """An incremental run patches a copy of the current database: only one of this schema will do."""
    db_dir = tmp_path / "db"
    index(shop, db_dir)
    current = GraphStore(Layout(db_dir)).current_path()
    (current / "schema.json").write_text('{"schema_version": 1}')
    _edit(shop / "shop" / "pricing.py", "def price_of(sku):", "def unit_price(sku):")
    assert index(shop, db_dir).full
    assert dump(db_dir) == dump_of_full_rebuild(shop, tmp_path / "full")


def test_bad_files_are_reported_and_the_rest_is_indexed(shop: Path, tmp_path: Path) -> None:
    (shop / "broken.py").write_text("def ok():\n    return 1\n\ndef bad(:\n    pass\n")
    (shop / "blob.py").write_bytes(b"\x00\x01\x02binary")
    (shop / "huge.py").write_text("x = 1\n" * 2000)
    (shop / "latin.py").write_bytes("# -*- coding: latin-1 -*-\ndef caf\xe9():\n    return 'caf\xe9'\n".encode("latin-1"))
    summary = index(shop, tmp_path / "db", max_bytes=5000)
    assert {(r["path"], r["line"]) for r in summary.errors} == {("broken.py", 4)}
    reasons = {r["path"]: r["message"] for r in summary.skipped}
    assert "binary" in reasons["blob.py"] and "size cap" in reasons["huge.py"]
    db = GraphStore(Layout(tmp_path / "db")).open_read()
    try:
        _, rows = db.execute("MATCH (f:Function) WHERE f.file IN ['broken.py', 'latin.py'] RETURN f.name ORDER BY f.name")
    finally:
        db.close()
    # tree-sitter recovers `def bad(:` too; what matters is that the good parts are there.
    assert {"broken.ok", "latin.café"} <= {r[0] for r in rows}


def test_a_second_writer_fails_at_once(shop: Path, tmp_path: Path) -> None:
    # The lock is a POSIX record lock, owned per process: hold it from another process.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from astrepo.layout import Layout, WriterLock;"
         " lock = WriterLock(Layout(Path(sys.argv[1]))); lock.acquire(); print('held', flush=True); time.sleep(60)",
         str(tmp_path / "db")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLocked, match="another astrepo process"):
            index(shop, tmp_path / "db")
    finally:
        holder.kill()
        holder.wait()
    index(shop, tmp_path / "db")  # the lock dies with its holder


def make_medium_project(root: Path, modules: int = 160) -> None:
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for i in range(modules):
        body = [f"from pkg.m{max(i - 1, 0)} import f0 as prev\n"]
        for j in range(40):
            body.append(f"def f{j}(x):\n    if x > {j}:\n        return prev(x - 1) + len([x])\n    return x\n\n")
        (pkg / f"m{i}.py").write_text("".join(body))


@pytest.mark.slow
@pytest.mark.slow
def test_killed_incremental_runs_leave_the_previous_graph_intact(tmp_path: Path) -> None:
    """An incremental run patches a copy of the current database: killed at any point, the
    published graph is the previous one or the complete new one."""
    root = tmp_path / "proj"
    make_medium_project(root)
    db_dir = tmp_path / "db"
    index(root, db_dir)
    previous = dump(db_dir)
    published = 0
    for i, delay in enumerate((0.3, 0.8, 1.3, 1.9, 2.6, 3.5)):
        (root / "pkg" / "m3.py").write_text(f"from pkg.m2 import f{i} as g\n\ndef changed_{i}(x):\n    return g(x)\n")
        proc = subprocess.Popen([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db_dir),
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = dump(db_dir)
        if now != previous:
            assert now == dump_of_full_rebuild(root, tmp_path / f"reference{i}"), f"partial graph after SIGKILL at {delay}s"
            published += 1
        previous = now
    # What the killed runs left behind does not spoil the next one.
    summary = index(root, db_dir)
    assert not summary.full
    assert dump(db_dir) == dump_of_full_rebuild(root, tmp_path / "reference")


def holds_lock(pid: int, lock: Path, timeout: float = 60.0) -> None:
    """Wait until process ``pid`` has the writer lock file open (Linux: /proc/PID/fd)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            fds = []
        if str(lock.resolve()) in fds:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never opened {lock}")


def test_killed_runs_leave_the_previous_graph_intact(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    make_medium_project(root)
    db_dir = tmp_path / "db"
    index(root, db_dir)
    before = dump(db_dir)
    (root / "pkg" / "m3.py").write_text("def changed():\n    return 1\n")
    after = dump_of_full_rebuild(root, tmp_path / "reference")
    assert after != before
    # Killed at any point, the graph is the old one or the complete new one, never partial.
    outcomes = []
    for delay in (0.2, 0.5, 0.9, 1.4, 2.0, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db_dir),
                                 "--rebuild", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = dump(db_dir)
        assert now in (before, after), f"partial graph after SIGKILL at {delay}s"
        outcomes.append(now == before)
    assert outcomes[0], "the earliest kill should have left the old graph"
    # Worker processes of a killed run exit too (they watch their parent).
    time.sleep(2.5)
    leftover = subprocess.run(["pgrep", "-f", f"index {root}"], capture_output=True, text=True).stdout.split()
    assert leftover == [], f"orphaned index workers: {leftover}"
    # Ctrl-C: exit 130 with one line and no traceback, graph old or new.
    proc = subprocess.Popen([sys.executable, "-m", "astrepo.cli.app", "index", str(root), "--db", str(db_dir),
                             "--rebuild"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Interrupt the indexing, not the interpreter's own start-up (no Python code of ours runs
    # there; on a loaded machine it can take more than a second): wait until the run holds the lock.
    holds_lock(proc.pid, Layout(db_dir).lock_path)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err
    assert dump(db_dir) in (before, after)
    # A second writer is refused while one runs (the lock is per process, so use another one).
    index(root, db_dir)
    assert dump(db_dir) == after


def test_ingested_runs_patch_the_current_generation_into_what_a_rebuild_loads(shop: Path, astrepo_cli,
                                                                              monkeypatch) -> None:
    from astrepo.graph import build

    db_dir = shop / ".astrepo"
    assert astrepo_cli("index", ".", "--no-embed", cwd=shop).returncode == 0
    # Two traced runs, each ingested by `astrepo trace` (a copy of the current graph plus the runtime rows).
    for strategy in ("full_trace", "balanced"):
        proc = astrepo_cli("trace", "--strategy", strategy, "--", sys.executable, "app.py", cwd=shop)
        assert proc.returncode == 0, proc.stderr
    traced = dump(db_dir)
    assert sum(line.startswith("Run ") for line in traced) == 2
    # An edit, then republishing again in-process: no project is derived again, nothing is lost.
    pricing = shop / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text() + "\n\ndef added():\n    return 1\n")
    index(shop, db_dir)
    layout = Layout(db_dir)

    def no_derivation(*args):
        raise AssertionError("republishing derived the project again")

    monkeypatch.setattr(build, "derive_project", no_derivation)
    runtime = build.republish_current(layout, GraphStore(layout))
    assert runtime is not None and runtime["runs"] == 2
    patched = dump(db_dir)
    monkeypatch.undo()
    index(shop, db_dir, rebuild=True)
    assert patched == dump(db_dir)
    assert traced != patched  # the edit is in
