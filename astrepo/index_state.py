"""Incremental bookkeeping: what an index run knew, what changed since, the facts cache.

The state of a published index (the files it saw, their hashes, what
resolution needs of each and what resolution produced) is pickled beside its
graph generation, so it is always consistent with that graph. Per-file facts
are cached by (path, content hash, facts version) under ``.astrepo/cache``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from astrepo.discover import SourceFile

log = logging.getLogger(__name__)

#: Bump when the pickled state's shape changes; an older state means a full run.
#: History: 1 - first version; 2 - analysis inputs per file; 5 - analysis inputs pickled per file
#: (reading and writing the state unpickles and pickles none of them: 0.3 s each on Django).
STATE_VERSION = 5


class FileEntry(NamedTuple):
    """What the index knows of one file."""

    hash: str
    size: int
    mtime_ns: int
    module: str


@dataclass(slots=True)
class IndexState:
    """Everything an incremental run needs from the previous one."""

    version: int
    facts_version: int
    root: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    #: per file: the resolution inputs (analyzers.callgraph.ModuleInputs), pickled by the worker
    #: that parsed the file: the state is written without pickling them again
    inputs: dict[str, bytes] = field(default_factory=dict)
    #: per file: diagnostics (rendered), so an unchanged bad file is still reported
    diagnostics: dict[str, list] = field(default_factory=dict)
    #: per file: what project-level analyses read (graph.analysis_rows.AnalysisInputs), pickled
    #: when the file was parsed and kept as bytes until a file changes
    analysis_inputs: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Changes:
    """How the discovered files differ from the indexed ones."""

    added: list[SourceFile]
    modified: list[SourceFile]
    deleted: list[str]
    unchanged: list[SourceFile]
    #: stat results of the discovered files, by path
    stats: dict[str, tuple[int, int]]

    @property
    def to_parse(self) -> list[SourceFile]:
        return self.added + self.modified

    @property
    def removed_paths(self) -> list[str]:
        return sorted(self.deleted + [f.path for f in self.modified])


def detect_changes(files: list[SourceFile], previous: IndexState | None, hashes: dict[str, str]) -> Changes:
    """Compare discovered files with the previous state.

    A file whose size and mtime are unchanged is taken as unchanged; otherwise
    its content hash (computed by the caller into ``hashes`` on demand) decides.
    """
    added: list[SourceFile] = []
    modified: list[SourceFile] = []
    unchanged: list[SourceFile] = []
    stats: dict[str, tuple[int, int]] = {}
    known = previous.files if previous else {}
    for f in files:
        try:
            st = os.stat(f.abspath)
            stats[f.path] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[f.path] = (-1, -1)
        entry = known.get(f.path)
        if entry is None:
            added.append(f)
        elif entry.module != f.module:
            modified.append(f)
        elif (entry.size, entry.mtime_ns) == stats[f.path]:
            unchanged.append(f)
        elif file_hash(f.abspath, hashes) == entry.hash:
            unchanged.append(f)
        else:
            modified.append(f)
    seen = {f.path for f in files}
    deleted = sorted(p for p in known if p not in seen)
    return Changes(added, modified, deleted, unchanged, stats)


def file_hash(abspath: str, memo: dict[str, str]) -> str:
    """Content hash of a file (same function as `astrepo.source.content_hash`)."""
    from astrepo.source import content_hash

    if abspath not in memo:
        try:
            with open(abspath, "rb") as handle:
                memo[abspath] = content_hash(handle.read())
        except OSError:
            memo[abspath] = ""
    return memo[abspath]


class FactsCache:
    """Per-file results on disk (facts and analyses), keyed by path, content hash and version."""

    def __init__(self, directory: Path, version: str) -> None:
        self.dir = directory
        self.version = version

    def _path(self, path: str, digest: str) -> Path:
        key = hashlib.blake2b(f"{self.version}\x1f{path}\x1f{digest}".encode(), digest_size=16).hexdigest()
        return self.dir / key[:2] / f"{key}.pickle"

    def get(self, path: str, digest: str) -> object | None:
        """The cached payload for this file content, None when absent or unreadable."""
        try:
            with open(self._path(path, digest), "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as err:
            log.debug("ignoring unreadable cached facts for %s: %s", path, err)
            return None

    def put(self, path: str, digest: str, payload: object) -> None:
        target = self._path(path, digest)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as handle:
                pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError as err:
            log.debug("cannot cache facts for %s: %s", path, err)
