"""Exception facts in the reach index, grouped by the exception's short name.

Kuzu stores MAY_RAISE, IMPLICIT_RAISE and CATCHES edges pointing at a few
hundred ExceptionType nodes; following them backwards from one exception
reads the adjacency of the whole node group (~66k MAY_RAISE edges on
Django: ~8 ms for 1,000 answers), and naming each edge's scope takes a join
that scans the Function table. So the reach index also holds these edges,
grouped by exception short name, with their scopes as rows: a question
reads the groups of the names it asks about and nothing else.

Record kinds (`KINDS`), each a group of sections ``<kind>.<column>``:

* ``raise`` - MAY_RAISE: the node that may raise (row), the exception, the
  raise site (``file:line``) and the call sites on the way (``file:line``,
  joined by `SEP`);
* ``implicit`` - IMPLICIT_RAISE not caught in place: the enclosing scope
  (row), the line, the exception, the operation;
* ``catch`` - CATCHES: the enclosing scope (row), the line, the exception.

``<kind>.key`` lists the short names in order, ``<kind>.group`` where each
name's records start; ``exc`` holds the exceptions' qualified names, which
records refer to by position. Edges whose node or scope is not a symbol of
the index are left out (no question could return them).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from astrepo.graph.db import GraphDB

#: Joins the call sites of a may-raise path (never part of a ``file:line``).
SEP = "\x1f"

#: kind -> (query returning (node or scope, short name, name, *values), value columns as (name, type)).
KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "raise": ("MATCH (n)-[r:MAY_RAISE]->(e:ExceptionType) RETURN id(n), e.short_name, e.name, r.origin_at, r.via_at",
              (("origin_at", "str"), ("via_at", "str"))),
    "implicit": ("MATCH (s:Stmt)-[r:IMPLICIT_RAISE]->(e:ExceptionType) WHERE NOT r.caught "
                 "RETURN r.scope, e.short_name, e.name, r.line, r.op", (("line", "i"), ("op", "str"))),
    "catch": ("MATCH (s:Stmt)-[r:CATCHES]->(e:ExceptionType) RETURN r.scope, e.short_name, e.name, r.line",
              (("line", "i"),)),
}


def exception_sections(db: GraphDB, rows_of: Any, rows_of_ids: Any, file_rank: Any,
                       strings: Any) -> dict[str, bytes]:
    """The sections holding every kind's records. ``rows_of`` maps an Arrow column of ``id(n)``
    to rows (-1: not a symbol), ``rows_of_ids`` one of node IDs, ``file_rank`` a row to its place
    in (file, row) order; ``strings`` encodes a string column. Within a short name, records are
    in (file, row) order of their node, so a path prefix is a range of them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from astrepo.graph.query.reach_index import ints

    tables: dict[str, Any] = {}
    for kind, (query, _) in KINDS.items():
        table = db.arrow(query)
        if kind == "raise":
            rows = rows_of(table.column(0).combine_chunks())
        else:
            rows = rows_of_ids(pc.fill_null(table.column(0).combine_chunks(), ""))
        tables[kind] = (table.filter(pa.array(rows >= 0)), rows[rows >= 0])
    names = sorted(set().union(*(pc.unique(t.column(2)).to_pylist() for t, _ in tables.values())) - {None})
    sections: dict[str, bytes] = {}
    sections["exc.text"], sections["exc.at"] = strings(names)
    for kind, (_, values) in KINDS.items():
        table, rows = tables[kind]
        short = pc.fill_null(table.column(1), "").combine_chunks()
        keys = sorted(set(short.to_pylist()))
        key = ints(np, pc.index_in(short, value_set=pa.array(keys, pa.string())))
        order = np.lexsort((rows, file_rank[rows], key)) if len(table) else np.zeros(0, np.int64)
        sections[f"{kind}.key.text"], sections[f"{kind}.key.at"] = strings(keys)
        sections[f"{kind}.group"] = np.searchsorted(key[order], np.arange(len(keys) + 1)).astype(np.uint32).tobytes()
        sections[f"{kind}.row"] = rows[order].astype(np.uint32).tobytes()
        exc = pc.index_in(pc.fill_null(table.column(2), ""), value_set=pa.array(names, pa.string()))
        sections[f"{kind}.exc"] = ints(np, exc)[order].astype(np.uint32).tobytes()
        taken = table.take(pa.array(order))
        for i, (column, kind_of) in enumerate(values):
            data = taken.column(3 + i).combine_chunks()
            if kind_of == "str":
                if pa.types.is_list(data.type) or pa.types.is_large_list(data.type):
                    data = pc.binary_join(data, SEP)
                sections[f"{kind}.{column}.text"], sections[f"{kind}.{column}.at"] = strings(data)
            else:
                sections[f"{kind}.{column}"] = ints(np, data).astype(np.int32).tobytes()
    return sections


def exception_records(index: Any, kind: str, short_names: list[str], prefix: str | None = None) -> list[tuple]:
    """(row, exception name, *values) of the ``kind`` records about these short names (only
    those whose node's file starts with ``prefix``, when given), in the index's order; a
    ``via_at`` value comes back as a tuple."""
    from astrepo.graph.query.reach_index import Strings  # that module imports this one

    keys, groups = index.strings(f"{kind}.key"), index.array(f"{kind}.group")
    rows, exc = index.array(f"{kind}.row"), index.array(f"{kind}.exc")
    names = index.strings("exc")
    values = KINDS[kind][1]
    columns = [index.strings(f"{kind}.{c}") if t == "str" else index.array(f"{kind}.{c}") for c, t in values]
    out: list[tuple] = []
    for short in sorted(set(short_names)):
        group = keys.find(short)
        if group is None:
            continue
        first, last = groups[group], groups[group + 1]
        if prefix is not None:
            # Records are in file order within the group: the prefix is a range of them.
            def head(row: int) -> str:
                return index.file(row)[:len(prefix)]
            first, last = (bisect_left(rows, prefix, first, last, key=head),
                           bisect_right(rows, prefix, first, last, key=head))
        codes = exc[first:last].tolist()
        named = {e: names[e] for e in set(codes)}
        named = [named[e] for e in codes]
        parts = [data.range(first, last) if isinstance(data, Strings) else data[first:last].tolist()
                 for data in columns]
        if values[-1][0] == "via_at":
            parts[-1] = [tuple(v.split(SEP)) if v else () for v in parts[-1]]
        out += zip(rows[first:last].tolist(), named, *parts)
    return out
