"""Generations of the graph database: copy-on-write updates, atomic publication.

An index run never modifies the published database. It writes a new
generation (a fresh database bulk-loaded, or a copy of the current one with
a delta applied: graph/delta.py), and publishes it by atomically replacing the ``CURRENT``
pointer. A run killed at any point leaves the previous generation published
and intact; readers are never blocked by a writer.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astrepo.errors import IndexNotFound, SchemaMismatch, StoreError
from astrepo.layout import Layout
from astrepo.graph.db import GraphDB
from astrepo.graph.schema import SCHEMA_VERSION, ddl_statements

log = logging.getLogger(__name__)

DB_FILE = "graph.kuzu"
STATE_FILE = "state.pickle"
SCHEMA_FILE = "schema.json"
CURRENT = "CURRENT"

#: A database that deltas have grown to this many times its size when it was last loaded in full
#: is loaded in full again: Kuzu 0.11 does not reuse every page a checkpoint leaves behind. On
#: Django each one-function delta added 3-10 MB to a 219 MB database (+24% after 11 runs), which
#: every later copy, checkpoint and the disk pay for.
MAX_GROWTH = 1.5


@dataclass(slots=True)
class Generation:
    """A generation being written: its folder and its open database."""

    number: int
    path: Path
    db: GraphDB
    published: bool = False
    #: loaded in full into an empty database (not a delta on a copy of the current one)
    fresh: bool = True


class GraphStore:
    """The generations under ``.astrepo/graph``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.dir = layout.graph_dir

    # -- reading -----------------------------------------------------------
    def current_path(self) -> Path | None:
        """Folder of the published generation, None if nothing was published."""
        try:
            name = (self.dir / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StoreError(f"cannot read {self.dir / CURRENT}: {err.strerror}") from err
        path = self.dir / name
        return path if name and path.is_dir() else None

    def open_read(self) -> GraphDB:
        """Open the published graph read-only, checking its schema version."""
        for _ in range(3):  # a writer may publish and prune between our two reads
            path = self.current_path()
            if path is None:
                if self.layout.root.exists() and (self.dir / CURRENT).exists():
                    raise StoreError(f"the index at {self.layout.root} is damaged (CURRENT names a missing "
                                     "generation): run `astrepo index --rebuild`")
                raise IndexNotFound(f"no index at {self.layout.root}: run `astrepo index PATH` first")
            if not (path / DB_FILE).exists():
                continue
            check_schema(path, self.layout.root)
            return GraphDB(str(path / DB_FILE), read_only=True)
        raise StoreError(f"the index at {self.layout.root} changed while opening it; try again")

    def read_state(self, path: Path | None = None) -> Any:
        """The index state pickled beside a generation (None when absent or unreadable)."""
        path = path or self.current_path()
        if path is None:
            return None
        try:
            with open(path / STATE_FILE, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
            log.warning("ignoring unreadable index state %s: %s", path / STATE_FILE, err)
            return None

    # -- writing (the caller holds the writer lock) --------------------------
    def begin(self, copy_current: bool = False) -> Generation:
        """Start a new generation: an empty database with the schema, or a copy of the current one.

        The copy is for an incremental run that applies a delta to it; the
        current generation itself is never opened for writing.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        self._prune(keep_current_only=False)
        current = self.current_path()
        number = (_gen_number(current) if current else 0) + 1
        path = self.dir / f"gen-{number:06d}"
        if path.exists():
            shutil.rmtree(path)
        path.mkdir()
        (path / SCHEMA_FILE).write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
        if copy_current and current is not None:
            check_schema(current, self.layout.root)
            shutil.copyfile(current / DB_FILE, path / DB_FILE)
            return Generation(number, path, GraphDB(str(path / DB_FILE)), fresh=False)
        db = GraphDB(str(path / DB_FILE))
        for statement in ddl_statements():
            db.execute(statement)
        return Generation(number, path, db)

    def empty(self, gen: Generation) -> None:
        """Replace the generation's database by an empty one with the schema (nothing published changes)."""
        gen.db.close()
        for name in (DB_FILE, DB_FILE + ".wal"):
            (gen.path / name).unlink(missing_ok=True)
        gen.db = GraphDB(str(gen.path / DB_FILE))
        gen.fresh = True
        for statement in ddl_statements():
            gen.db.execute(statement)

    def publish(self, gen: Generation, state: Any, wait: bool = True) -> None:
        """Write the generation's reach index, close it, write its state and make it the current one atomically.

        The generations it supersedes are then removed on a thread (deleting a
        220 MB database file can take half a second of I/O wait); ``wait=False``
        returns without waiting for it, for a process about to end: whatever it
        leaves is removed by the next `begin`.
        """
        from astrepo.graph.query.reach_index import write_reach_index  # graph/query imports this module

        write_reach_index(gen.db, gen.path)
        gen.db.close()
        state_tmp = gen.path / (STATE_FILE + ".tmp")
        with open(state_tmp, "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(state_tmp, gen.path / STATE_FILE)
        _fsync(gen.path / DB_FILE)
        pointer_tmp = self.dir / (CURRENT + ".tmp")
        with open(pointer_tmp, "w") as handle:
            handle.write(gen.path.name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, self.dir / CURRENT)
        gen.published = True
        _fsync(self.dir)
        superseded = self._superseded(keep_current_only=False)
        if wait:
            _remove(superseded)
        else:  # chosen above, under the writer lock: the next writer may begin a newer one meanwhile
            threading.Thread(target=_remove, args=(superseded,), name="astrepo-prune", daemon=True).start()

    def growth(self, fresh_bytes: int | None) -> tuple[int, bool]:
        """How large the current database was when last loaded in full (``fresh_bytes``, as recorded
        then; None: its size now, for a database just loaded in full), and whether deltas have grown
        it past `MAX_GROWTH` times that."""
        current = self.current_path()
        try:
            size = (current / DB_FILE).stat().st_size if current is not None else 0
        except OSError:
            size = 0
        base = fresh_bytes if fresh_bytes else size
        return base, size > MAX_GROWTH * base

    def discard(self, gen: Generation) -> None:
        """Drop a generation unless it was published (an interrupt may come just after)."""
        gen.db.close()
        if gen.published:
            return
        shutil.rmtree(gen.path, ignore_errors=True)

    def _prune(self, keep_current_only: bool) -> None:
        """Remove generations other than the current one and, unless asked, the one before it."""
        _remove(self._superseded(keep_current_only))

    def _superseded(self, keep_current_only: bool) -> list[Path]:
        """The generations other than the current one and, unless asked, the one before it."""
        current = self.current_path()
        keep: set[str] = set()
        if current is not None:
            keep.add(current.name)
        gens = sorted(p for p in self.dir.glob("gen-*") if p.is_dir())
        if not keep_current_only and current is not None:
            older = [p for p in gens if p.name < current.name]
            if older:
                keep.add(older[-1].name)
        return [path for path in gens if path.name not in keep]


def _remove(folders: list[Path]) -> None:
    for path in folders:
        shutil.rmtree(path, ignore_errors=True)


def check_schema(gen_path: Path, where: Path) -> None:
    """Raise `SchemaMismatch` unless the generation was written with this schema version."""
    try:
        version = json.loads((gen_path / SCHEMA_FILE).read_text()).get("schema_version")
    except (OSError, ValueError, AttributeError) as err:
        raise SchemaMismatch(f"{where} does not hold a usable astrepo index: run `astrepo index --rebuild`") from err
    if version != SCHEMA_VERSION:
        raise SchemaMismatch(f"index at {where} uses schema {version}, this astrepo needs {SCHEMA_VERSION}: "
                             "run `astrepo index --rebuild`")


def _gen_number(path: Path) -> int:
    try:
        return int(path.name.split("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _fsync(path: Path) -> None:
    """Flush a file or a folder entry to disk (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
