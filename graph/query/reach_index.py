"""The reach index: the call and inheritance graphs of one generation, as compact arrays beside it.

Kuzu 0.11 answers "who reaches X" with a recursive query (~11 ms on Django)
but reading the reached nodes' details or the edges to rebuild one shortest
path per node costs tens of ms more: properties of scattered rows cost tens
of µs each, and a join on IDs scans the table (~7 ms for Function, however
few the IDs). So when a generation is published, `write_reach_index` reads
the symbol tables (Function, Class, Module, External) and the symbol-level
CALLS and INHERITS edges once and writes them to ``reach.idx`` in the
generation's folder; questions about transitive relations, names and
exception hierarchies then run in Python over ~45k rows (Django) opened
with `mmap` (nothing is parsed or copied on open). The index also holds
the exception facts questions filter on (graph/query/exception_index.py)
and the answer to `unused functions`.

Layout (little-endian, sections 8-byte aligned): ``MAGIC``, a 4-byte header
length, a JSON header (tables, kinds, sections), then the sections. Rows are
numbered table after table in `TABLES` order; within a table, row = base +
Kuzu's internal offset, so a query can return ``id(n)`` (no property read)
and look the node up here. Offsets a delta left unused are empty rows.

* string columns ``id``, ``name``, ``file`` (and the exception facts'):
  the values' UTF-8 bytes one after the other (``<column>.text``) and
  ``uint32`` start offsets (N + 1, ``<column>.at``), as Arrow lays them out;
* ``line`` (``int32``), ``kind`` (``uint8``, an index into the header's kinds),
  ``scope`` (``uint32``, the row of the enclosing module, class or function);
* ``rank``: each row's position in (name, id) order, for deterministic paths;
* ``short``: the rows ordered by short name (the name's last dotted part), so
  a name or a dotted suffix of one is found by binary search;
* ``unused``: the rows `unused functions` answers (`UNUSED_WHERE`, less exported API);
* per relation (``CALLS``, ``INHERITS``): out- and in-neighbour lists as CSR
  (``uint32`` offsets N + 1, then ``uint32`` rows), each list sorted by
  rank and without repeats.

Invariant: the index is written from the generation's own database after
its last write, so it holds exactly its CALLS and INHERITS edges between
symbol tables (tests/graph/test_query_reach.py checks this after an
incremental run). A generation without the file is not current (schema 10).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from astrepo.errors import StoreError
from astrepo.graph.db import GraphDB
from astrepo.graph.query.exception_index import exception_sections

FILE = "reach.idx"
MAGIC = b"ASTREPO-REACH\n"
#: History: 1 - symbols, CALLS, INHERITS; 2 - scopes, exception facts, unused functions, strings
#: laid out as in Arrow (a file of another layout is refused: `astrepo index` writes a new one).
FORMAT = 2

#: The symbol tables, in row order.
TABLES = ("Function", "Class", "Module", "External")
#: Relations indexed, with the tables their edges start and end at.
RELATIONS = {"CALLS": ("Function:Class:Module", "Function:Class:External"),
             "INHERITS": ("Class", "Class:External")}

_KIND_COLUMN = {"Function": "n.kind", "External": "n.kind"}
_SCOPE_COLUMN = {"Function": "n.scope", "Class": "n.scope"}

#: Functions `unused functions` may list: no caller, not something that runs without a call (lambda,
#: decorated, main, dunder, test: `implicit_entry`), not an override (all set when indexing).
UNUSED_WHERE = "n.fan_in = 0 AND NOT n.implicit_entry AND NOT n.overrides"

#: The scope of a row that has none (modules, externals).
NO_SCOPE = 0xFFFFFFFF


def write_reach_index(db: GraphDB, folder: Path) -> None:
    """Write ``reach.idx`` for the database ``db`` (open, every write committed) into ``folder``."""
    import numpy as np  # index time only: the query path stays light
    import pyarrow as pa
    import pyarrow.compute as pc

    tables: list[tuple[str, int, int, int]] = []  #: (label, Kuzu table ID, first row, rows)
    parts, places = [], []
    count = 0
    for label in TABLES:
        kind = _KIND_COLUMN.get(label, "''")
        scope = _SCOPE_COLUMN.get(label, "''")
        found = db.arrow(f"MATCH (n:{label}) RETURN id(n), n.id AS id, n.name AS name, n.file AS file, "
                         f"n.start_line AS line, {kind} AS kind, {scope} AS scope")
        internal = found.column(0).combine_chunks()
        offsets = ints(np, internal.field("offset"))
        size = int(offsets.max()) + 1 if len(offsets) else 0
        tables.append((label, int(ints(np, internal.field("table"))[0]) if size else -1, count, size))
        names = ["id", "name", "file", "line", "kind", "scope"]
        parts.append(found.select(names).cast(pa.schema(
            [(name, pa.int64() if name == "line" else pa.string()) for name in names])))
        places.append(count + offsets)
        count += size
    if count >= 1 << 32:  # pragma: no cover - far beyond any project
        raise StoreError(f"too many symbols for the reach index in {folder}")
    present = np.concatenate(places) if places else np.zeros(0, np.int64)
    # Rows a delta left unused stay empty: every column is taken with nulls there, then blanked.
    where = np.full(count, -1, dtype=np.int64)
    where[present] = np.arange(len(present))
    spread = pa.array(np.maximum(where, 0), mask=where < 0)
    nodes = pa.concat_tables(parts).take(spread)
    column = {name: pc.fill_null(nodes.column(name).combine_chunks(), 0 if name == "line" else "")
              for name in nodes.column_names}
    kinds = [""] + sorted(set(column["kind"].to_pylist()) - {""})
    base = {table_id: first for _, table_id, first, _ in tables}
    ids = column["id"]

    def rows_of_ids(values: Any) -> Any:
        """Rows of node IDs (an Arrow string array; -1: no symbol of the index)."""
        found = pc.index_in(values, value_set=ids.filter(pa.array(where >= 0)))
        return np.where(ints(np, pc.fill_null(found, -1)) >= 0, present[ints(np, pc.fill_null(found, 0))], -1)

    rows = pa.array(np.arange(count))
    rank = np.empty(count, dtype=np.uint32)
    rank[ints(np, pc.sort_indices(pa.table({"name": column["name"], "id": ids}),
                                  sort_keys=[("name", "ascending"), ("id", "ascending")]))] = np.arange(count)
    short = pc.struct_field(pc.extract_regex(column["name"], r"(?P<short>[^.]*)$"), [0])
    file_rank = np.empty(count, dtype=np.int64)
    file_rank[ints(np, pc.sort_indices(pa.table({"file": column["file"], "row": rows}),
                                       sort_keys=[("file", "ascending"), ("row", "ascending")]))] = np.arange(count)

    sections: dict[str, bytes] = {}
    for key in ("id", "name", "file"):
        sections[f"{key}.text"], sections[f"{key}.at"] = _strings(column[key])
    sections["line"] = ints(np, column["line"]).astype(np.int32).tobytes()
    sections["kind"] = ints(np, pc.index_in(column["kind"], value_set=pa.array(kinds))).astype(np.uint8).tobytes()
    scopes = rows_of_ids(column["scope"])
    sections["scope"] = np.where(scopes >= 0, scopes, NO_SCOPE).astype(np.uint32).tobytes()
    sections["rank"] = rank.tobytes()
    sections["short"] = ints(np, pc.sort_indices(pa.table({"short": short, "row": rows}),
                                                 sort_keys=[("short", "ascending"), ("row", "ascending")])
                             ).astype(np.uint32).tobytes()
    for rel, (sources, targets) in RELATIONS.items():
        edges = db.arrow(f"MATCH (a:{sources})-[:{rel}]->(b:{targets}) RETURN id(a), id(b)")
        src, dst = (_rows(np, edges.column(i).combine_chunks(), base) for i in (0, 1))
        pairs = np.unique(src.astype(np.uint64) << np.uint64(32) | dst.astype(np.uint64))
        src, dst = (pairs >> np.uint64(32)).astype(np.uint32), (pairs & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        for direction, (a, b) in (("out", (src, dst)), ("in", (dst, src))):
            by = np.lexsort((rank[b], a))
            sections[f"{rel}.{direction}.at"] = np.concatenate(
                ([0], np.cumsum(np.bincount(a, minlength=count)))).astype(np.uint32).tobytes()
            sections[f"{rel}.{direction}"] = b[by].astype(np.uint32).tobytes()
    sections.update(exception_sections(db, lambda internal: _rows(np, internal, base), rows_of_ids, file_rank,
                                       _strings))
    sections["unused"] = _unused_rows(db, base, column["kind"].to_pylist(), short.to_pylist(), scopes)

    header = {"format": FORMAT, "rows": count, "kinds": kinds, "tables": tables, "sections": {}}
    position = 0
    for name, blob in sections.items():
        header["sections"][name] = [position, len(blob)]
        position += _padded(len(blob))
    encoded = json.dumps(header).encode()
    start = _padded(len(MAGIC) + 4 + len(encoded))
    tmp = folder / (FILE + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(MAGIC + struct.pack("<I", len(encoded)) + encoded)
        handle.write(b"\0" * (start - handle.tell()))
        for blob in sections.values():
            handle.write(blob + b"\0" * (_padded(len(blob)) - len(blob)))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / FILE)


def _unused_rows(db: GraphDB, base: dict[int, int], kinds: list[str], shorts: list[str], scopes: Any) -> bytes:
    """The rows `unused functions` lists: functions matching `UNUSED_WHERE` that no module exports
    (a function named in its module's `__all__` or in the `__all__` of a module importing that one,
    as a package re-exporting it; a public method of a class exported so)."""
    import numpy as np

    exports: dict[int, set[str]] = defaultdict(set)  #: module row -> names exported from it
    for query in ("MATCH (m:Module) WHERE size(m.exports) > 0 RETURN id(m), m.exports",
                  "MATCH (p:Module)-[:IMPORTS]->(m:Module) WHERE size(p.exports) > 0 RETURN id(m), p.exports"):
        found = db.arrow(query)
        for row, names in zip(_rows(np, found.column(0).combine_chunks(), base).tolist(), found.column(1).to_pylist()):
            exports[row].update(names or ())

    def exported(row: int) -> bool:
        kind, short, owner = kinds[row], shorts[row], int(scopes[row])
        if kind == "function":
            return short in exports.get(owner, ())
        if kind != "method" or short.startswith("_") or owner < 0 or scopes[owner] < 0:
            return False
        return shorts[owner] in exports.get(int(scopes[owner]), ())

    candidates = _rows(np, db.arrow(f"MATCH (n:Function) WHERE {UNUSED_WHERE} RETURN id(n)").column(0).combine_chunks(),
                       base)
    return np.asarray(sorted(r for r in candidates.tolist() if not exported(r)), dtype=np.uint32).tobytes()


def _strings(values: Any) -> tuple[bytes, bytes]:
    """A string column (a list or an Arrow string array; nulls are ''): the values' UTF-8 bytes
    one after the other, and where each starts (N + 1 offsets)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = pc.fill_null(array.cast(pa.large_string()), "")
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    if offsets[-1] - offsets[0] >= 1 << 32:  # pragma: no cover - far beyond any project
        raise StoreError("too much text for the reach index")
    text = array.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]] if len(array) else b""
    return text, (offsets - offsets[0]).astype(np.uint32).tobytes()


