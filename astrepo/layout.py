"""Where things live under the ``.astrepo/`` folder, and the one-writer lock.

Layout::

    .astrepo/
      graph/CURRENT          name of the published generation
      graph/gen-000007/      one generation: graph.kuzu + index state
      cache/facts/           per-file facts, keyed by path and content hash
      embeddings/            vector index (astrepo.embeddings)
      events/                trace segments (astrepo.capture)
      plans/                 instrumentation plans
      lock                   held (lockf) by the one writer
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from astrepo.errors import IndexLocked

DEFAULT_DB_DIR = ".astrepo"


@dataclass(frozen=True, slots=True)
class Layout:
    """Paths inside one ``.astrepo`` folder."""

    root: Path  #: the .astrepo folder itself

    @property
    def graph_dir(self) -> Path:
        return self.root / "graph"

    @property
    def facts_cache(self) -> Path:
        return self.root / "cache" / "facts"

    @property
    def embeddings_dir(self) -> Path:
        return self.root / "embeddings"

    @property
    def events_dir(self) -> Path:
        return self.root / "events"

    @property
    def plans_dir(self) -> Path:
        return self.root / "plans"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"


class WriterLock:
    """An exclusive, non-blocking lock on the database folder (released on exit or death).

    A POSIX record lock (``lockf``), not ``flock``: it belongs to this process
    and is not inherited by forked worker processes, so workers orphaned by a
    killed run cannot keep the index locked.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `IndexLocked` at once."""
        self.layout.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.layout.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES):
                holder = _read_pid(self.layout.lock_path)
                who = f" (pid {holder})" if holder else ""
                raise IndexLocked(
                    f"another astrepo process{who} is writing the index at {self.layout.root}; "
                    "wait for it to finish") from err
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
