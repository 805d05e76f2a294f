"""The per-file rows of a generation, kept as Arrow IPC files beside it.

Every generation is a fresh database bulk-loaded with COPY (Kuzu 0.11 loses
or miscounts relationships when rows are deleted and copied into the same
tables, so we never delete). An incremental run reloads the rows of
unchanged files from here instead of parsing them again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from astrepo.model import EdgeKind, NodeKind
from astrepo.graph.load import PATH_COLUMN, EdgePair

log = logging.getLogger(__name__)

ROWS_DIR = "rows"


def save_rows(gen_path: Path, node_tables: dict[NodeKind, list[pa.Table]],
              edge_tables: dict[EdgePair, list[pa.Table]]) -> None:
    """Write one IPC file per node table and per relationship table pair."""
    directory = gen_path / ROWS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for kind, parts in node_tables.items():
        if parts:
            write_table(directory / f"node.{kind.value}.arrow", pa.concat_tables(parts))
    for (kind, src, dst), parts in edge_tables.items():
        if parts:
            write_table(directory / f"edge.{kind.value}.{src.value}.{dst.value}.arrow", pa.concat_tables(parts))


def load_rows(gen_path: Path, drop_paths: list[str]) -> tuple[dict[NodeKind, list[pa.Table]], dict[EdgePair, list[pa.Table]]] | None:
    """The rows saved with a generation, minus those of ``drop_paths``; None if absent or unreadable."""
    directory = gen_path / ROWS_DIR
    if not directory.is_dir():
        return None
    drop = pa.array(drop_paths, type=pa.string())
    nodes: dict[NodeKind, list[pa.Table]] = {}
    edges: dict[EdgePair, list[pa.Table]] = {}
    try:
        for path in sorted(directory.glob("*.arrow")):
            parts = path.name.split(".")
            table = read_table(path)
            if parts[0] == "node":
                nodes[NodeKind(parts[1])] = [_without(table, "file", drop)]
            else:
                key = (EdgeKind(parts[1]), NodeKind(parts[2]), NodeKind(parts[3]))
                edges[key] = [_without(table, PATH_COLUMN, drop)]
    except (OSError, pa.ArrowInvalid, ValueError) as err:
        log.warning("cannot reuse the rows of %s (%s); parsing everything", gen_path, err)
        return None
    return nodes, edges


def _without(table: pa.Table, column: str, drop: pa.Array) -> pa.Table:
    if len(drop) == 0:
        return table
    return table.filter(pc.invert(pc.is_in(table[column], value_set=drop)))


def write_table(path: Path, table: pa.Table) -> None:
    """Write one Arrow table as an IPC file."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_table(path: Path) -> pa.Table:
    """Read an Arrow IPC file (memory-mapped)."""
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()
