"""The rows of a generation, kept as Arrow IPC files beside it.

Per-file rows (nodes by their ``file`` column, intra-file edges by their
``_path`` column) live in segments: a full run writes one segment holding
every file; an incremental run hard-links the previous generation's
segments (they are never modified once written) and adds one segment with
the files it parsed. ``manifest.json`` says which segment owns each file's
live rows, so a run costs in proportion to what changed. When segments pile
up, the small ones (or, once most of it is dead, everything) are merged.

The cross-file ("global") rows (resolution edges, externals, exception
types, project-wide Function columns, runtime rows) are written whole with
every generation: the next incremental run diffs against them
(graph/delta.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from astrepo.model import EdgeKind, NodeKind
from astrepo.graph.load import PATH_COLUMN, EdgePair

log = logging.getLogger(__name__)

ROWS_DIR = "rows"
MANIFEST = "manifest.json"
GLOBAL_DIR = "global"
FORMAT = 2
#: More segments than this and the small ones are merged.
MAX_SEGMENTS = 8

NodeRows = dict[NodeKind, list[pa.Table]]
EdgeRows = dict[EdgePair, list[pa.Table]]


def save_rows(gen_path: Path, node_tables: NodeRows, edge_tables: EdgeRows, paths: list[str] | None = None) -> None:
    """Write every file's rows as the generation's one segment (``paths``: the files, default those in the rows)."""
    directory = gen_path / ROWS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = _segment_name(gen_path, 0)
    files = _write_segment(directory / name, node_tables, edge_tables)
    owned = sorted(set(paths if paths is not None else files))
    _write_manifest(directory, {name: owned}, {p: name for p in owned})


def extend_rows(previous: Path, gen_path: Path, removed: list[str], node_tables: NodeRows,
                edge_tables: EdgeRows, paths: list[str]) -> bool:
    """The previous generation's segments minus ``removed`` files, plus a segment of ``paths``' new rows.

    Returns False (nothing written) when the previous generation's rows are unusable.
    """
    manifest = _read_manifest(previous)
    if manifest is None:
        return False
    segments, owner = manifest
    for path in removed:
        owner.pop(path, None)
    directory = gen_path / ROWS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = _segment_name(gen_path, len(segments))
    _write_segment(directory / name, node_tables, edge_tables)
    segments[name] = sorted(paths)
    for path in paths:
        owner[path] = name
    live = {s: sum(1 for p in files if owner.get(p) == s) for s, files in segments.items()}
    for s in [s for s, n in live.items() if n == 0 and s != name]:
        del segments[s]
    for s in segments:
        if s != name:
            _link_segment(previous / ROWS_DIR / s, directory / s)
    if len(segments) > MAX_SEGMENTS:
        order = sorted(segments)
        oldest = order[0]
        mostly_dead = live[oldest] * 2 < len(segments[oldest])
        merge = order if mostly_dead else order[1:]
        _merge_segments(directory, segments, owner, merge, f"{gen_path.name}.merged")
    _write_manifest(directory, segments, owner)
    return True


def link_rows(previous: Path, gen_path: Path) -> bool:
    """The previous generation's per-file rows as they are, for a generation whose files did not
    change (hard links; its cross-file rows are written by `save_global`). False if unusable."""
    manifest = _read_manifest(previous)
    if manifest is None:
        return False
    segments, owner = manifest
    directory = gen_path / ROWS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for s in segments:
        _link_segment(previous / ROWS_DIR / s, directory / s)
    _write_manifest(directory, segments, owner)
    return True


def load_rows(gen_path: Path, drop_paths: list[str], only_paths: list[str] | None = None,
              tables: set[str] | None = None) -> tuple[NodeRows, EdgeRows] | None:
    """The live per-file rows of a generation, minus ``drop_paths`` (or only ``only_paths``' rows).

    ``tables`` limits the files read (names like ``node.Function``). None if absent or unreadable.
    """
    manifest = _read_manifest(gen_path)
    if manifest is None:
        return None
    segments, owner = manifest
    wanted = set(only_paths) if only_paths is not None else None
    dropped = set(drop_paths)
    nodes: NodeRows = defaultdict(list)
    edges: EdgeRows = defaultdict(list)
    try:
        for name, files in sorted(segments.items()):
            keep = [p for p in files if owner.get(p) == name and p not in dropped
                    and (wanted is None or p in wanted)]
            if not keep:
                continue
            keep_all = len(keep) == len(files)
            value_set = None if keep_all else pa.array(keep, type=pa.string())
            for path in sorted((gen_path / ROWS_DIR / name).glob("*.arrow")):
                stem = path.name[:-len(".arrow")]
                if tables is not None and stem not in tables:
                    continue
                parts = stem.split(".")
                table = read_table(path)
                column = "file" if parts[0] == "node" else PATH_COLUMN
                if value_set is not None:
                    table = table.filter(pc.is_in(table[column], value_set=value_set))
                if len(table) == 0:
                    continue
                if parts[0] == "node":
                    nodes[NodeKind(parts[1])].append(table)
                else:
                    edges[(EdgeKind(parts[1]), NodeKind(parts[2]), NodeKind(parts[3]))].append(table)
    except (OSError, pa.ArrowInvalid, ValueError) as err:
        log.warning("cannot reuse the rows of %s (%s); parsing everything", gen_path, err)
        return None
    return dict(nodes), dict(edges)


def save_global(gen_path: Path, tables: dict[str, pa.Table], previous: Path | None = None,
                old: dict[str, pa.Table] | None = None) -> None:
    """Write the cross-file rows of a generation, one IPC file per table name.

    A table equal to the one of that name in ``old`` (`load_global` of the generation
    ``previous``) is hard-linked from there instead: after a small change most of them are
    (61 MB of Django's 63).
    """
    directory = gen_path / ROWS_DIR / GLOBAL_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        target = directory / f"{name}.arrow"
        target.unlink(missing_ok=True)  # never write through a link into another generation's file
        before = old.get(name) if old is not None else None
        if previous is not None and before is not None and before.schema == table.schema and before.equals(table):
            try:
                os.link(previous / ROWS_DIR / GLOBAL_DIR / f"{name}.arrow", target)
                continue
            except OSError:
                pass
        write_table(target, table)


def load_global(gen_path: Path) -> dict[str, pa.Table] | None:
    """The cross-file rows saved with a generation; None if absent or unreadable."""
    directory = gen_path / ROWS_DIR / GLOBAL_DIR
    if not directory.is_dir() or _read_manifest(gen_path) is None:
        return None
    try:
        return {p.name[:-len(".arrow")]: read_table(p) for p in sorted(directory.glob("*.arrow"))}
    except (OSError, pa.ArrowInvalid) as err:
        log.warning("cannot reuse the rows of %s (%s)", gen_path, err)
        return None


def write_table(path: Path, table: pa.Table) -> None:
    """Write one Arrow table as an IPC file."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_table(path: Path) -> pa.Table:
    """Read an Arrow IPC file (memory-mapped)."""
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()


def _segment_name(gen_path: Path, index: int) -> str:
    return f"{gen_path.name}.{index:03d}"


def _write_segment(directory: Path, node_tables: NodeRows, edge_tables: EdgeRows) -> set[str]:
    """Write one segment; return the paths its rows belong to."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: set[str] = set()
    for kind, parts in node_tables.items():
        parts = [t for t in parts if len(t)]
        if parts:
            table = pa.concat_tables(parts)
            paths.update(pc.unique(table["file"]).to_pylist())
            write_table(directory / f"node.{kind.value}.arrow", table)
    for (kind, src, dst), parts in edge_tables.items():
        parts = [t for t in parts if len(t)]
        if parts:
            table = pa.concat_tables(parts)
            write_table(directory / f"edge.{kind.value}.{src.value}.{dst.value}.arrow", table)
    return paths


def _link_segment(source: Path, target: Path) -> None:
    """The files of an existing segment, hard-linked (copied where links are not possible)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copyfile(path, target / path.name)


def _merge_segments(directory: Path, segments: dict[str, list[str]], owner: dict[str, str],
                    merge: list[str], name: str) -> None:
    """Replace the segments ``merge`` by one segment ``name`` holding their live rows."""
    nodes: NodeRows = defaultdict(list)
    edges: EdgeRows = defaultdict(list)
    paths: list[str] = []
    for s in merge:
        keep = [p for p in segments[s] if owner.get(p) == s]
        paths.extend(keep)
        value_set = pa.array(keep, type=pa.string())
        for path in sorted((directory / s).glob("*.arrow")):
            parts = path.name[:-len(".arrow")].split(".")
            table = read_table(path)
            column = "file" if parts[0] == "node" else PATH_COLUMN
            table = table.filter(pc.is_in(table[column], value_set=value_set))
            if parts[0] == "node":
                nodes[NodeKind(parts[1])].append(table)
            else:
                edges[(EdgeKind(parts[1]), NodeKind(parts[2]), NodeKind(parts[3]))].append(table)
    _write_segment(directory / name, nodes, edges)
    for s in merge:
        shutil.rmtree(directory / s)
        del segments[s]
    segments[name] = sorted(paths)
    for p in paths:
        owner[p] = name


def _write_manifest(directory: Path, segments: dict[str, list[str]], owner: dict[str, str]) -> None:
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "segments": segments, "owner": owner}))
    os.replace(tmp, directory / MANIFEST)


def _read_manifest(gen_path: Path) -> tuple[dict[str, list[str]], dict[str, str]] | None:
    try:
        data = json.loads((gen_path / ROWS_DIR / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    segments, owner = data.get("segments"), data.get("owner")
    if not isinstance(segments, dict) or not isinstance(owner, dict):
        return None
    if any(not (gen_path / ROWS_DIR / s).is_dir() for s in segments):
        return None
    return segments, owner
