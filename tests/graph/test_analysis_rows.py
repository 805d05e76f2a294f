"""Project-wide analyses (graph.analysis_rows): the Function columns joined from each analysis, the
child's share computed in a forked child equals it computed in-process, and `ChildWork` falls back
to computing in the caller."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Callable

import pytest

from astrepo.analyzers.callgraph import Resolution
from astrepo.analyzers.metrics import project_metrics, propagate_impurity
from astrepo.graph import analysis_rows
from astrepo.graph.analysis_rows import ChildWork, analyze_project, overriding_methods
from astrepo.graph.build import resolve_modules
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout


def test_child_work_result_comes_from_the_child() -> None:
    parent = os.getpid()
    child = ChildWork(lambda: (os.getpid(), [1, "x", (2.5, None)]))
    pid, value = child.result()
    assert pid != parent
    assert value == [1, "x", (2.5, None)]
    child.cancel()  # a no-op: reaped already


def test_without_fork_work_runs_here() -> None:
    assert ChildWork(os.getpid, fork=False).result() == os.getpid()


def test_failed_child_falls_back_to_the_caller() -> None:
    parent = os.getpid()

    def work() -> str:
        if os.getpid() != parent:
            raise RuntimeError("fails in the child only")
        return "computed here"

    assert ChildWork(work).result() == "computed here"


def test_hung_child_is_killed_and_the_work_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_rows, "CHILD_TIMEOUT", 0.5)
    parent = os.getpid()

    def work() -> str:
        if os.getpid() != parent:
            time.sleep(120)
        return "computed here"

    child = ChildWork(work)
    pid = child.pid
    assert pid is not None
    assert child.result() == "computed here"
    with pytest.raises(ChildProcessError):  # killed and reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def test_cancel_stops_a_running_child() -> None:
    child = ChildWork(lambda: time.sleep(120))
    pid = child.pid
    assert pid is not None
    child.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _shop_inputs(shop: Path, tmp_path: Path, astrepo_cli: Callable) -> tuple[list, Resolution, list]:
    """The shop fixture indexed by the CLI: its files' analysis inputs, resolution and modules."""
    db = tmp_path / "db"
    proc = astrepo_cli("index", str(shop), "--db", str(db), "--no-embed", "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    state, _ = GraphStore(Layout(db)).read_state()
    resolution, modules = resolve_modules({p: pickle.loads(d) for p, d in state.inputs.items()})
    return [pickle.loads(state.analysis_inputs[p]) for p in sorted(state.analysis_inputs)], resolution, modules


def test_project_analysis_is_the_same_with_the_child_share_in_a_child(
        shop: Path, tmp_path: Path, astrepo_cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, resolution, modules = _shop_inputs(shop, tmp_path, astrepo_cli)

    forks = []
    real_fork = os.fork

    def counted_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(analysis_rows.os, "fork", counted_fork)
    monkeypatch.setattr(analysis_rows, "MIN_EDGES_FOR_CHILD", 10**9)
    here = analyze_project(inputs, resolution.edges, modules)
    assert not forks
    monkeypatch.setattr(analysis_rows, "MIN_EDGES_FOR_CHILD", 0)
    forked = analyze_project(inputs, resolution.edges, modules)
    assert len(forks) == 1

    assert any("pagerank" in c for c in here.function_columns.values())
    assert any(c.get("impure_via_calls") for c in here.function_columns.values())
    assert forked.function_columns == here.function_columns
    assert forked.may_raise == here.may_raise and forked.flows == here.flows
    assert forked.partial == here.partial


def test_project_analysis_joins_the_call_graph_columns(shop: Path, tmp_path: Path, astrepo_cli: Callable) -> None:
    """The Function columns hold `project_metrics`' rows, `propagate_impurity`'s and
    `overriding_methods`' functions, and the may-raise types of the MAY_RAISE edges."""
    inputs, resolution, modules = _shop_inputs(shop, tmp_path, astrepo_cli)
    project = analyze_project(inputs, resolution.edges, modules)
    columns = project.function_columns

    metrics = project_metrics(resolution.edges)
    assert metrics and any(m.pagerank for m in metrics)
    for m in metrics:
        assert (columns[m.id]["fan_in"], columns[m.id]["fan_out"], columns[m.id]["pagerank"],
                columns[m.id]["recursion"]) == (m.fan_in, m.fan_out, m.pagerank, m.recursion)
    functions = [f for _, rows, _ in inputs for f in rows]
    impure = propagate_impurity(functions, resolution.edges)
    assert impure and {f for f, c in columns.items() if c.get("impure_via_calls")} == impure
    overrides = overriding_methods(modules, resolution.edges)
    assert {f for f, c in columns.items() if c.get("overrides")} == overrides
    raised: dict[str, list[str]] = {}
    for edge in project.may_raise:
        raised.setdefault(edge.src, []).append(dict(edge.attrs)["origin"])
    assert raised and all(len(columns[f]["may_raise"]) == len(origins) for f, origins in raised.items())
