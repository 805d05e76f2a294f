"""``astrepo export``: the graph in other tools' formats."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION

export_app = typer.Typer(help="Export the graph in other tools' formats.", no_args_is_help=True)


@export_app.command("callgraph")
def callgraph(
    fmt: str = typer.Option("pycg", "--format", help="Output format: pycg."),
    root: Optional[Path] = typer.Option(None, "--root", help="Index this folder first if it has no graph yet "
                                                              "(its graph goes to ROOT/.astrepo unless --db is given)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
    db: Path = DB_OPTION,
) -> None:
    """Write the call graph (PyCG's JSON: caller -> list of callees)."""
    from astrepo.errors import ConfigError
    from astrepo.layout import DEFAULT_DB_DIR, Layout
    from astrepo.graph.export import pycg_callgraph
    from astrepo.graph.store import GraphStore

    if fmt != "pycg":
        raise ConfigError(f"unknown format {fmt!r}; supported: pycg")
    if root is not None:
        from astrepo.graph.build import IndexConfig, build_index

        if db == Path(DEFAULT_DB_DIR):
            db = root / DEFAULT_DB_DIR
        if GraphStore(Layout(db)).current_path() is None:
            build_index(IndexConfig(root=root, db_dir=db))
    graph_db = GraphStore(Layout(db)).open_read()
    try:
        document = pycg_callgraph(graph_db)
    finally:
        graph_db.close()
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
