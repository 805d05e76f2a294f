"""Project-wide analyses (graph.analysis_rows): the Function columns joined from each analysis."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable

from astrepo.analyzers.metrics import project_metrics, propagate_impurity
from astrepo.graph.analysis_rows import analyze_project, overriding_methods
from astrepo.graph.build import resolve_modules
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout


def test_project_analysis_joins_the_call_graph_columns(shop: Path, tmp_path: Path, astrepo_cli: Callable) -> None:
    """The Function columns hold `project_metrics`' rows, `propagate_impurity`'s and
    `overriding_methods`' functions, and the may-raise types of the MAY_RAISE edges."""
    db = tmp_path / "db"
    proc = astrepo_cli("index", str(shop), "--db", str(db), "--no-embed", "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    state, _ = GraphStore(Layout(db)).read_state()
    resolution, modules = resolve_modules({p: pickle.loads(d) for p, d in state.inputs.items()})
    inputs = [pickle.loads(state.analysis_inputs[p]) for p in sorted(state.analysis_inputs)]
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
