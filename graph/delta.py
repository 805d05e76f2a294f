"""Incremental load: turn a copy of the previous generation into the new one with a delta.

The rows a generation holds are known as Arrow tables (graph/rowcache.py):
per-file rows, and the cross-file ("global") rows computed over the whole
project. Diffing old against new rows, table by table, gives the nodes to
delete, create or update and the edges to delete and create; `apply_delta`
writes them in the open transaction of the copied database.

Nodes are diffed by ID: an ID that vanished is deleted (with its edges), a
new ID is created, a row whose columns changed is updated in place (node
IDs are stable, so most rows of an edited file keep theirs; Kuzu 0.11 pays
dearly at checkpoint for every deleted node). Edges have no identity: they
are grouped by (table, from, to) and every group whose rows changed is
deleted and created anew. Nothing is loaded with COPY: Kuzu 0.11 loses
relationships when rows are deleted and then copied into the same tables.
Rows go in through ``LOAD FROM`` an Arrow table with the endpoints looked up
by primary key, which is as fast as COPY for deltas of this size; a table of
a few rows goes one statement per row (see `ROW_BY_ROW`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from astrepo.graph.db import GraphDB

#: (relationship table, from table, to table), as table names.
EdgeTable = tuple[str, str, str]

_SEP = "\x1f"
_LIST_SEP = "\x1e"
_NULL = "\x00"


@dataclass(slots=True)
class Delta:
    """What turns one generation's rows into the next one's, per table (names as in Kuzu)."""

    delete_nodes: dict[str, pa.Array] = field(default_factory=dict)  #: table -> IDs
    create_nodes: dict[str, list[pa.Table]] = field(default_factory=dict)
    #: table -> rows (id and the columns to set) of nodes that stay with other values
    update_nodes: dict[str, list[pa.Table]] = field(default_factory=dict)
    delete_edges: dict[EdgeTable, list[pa.Table]] = field(default_factory=dict)  #: (from, to) pairs
    create_edges: dict[EdgeTable, list[pa.Table]] = field(default_factory=dict)
    #: relationship table -> edges the deletions of `delete_edges` remove (the old rows of those pairs)
    deleted_edge_rows: dict[str, int] = field(default_factory=dict)

    def deleted_ids(self) -> pa.Array:
        parts = [a for a in self.delete_nodes.values() if len(a)]
        return pa.concat_arrays(parts) if parts else pa.array([], type=pa.string())

    def size(self) -> dict[str, int]:
        """Row counts per kind of change (for logs and tests)."""
        def total(groups: dict) -> int:
            return sum(len(t) for parts in groups.values() for t in (parts if isinstance(parts, list) else [parts]))
        return {"delete_nodes": total(self.delete_nodes), "create_nodes": total(self.create_nodes),
                "update_nodes": total(self.update_nodes), "delete_edges": total(self.delete_edges),
                "create_edges": total(self.create_edges)}


def row_keys(table: pa.Table, columns: list[str] | None = None) -> pa.Array:
    """One string per row holding all its values (``columns``, default all): equal rows, equal keys."""
    names = columns if columns is not None else table.column_names
    parts = []
    for name in names:
        column = table.column(name)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = pc.binary_join(column, _LIST_SEP)
        elif not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        parts.append(pc.fill_null(column, _NULL))
    return _flat(parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _SEP))


def diff_nodes(delta: Delta, table_name: str, old: pa.Table | None, new: pa.Table | None,
               compare: list[str] | None = None, updates_only: bool = False) -> None:
    """Add to ``delta`` what turns the node rows ``old`` into ``new`` (same schema, ``id`` first).

    ``compare`` limits the columns whose changes count (and are set); default all.
    ``updates_only``: only rows whose ID is on both sides count (the others are
    created or deleted through another table of rows).
    """
    if updates_only:
        if old is None or new is None or len(old) == 0 or len(new) == 0:
            return
    elif old is None or len(old) == 0:
        if new is not None and len(new):
            _add(delta.create_nodes, table_name, new)
        return
    if new is None or len(new) == 0:
        if updates_only:
            return
        delta.delete_nodes[table_name] = _concat(delta.delete_nodes.get(table_name), old.column("id"))
        return
    if _same_rows(old, new):
        return
    old_ids, new_ids = old.column("id"), new.column("id")
    is_old = pc.is_in(new_ids, value_set=_flat(old_ids))
    created = new.filter(pc.invert(is_old))
    if len(created) and not updates_only:
        _add(delta.create_nodes, table_name, created)
    gone = pc.filter(old_ids, pc.invert(pc.is_in(old_ids, value_set=_flat(new_ids))))
    if len(gone) and not updates_only:
        delta.delete_nodes[table_name] = _concat(delta.delete_nodes.get(table_name), gone)
    columns = compare if compare is not None else new.column_names
    kept = new.filter(is_old)
    changed = kept.filter(pc.invert(pc.is_in(row_keys(kept, columns), value_set=row_keys(old, columns))))
    if len(changed):
        keep = ["id"] + [c for c in columns if c != "id"]
        _add(delta.update_nodes, table_name, changed.select(keep))


def diff_edges(delta: Delta, table: EdgeTable, old: pa.Table | None, new: pa.Table | None) -> None:
    """Add to ``delta`` what turns the edge rows ``old`` into ``new`` (``from``, ``to``, properties).

    Every (from, to) pair whose rows differ in any way (properties, number
    of copies) is deleted and created again with its new rows.
    """
    old = old if old is not None and len(old) else None
    new = new if new is not None and len(new) else None
    if old is None and new is None:
        return
    if old is None:
        _add(delta.create_edges, table, new)
        return
    if new is None:
        _add(delta.delete_edges, table, _unique_pairs(old))
        delta.deleted_edge_rows[table[0]] = delta.deleted_edge_rows.get(table[0], 0) + len(old)
        return
    if _same_rows(old, new):  # most tables, most runs: a cheap comparison saves the hashing
        return
    # One hash aggregation over both sides: a row whose count differs (absent on one side, or
    # repeated a different number of times) marks its (from, to) pair as changed.
    old_keys, new_keys = row_keys(old), row_keys(new)
    both = pa.table({"key": pa.concat_arrays([old_keys, new_keys]),
                     "new": pa.concat_arrays([pa.repeat(0, len(old_keys)).cast(pa.int64()),
                                              pa.repeat(1, len(new_keys)).cast(pa.int64())])})
    counts = both.group_by("key").aggregate([("new", "sum"), ("new", "count")])
    differs = pc.not_equal(pc.multiply(counts["new_sum"], 2), counts["new_count"])
    changed = counts["key"].filter(differs)
    if len(changed) == 0:
        return
    pairs = pc.unique(pa.concat_arrays([_pair_keys(old.filter(pc.is_in(old_keys, value_set=changed))),
                                        _pair_keys(new.filter(pc.is_in(new_keys, value_set=changed)))]))
    stale = old.filter(pc.is_in(_pair_keys(old), value_set=pairs))
    if len(stale):
        _add(delta.delete_edges, table, _unique_pairs(stale))
        delta.deleted_edge_rows[table[0]] = delta.deleted_edge_rows.get(table[0], 0) + len(stale)
    fresh = new.filter(pc.is_in(_pair_keys(new), value_set=pairs))
    if len(fresh):
        _add(delta.create_edges, table, fresh)


def apply_delta(db: GraphDB, delta: Delta, node_columns: dict[str, list[str]]) -> None:
    """Write ``delta`` into ``db`` (inside the caller's transaction): edges out, nodes out, nodes in, edges in.

    ``node_columns`` lists every node table's columns (to create rows).
    Edge deletions whose endpoints are deleted anyway are skipped.
    """
    deleted = delta.deleted_ids()
    for (rel, src, dst), parts in sorted(delta.delete_edges.items()):
        pairs = pa.concat_tables(parts)
        if len(deleted):
            gone = pc.or_(pc.is_in(pairs.column("from"), value_set=deleted),
                          pc.is_in(pairs.column("to"), value_set=deleted))
            pairs = pairs.filter(pc.invert(gone))
        _run(db, f"MATCH (a:{src} {{id: $c_from}})-[r:{rel}]->(b:{dst} {{id: $c_to}}) DELETE r", pairs)
    for name, ids in sorted(delta.delete_nodes.items()):
        _run(db, f"MATCH (n:{name} {{id: $c_id}}) DETACH DELETE n", pa.table({"id": ids}))
    for name, parts in sorted(delta.create_nodes.items()):
        rows = pa.concat_tables(parts).select(node_columns[name])
        props = ", ".join(f"{c}: $c_{c}" for c in rows.column_names)
        _run(db, f"CREATE (n:{name} {{{props}}})", rows)
    for name, parts in sorted(delta.update_nodes.items()):
        for rows in parts:
            sets = ", ".join(f"n.{c} = $c_{c}" for c in rows.column_names if c != "id")
            _run(db, f"MATCH (n:{name} {{id: $c_id}}) SET {sets}", rows)
    for (rel, src, dst), parts in sorted(delta.create_edges.items()):
        rows = pa.concat_tables(parts)
        props = ", ".join(f"{c}: $c_{c}" for c in rows.column_names if c not in ("from", "to"))
        _run(db, f"MATCH (a:{src} {{id: $c_from}}) MATCH (b:{dst} {{id: $c_to}}) CREATE (a)-[:{rel} {{{props}}}]->(b)",
             rows)


#: Up to this many rows, a statement runs once per row with the row's values as parameters: each is a
#: keyed lookup (~1-2 ms), where one ``LOAD FROM`` statement costs 40-70 ms on Django's graph however
#: few its rows (measured on Kuzu 0.11.3: it joins the rows against the whole table). A one-function
#: change makes about a dozen such statements.
ROW_BY_ROW = 16


def _run(db: GraphDB, statement: str, rows: pa.Table) -> None:
    """Run the statement for every row, its parameters ``$c_<column>`` set to the row's values (``c_``:
    no clash with Cypher words): a few rows one by one, more through one ``LOAD FROM`` the table."""
    if len(rows) == 0:
        return
    renamed = rows.rename_columns([f"c_{c}" for c in rows.column_names])
    if len(rows) <= ROW_BY_ROW:
        for values in renamed.to_pylist():
            db.execute(statement, values)
        return
    db.execute(f"LOAD FROM $rows {statement.replace('$c_', 'c_')}", {"rows": renamed})


def _same_rows(old: pa.Table, new: pa.Table) -> bool:
    """Whether both tables hold the same rows in the same order (same columns)."""
    return old.column_names == new.column_names and len(old) == len(new) and old.equals(new)


def _add(groups: dict, key: object, table: pa.Table) -> None:
    groups.setdefault(key, []).append(table)


def _concat(first: pa.Array | None, more: pa.Array | pa.ChunkedArray) -> pa.Array:
    more = _flat(more)
    return more if first is None else pa.concat_arrays([first, more])


def _flat(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def _pair_keys(table: pa.Table) -> pa.Array:
    return row_keys(table, ["from", "to"]) if len(table) else pa.array([], type=pa.string())


def _unique_pairs(table: pa.Table) -> pa.Table:
    pairs = table.select(["from", "to"])
    return pairs.group_by(["from", "to"]).aggregate([])
