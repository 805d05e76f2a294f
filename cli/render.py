"""Output: one JSON document on stdout, or rich tables; errors on stderr.

``--json`` output always carries ``"format": JSON_FORMAT``.
History of JSON_FORMAT: 1 - first version.
"""

from __future__ import annotations

import json
import sys
from typing import Any

JSON_FORMAT = 1


def emit_json(document: dict[str, Any]) -> None:
    """Print one JSON document with the format version first."""
    out = {"format": JSON_FORMAT, **document}
    sys.stdout.write(json.dumps(out, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def emit_error(kind: str, message: str, as_json: bool) -> None:
    """Report an error: JSON on stdout in JSON mode, one line on stderr otherwise."""
    if as_json:
        sys.stdout.write(json.dumps({"format": JSON_FORMAT, "error": {"type": kind, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"astrepo: error: {message}\n")


def console(stderr: bool = False):
    """A rich console (imported lazily: rich costs start-up time)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print rows as a rich table on stdout."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console().print(table)