def _rows(np, internal, base: dict[int, int]):  # type: ignore[no-untyped-def]
    """Global rows (int64; -1 outside the symbol tables) of internal IDs (an Arrow struct column
    of table ID and offset)."""
    tables, offsets = (ints(np, internal.field(f)) for f in ("table", "offset"))
    firsts = np.full(len(tables), -1, dtype=np.int64)
    for table_id, first in base.items():
        firsts[tables == table_id] = first
    return np.where(firsts >= 0, firsts + offsets, -1)


def ints(np, array):  # type: ignore[no-untyped-def]
    """An Arrow integer array as int64 numpy (nulls: 0), without pyarrow's pandas-backed conversion."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = pc.fill_null(array.cast(pa.int64()), 0)
    return np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array), offset=array.offset * 8)


def _padded(size: int) -> int:
    return (size + 7) & ~7


@dataclass(frozen=True, slots=True)
class Table:
    """A symbol table's rows in the index."""

    label: str
    table_id: int  #: Kuzu's table ID (``id(n).table``)
    first: int
    size: int


class ReachIndex:
    """The reach index of one generation, mapped read-only."""

    def __init__(self, path: Path) -> None:
        try:
            with open(path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as err:
            raise StoreError(f"cannot read the reach index {path}: run `astrepo index --rebuild`") from err
        data = self._map
        if data[:len(MAGIC)] != MAGIC:
            raise StoreError(f"{path} is not a reach index: run `astrepo index --rebuild`")
        (size,) = struct.unpack_from("<I", data, len(MAGIC))
        header = json.loads(data[len(MAGIC) + 4:len(MAGIC) + 4 + size])
        if header.get("format") != FORMAT:
            raise StoreError(f"{path} has another layout: run `astrepo index --rebuild`")
        start = _padded(len(MAGIC) + 4 + size)
        view = memoryview(data)
        self._text: dict[str, int] = {}  #: string column -> where its text starts in the file
        self._views: dict[str, memoryview] = {}
        for name, (offset, length) in header["sections"].items():
            if name.endswith(".text"):
                self._text[name[:-5]] = start + offset
            else:
                self._views[name] = view[start + offset:start + offset + length].cast(
                    "B" if name == "kind" else "i" if name == "line" or name.endswith(".line") else "I")
        self.rows: int = header["rows"]
        self.kinds: list[str] = header["kinds"]
        self.tables = [Table(*t) for t in header["tables"]]
        self._by_label = {t.label: t for t in self.tables}
        self._by_table_id = {t.table_id: t for t in self.tables}
        self.line = self._views["line"]
        self.rank = self._views["rank"]
        self.scope = self._views["scope"]  #: row of the enclosing module, class or function (`NO_SCOPE`: none)
        self._kind = self._views["kind"]
        self._id_at, self._id_base = self._views["id.at"], self._text["id"]
        self._name_at, self._name_base = self._views["name.at"], self._text["name"]
        self._file_at, self._file_base = self._views["file.at"], self._text["file"]

    def strings(self, column: str) -> Strings:
        """A string column (``<column>.text`` and ``<column>.at``) as a sequence."""
        return Strings(self._map, self._text[column], self._views[column + ".at"])

    def array(self, name: str) -> memoryview:
        """A numeric section."""
        return self._views[name]

    @classmethod
    def open(cls, folder: Path) -> ReachIndex:
        """The index beside a generation (``folder`` holds its database)."""
        return cls(folder / FILE)

    # -- rows ------------------------------------------------------------------
    def name(self, row: int) -> str:
        at, base = self._name_at, self._name_base
        return self._map[base + at[row]:base + at[row + 1]].decode()

    def id(self, row: int) -> str:
        at, base = self._id_at, self._id_base
        return self._map[base + at[row]:base + at[row + 1]].decode()

    def file(self, row: int) -> str:
        at, base = self._file_at, self._file_base
        return self._map[base + at[row]:base + at[row + 1]].decode()

    def nodes(self, rows: list[int]) -> list[tuple[str, str, str, str, int, str]]:
        """(ID, label, name, file, line, kind) of each row, in one pass."""
        data, kinds, kind, line = self._map, self.kinds, self._kind, self.line
        id_at, id_base, name_at, name_base = self._id_at, self._id_base, self._name_at, self._name_base
        file_at, file_base = self._file_at, self._file_base
        ends, labels = [t.first + t.size for t in self.tables], [t.label for t in self.tables]
        out = []
        for row in rows:
            out.append((data[id_base + id_at[row]:id_base + id_at[row + 1]].decode(), labels[bisect_right(ends, row)],
                        data[name_base + name_at[row]:name_base + name_at[row + 1]].decode(),
                        data[file_base + file_at[row]:file_base + file_at[row + 1]].decode(),
                        line[row], kinds[kind[row]]))
        return out

    def kind(self, row: int) -> str:
        return self.kinds[self._kind[row]]

    def label(self, row: int) -> str:
        for table in self.tables:
            if row < table.first + table.size:
                return table.label
        raise IndexError(row)

    def table(self, label: str) -> Table:
        return self._by_label[label]

    def row_of(self, internal: dict[str, int]) -> int:
        """The row of a node given as Kuzu returns ``id(n)``."""
        return self._by_table_id[internal["table"]].first + internal["offset"]

    def find_id(self, node_id: str, label: str) -> int | None:
        """The row of a node ID in one table (None when absent): a search of the ID column's text."""
        table = self._by_label[label]
        at, base, data = self._id_at, self._id_base, self._map
        key = node_id.encode()
        begin, end = base + at[table.first], base + at[table.first + table.size]
        position = data.find(key, begin, end)
        while position >= 0:
            row = bisect_left(at, position - base, table.first, table.first + table.size)
            if row < table.first + table.size and at[row] == position - base and at[row + 1] - at[row] == len(key):
                return row
            position = data.find(key, position + 1, end)
        return None

    def find_names(self, text: str, label: str) -> tuple[list[int], list[int]]:
        """Rows of ``label`` named exactly ``text``, and those whose name ends with ``.text``
        (both end with the same short name: a binary search over the rows ordered by it)."""
        table = self._by_label[label]
        order, short = self._views["short"], text.rsplit(".", 1)[-1]
        key = self._short_name
        exact: list[int] = []
        suffix: list[int] = []
        for row in order[bisect_left(order, short, key=key):bisect_right(order, short, key=key)]:
            if table.first <= row < table.first + table.size:
                name = self.name(row)
                if name == text:
                    exact.append(row)
                elif name.endswith("." + text):
                    suffix.append(row)
        return sorted(exact), sorted(suffix)

    def _short_name(self, row: int) -> str:
        return self.name(row).rsplit(".", 1)[-1]

    # -- edges -----------------------------------------------------------------
    def neighbours(self, rel: str, direction: str, row: int) -> memoryview:
        """Rows with a ``rel`` edge from ``row`` (``out``) or to it (``in``), by rank."""
        at, targets = self.adjacency(rel, direction)
        return targets[at[row]:at[row + 1]]

    def adjacency(self, rel: str, direction: str) -> tuple[memoryview, memoryview]:
        """The CSR arrays of ``rel`` edges from (``out``) or to (``in``) each row: offsets, rows."""
        return self._views[f"{rel}.{direction}.at"], self._views[f"{rel}.{direction}"]

    def edges(self, rel: str) -> Iterator[tuple[int, int]]:
        """Every (from row, to row) pair of ``rel`` (for tests and checks)."""
        at, targets = self._views[f"{rel}.out.at"], self._views[f"{rel}.out"]
        for row in range(self.rows):
            for target in targets[at[row]:at[row + 1]]:
                yield row, target


class Strings:
    """A string column of the index as a read-only sequence (``find``: in a sorted column)."""

    def __init__(self, data: mmap.mmap, base: int, at: memoryview) -> None:
        self._data, self._base, self._at = data, base, at

    def __len__(self) -> int:
        return len(self._at) - 1

    def __getitem__(self, i: int) -> str:
        at, base = self._at, self._base
        return self._data[base + at[i]:base + at[i + 1]].decode()

    def range(self, first: int, last: int) -> list[str]:
        """The values from ``first`` up to ``last``."""
        data, at, base = self._data, self._at, self._base
        return [data[base + at[i]:base + at[i + 1]].decode() for i in range(first, last)]

    def find(self, value: str) -> int | None:
        """The position of ``value`` in a sorted column (None when absent)."""
        i = bisect_left(self, value)
        return i if i < len(self) and self[i] == value else None
