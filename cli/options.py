"""Options shared by every command."""

from __future__ import annotations

from pathlib import Path

import typer

from astrepo.layout import DEFAULT_DB_DIR, Layout

DB_OPTION = typer.Option(Path(DEFAULT_DB_DIR), "--db", help="Database folder (default ./.astrepo).")
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def layout_for(db: Path) -> Layout:
    """The layout of a --db folder."""
    return Layout(db)
