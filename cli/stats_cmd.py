"""``astrepo stats``: how many nodes and edges of each kind the graph holds."""

from __future__ import annotations

from pathlib import Path

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION, layout_for
from astrepo.cli.render import emit_json, print_table


def stats(db: Path = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Counts per node and relationship table of the current graph."""
    from astrepo.graph.read import graph_counts

    nodes, edges = graph_counts(layout_for(db))
    if as_json:
        emit_json({"nodes": nodes, "edges": edges, "total_nodes": sum(nodes.values()),
                   "total_edges": sum(edges.values())})
        return
    rows = [[k, "node", f"{v:,}"] for k, v in nodes.items()] + [[k, "edge", f"{v:,}"] for k, v in edges.items()]
    print_table("astrepo stats", ["table", "type", "rows"], rows)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
