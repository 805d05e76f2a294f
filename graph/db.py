"""The one module that imports the graph database driver (Kuzu).

Kuzu's upstream was archived in 2025; its maintained fork ``real_ladybug``
has the same API, so switching is the import below. Driver errors become
`StoreError`s naming the database path.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kuzu

from astrepo.errors import StoreError

log = logging.getLogger(__name__)

#: Buffer pool of read-only connections, bytes (pages are evicted beyond it, never an error).
READ_BUFFER_POOL = 1 << 30


class GraphDB:
    """An open Kuzu database and one connection to it."""

    def __init__(self, path: str, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        try:
            # Kuzu sizes its buffer pool at 80% of RAM by default; reserving that costs ~30 ms per open,
            # a third of a whole query's time. Readers get a fixed pool (larger than Django's graph).
            options = {"buffer_pool_size": READ_BUFFER_POOL} if read_only else {}
            self._db = kuzu.Database(path, read_only=read_only, **options)
            self._conn = kuzu.Connection(self._db)
        except RuntimeError as err:
            raise StoreError(_explain_open_error(path, err)) from err
        #: a write transaction begun with `begin` is open (see `close`)
        self.in_transaction = False

    def execute(self, query: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[list[Any]]]:
        """Run one statement; return its column names and rows."""
        try:
            result = self._conn.execute(query, params or {})
        except RuntimeError as err:
            raise StoreError(f"query failed on {self.path}: {_first_line(err)}") from err
        if isinstance(result, list):  # several statements: keep the last result
            result = result[-1]
        columns = result.get_column_names()
        rows = []
        while result.has_next():
            rows.append(result.get_next())
        return columns, rows

    def arrow(self, query: str, params: dict[str, Any] | None = None) -> Any:
        """Run one query; return its rows as a pyarrow table (columnar: no Python object per value)."""
        try:
            return self._conn.execute(query, params or {}).get_as_arrow()
        except RuntimeError as err:
            raise StoreError(f"query failed on {self.path}: {_first_line(err)}") from err

    def scalar(self, query: str, params: dict[str, Any] | None = None) -> Any:
        """Run a query returning one value."""
        _, rows = self.execute(query, params)
        return rows[0][0] if rows else None

    def copy_from(self, table: str, data: Any, options: str = "") -> None:
        """Bulk-load a pyarrow table into ``table`` with COPY (options like ``from='A', to='B'``)."""
        if len(data) == 0:
            return
        suffix = f" ({options})" if options else ""
        try:
            self._conn.execute(f"COPY {table} FROM $data{suffix}", {"data": data})
        except RuntimeError as err:
            raise StoreError(f"bulk load into {table} failed on {self.path}: {_first_line(err)}") from err

    def set_threads(self, threads: int | None) -> None:
        """How many threads this connection's statements may use (None: as many as cores)."""
        self._conn.set_max_threads_for_exec(threads or os.cpu_count() or 1)

    def begin(self) -> None:
        """Start a write transaction (one commit for a whole load is much faster)."""
        self.execute("BEGIN TRANSACTION")
        self.in_transaction = True

    def commit(self) -> None:
        """Commit the open transaction."""
        self.in_transaction = False
        self.execute("COMMIT")

    def close(self) -> None:
        """Close the connection and the database (checkpointing it).

        A transaction still open (a load interrupted or failed midway, whose database is being
        discarded) is committed first: Kuzu 0.11 crashes with a segmentation fault when it rolls
        back, explicitly or on close, a transaction that COPY'd a few hundred thousand rows into a
        relationship table (measured: 600k edges, 4 of 4 runs), and the commit is safe. After a
        statement failed, Kuzu has rolled the transaction back itself: the commit then fails and
        is ignored."""
        if self.in_transaction:
            try:
                self.commit()
            except StoreError as err:
                log.debug("closing %s with a transaction: %s", self.path, err)
        try:
            self._conn.close()
            self._db.close()
        except RuntimeError as err:  # pragma: no cover - driver specific
            log.debug("closing %s: %s", self.path, err)

    def __enter__(self) -> GraphDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else err.__class__.__name__


def _explain_open_error(path: str, err: RuntimeError) -> str:
    text = _first_line(err)
    low = text.lower()
    if "lock" in low:
        return f"the graph database {path} is in use by another process ({text})"
    return (f"cannot open the graph database {path}: {text}; "
            f"if it is damaged, run `astrepo index --rebuild` to build it anew")
