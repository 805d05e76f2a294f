"""Running questions: each clause compiles to parameterized, read-only Cypher.

The subject yields candidate rows; each filter yields the IDs it allows (with
a reason); the answer is their intersection, every row saying why it
matched. User text only ever reaches Kuzu as a query parameter.

Speed (Kuzu 0.11): only ``id`` is indexed, and only ``n.id = $x`` on a single
label uses the index; ``n.id IN $list`` and multi-label patterns scan, and an
``IN`` list is searched linearly per row. So resolved names are looked up one
node at a time with their label in the pattern, each query returns the
columns its rows need (no second round trip for details), and sets of IDs are
fetched with one hash join (`UNWIND`) when they are large. Reasons that need
more lookups (a raise site's ``file:line``) are settled only for the rows that
survive every filter. Names, transitive relations (with one shortest path
each) and class hierarchies are answered from the reach index written
beside the generation (graph/query/reach_index.py), not by recursive queries.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from astrepo.errors import QueryError
from astrepo.graph.db import GraphDB
from astrepo.layout import Layout
from astrepo.graph.query.grammar import Clause, Query, parse_query
from astrepo.graph.query.names import PLACE, Target, resolve_name
from astrepo.graph.query.reach import MAX_DEPTH, all_shortest_paths, paths, reach
from astrepo.graph.query.exception_index import exception_records
from astrepo.graph.query.reach_index import ReachIndex

__all__ = ["MAX_DEPTH", "QueryEngine", "QueryResult", "Row"]

#: Tables a call can start from, and tables a call can end at.
_CALLERS = "Function:Class:Module"
_CALLABLE = ("Function", "Class", "External")

#: Questions about recorded runs.
_RUNTIME = ("raised", "slower_than", "called_more_than", "slow", "never_executed")

#: A function counts as slow when its mean call is at least this long and in the slowest tenth.
SLOW_MIN_MS = 1.0

#: How many nearest symbols a `similar to "..."` filter lets through.
SIMILAR_K = 20

#: Up to this many IDs are fetched one indexed lookup each (~0.4 ms); more take one hash join,
#: which scans the table (Django: ~5 ms for Function, ~45 ms for Stmt, ~30 ms for CallSite).
_FEW_IDS = {"Stmt": 64, "CallSite": 64}
_FEW_IDS_DEFAULT = 8


#: `in P` as a Cypher condition on node ``n``: a file path prefix, or the module/class itself or a
#: dotted name below it (parameters from `_in_prefix_params`).
_IN_PREFIX = "starts_with(n.file, $p) OR n.name = $p OR starts_with(n.name, $dotted)"


def _in_prefix_params(prefix: str) -> dict[str, str]:
    return {"p": prefix, "dotted": prefix + "."}


@dataclass(slots=True)
class Row:
    """One answer: a node and why it matched."""

    id: str
    kind: str  #: function | method | nested | lambda | class | module | external
    name: str
    file: str
    line: int
    why: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    score: float | None = None  #: similarity, when a `similar to` filter ranked the row

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "name": self.name, "file": self.file,
                               "line": self.line, "why": "; ".join(self.why)}
        if self.path:
            out["path"] = self.path
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(slots=True)
class QueryResult:
    """The rows of a question and the Cypher that produced them."""

    query: str
    rows: list[Row]
    cypher: list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class _RaiseWhy:
    """A may-raise reason, turned into text once the answer is known (places the index did not
    store are looked up then, for the final rows only)."""

    exc: str
    origin: str  #: the raise statement's ID
    via: tuple[str, ...]  #: call-site IDs from the function down to the raise
    origin_at: str = ""  #: the raise's ``file:line`` as indexed ('' when the index lacks the places)
    via_at: tuple[str, ...] = ()  #: the call sites' ``file:line`` as indexed (when ``origin_at`` is)


@dataclass(frozen=True, slots=True)
class _LineWhy:
    """A reason at a line of the row's own file (``text at file:line``)."""

    text: str
    line: int  #: 1-based
    end: str = ""  #: text after the place


def node_columns(var: str, labels: str) -> str:
    """The column standing for a node's details (`_run_nodes` turns it into id, label, name, file,
    line, kind from the reach index): its internal ID, which Kuzu returns without reading the
    node's row (properties of scattered rows cost tens of µs each)."""
    return f"id({var})"


#: Node details as queries return them: (label, name, file, line, kind).
_Details = tuple[str, str, str, int, "str | None"]


class QueryEngine:
    """Answers questions on one open (read-only) graph."""

    def __init__(self, db: GraphDB, layout: Layout | None = None) -> None:
        self.db = db
        self.layout = layout  #: needed only by `similar to` (the embedding index lives beside the graph)
        self._log: list[tuple[str, dict[str, Any]]] = []
        self._run_id: str | None = None
        self._scores: dict[str, float] = {}
        self._seen: dict[str, _Details] = {}  #: details of nodes queries returned during one answer
        self._reach_index: ReachIndex | None = None  #: mapped on first use, like the database it belongs to
        self._index_rows: dict[str, int] = {}  #: reach-index rows of the nodes `_indexed_rows` made rows of
        self._semantic: Any = None  #: (embedding index and its model, `_symbol_rows`), from the first `similar to`

    # -- plumbing ------------------------------------------------------------
    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        params = params or {}
        self._log.append((cypher, params))
        return self.db.execute(cypher, params)[1]

    @property
    def index(self) -> ReachIndex:
        """The reach index beside the open database (graph/query/reach_index.py)."""
        if self._reach_index is None:
            self._reach_index = ReachIndex.open(Path(self.db.path).parent)
        return self._reach_index

    def _run_nodes(self, cypher: str, params: dict[str, Any] | None = None, at: int = 0) -> list[list[Any]]:
        """`_run`, with the `node_columns` column at ``at`` expanded to (id, label, name, file, line, kind)."""
        records = self._run(cypher, params)
        if not records:
            return records
        index = self.index
        details = index.nodes([index.row_of(r[at]) for r in records])
        return [[*r[:at], *d, *r[at + 1:]] for r, d in zip(records, details)]

    def _targets(self, name: str, labels: tuple[str, ...] = ("Function", "Class", "Module")) -> list[Target]:
        return resolve_name(self._run, self.index, name, labels)

    def _indexed_rows(self, rows: list[int]) -> list[Row]:
        """The answer rows of reach-index rows (their details remembered for rows made later)."""
        seen, at = self._seen, self._index_rows
        out = []
        for row, (node_id, label, name, file, line, kind) in zip(rows, self.index.nodes(rows)):
            seen[node_id] = (label, name, file, line, kind or None)
            at[node_id] = row
            out.append(Row(node_id, kind if label == "Function" and kind else label.lower(), name, file, line))
        return out

    def _nodes(self, records: list[list[Any]]) -> dict[str, Row]:
        """Rows from records starting with `node_columns` (id, label, name, file, line, kind)."""
        rows: dict[str, Row] = {}
        for rec in records:
            if rec[0] not in rows:
                self._seen[rec[0]] = (rec[1], rec[2], rec[3] or "", int(rec[4] or 0), rec[5])
                rows[rec[0]] = self._row(rec[0])
        return rows

    def _seed(self, records: list[list[Any]]) -> None:
        """Remember the details of records starting with `node_columns`, for rows made later."""
        seen = self._seen
        for rec in records:
            seen[rec[0]] = (rec[1], rec[2], rec[3] or "", int(rec[4] or 0), rec[5])

    def _row(self, node_id: str) -> Row:
        label, name, file, line, kind = self._seen[node_id]
        return Row(node_id, kind if label == "Function" and kind else label.lower(), name, file, line)

    def _by_id(self, ids: list[str] | set[str], labels: tuple[str, ...],
               columns: Callable[[str], str]) -> dict[str, list[Any]]:
        """Records (``columns(label)`` over ``n``) of the nodes with these IDs, trying each label in turn."""
        found: dict[str, list[Any]] = {}
        missing = sorted(set(ids))
        for label in labels:
            if not missing:
                break
            cols = columns(label)
            if len(missing) <= _FEW_IDS.get(label, _FEW_IDS_DEFAULT):
                for node_id in missing:
                    for rec in self._run(f"MATCH (n:{label}) WHERE n.id = $id RETURN {cols}", {"id": node_id}):
                        found[node_id] = rec
            else:
                for rec in self._run(f"UNWIND $ids AS i MATCH (n:{label}) WHERE n.id = i RETURN i, {cols}",
                                     {"ids": missing}):
                    found[rec[0]] = rec[1:]
            missing = [i for i in missing if i not in found]
        return found

    def _lookup(self, ids: Iterable[str], labels: tuple[str, ...]) -> dict[str, Row]:
        """Rows for node IDs, keeping only nodes with one of ``labels``."""
        ids = sorted(set(ids))
        unknown = [i for i in ids if i not in self._seen]
        if unknown:
            found = self._by_id(unknown, labels, lambda label: node_columns("n", label))
            index = self.index
            for node_id, rec in zip(found, index.nodes([index.row_of(r[0]) for r in found.values()])):
                self._seen[node_id] = (rec[1], rec[2], rec[3], rec[4], rec[5] or None)
        return {i: self._row(i) for i in ids if i in self._seen and self._seen[i][0] in labels}

    # -- entry point -----------------------------------------------------------
    def answer(self, text: str | Query, limit: int = 0, run: str | None = None) -> QueryResult:
        """Parse (unless given parsed), compile and run one question (runtime questions use ``run``,
        default the latest)."""
        self._log = []
        self._seen = {}
        self._index_rows = {}
        self._scores = {}
        self._run_id = run
        query = parse_query(text) if isinstance(text, str) else text
        if any(c.form in _RUNTIME for c in (query.subject, *query.filters)):
            self._run_id = self._pick_run(run)
        rows, consumed = self._subject(query)
        for clause in query.filters:
            if clause is not consumed:
                rows = self._filter(clause, rows)
        self._settle_reasons(rows.values())
        ordered = sorted(rows.values(), key=lambda r: (-(r.score or 0.0), len(r.path) if r.path else 0,
                                                       r.name, r.file, r.line))
        if limit:
            ordered = ordered[:limit]
        return QueryResult(query.text, ordered, list(self._log))

    # -- subjects --------------------------------------------------------------
    def _subject(self, query: Query) -> tuple[dict[str, Row], Clause | None]:
        """The subject's rows, and the filter it already applied (if any)."""
        s = query.subject
        form = s.form
        if form in ("functions", "classes"):
            return self._all_of(query)
        if form in ("callers", "callees"):
            rows = self._callers(s.args[0]) if form == "callers" else self._callees(s.args[0])
        elif form == "transitive_callers":
            rows = self._transitive(self._targets(s.args[0]), "CALLS", True, "via")
        elif form == "transitive_callees":
            rows = self._transitive(self._targets(s.args[0]), "CALLS", False, "via")
        elif form == "methods":
            rows = self._methods(s.args[0])
        elif form == "subclasses":
            rows = self._transitive(self._targets(s.args[0], ("Class", "External")), "INHERITS", True,
                                    "inherits via")
        elif form == "recursive":
            rows = self._recursive()
        elif form == "unused":
            rows = self._unused()
        elif form == "entry_points":
            rows = self._entry_points(s.args[0])
        elif form == "paths":
            rows = self._paths(s.args[0], s.args[1])
        elif form == "slow":
            rows = self._slow()
        elif form == "never_executed":
            # Most functions of a project never run in one program: narrow by `in P` in the query.
            within = next((c for c in query.filters if c.form == "in"), None)
            return self._never_executed(within.args[0] if within else None), within
        else:  # pragma: no cover - grammar and engine agree
            raise QueryError(f"unsupported question {form!r}")
        return rows, None

    def _all_of(self, query: Query) -> tuple[dict[str, Row], Clause | None]:
        label = "Function" if query.subject.form == "functions" else "Class"
        narrowing = next((c for c in query.filters if c.form in _NARROWING), None)
        prefix = next((c.args[0] for c in query.filters if c.form == "in"), None)
        if narrowing is not None:
            # Start from the few nodes the filter allows, not from every function. A path prefix
            # (names never hold a "/") can narrow the filter's own query by file.
            self._scores = {}
            allowed = self._allowed(narrowing, prefix if prefix and "/" in prefix else None, label)
            return _narrow(self._lookup(allowed.keys(), (label,)), allowed, self._scores), narrowing
        cols = node_columns("n", label)
        if prefix is None:
            return self._nodes(self._run_nodes(f"MATCH (n:{label}) RETURN {cols}")), None
        return self._nodes(self._run_nodes(f"MATCH (n:{label}) WHERE {_IN_PREFIX} RETURN {cols}",
                                           _in_prefix_params(prefix))), None

    def _call_sites_to(self, targets: list[Target]) -> list[tuple[str, str, int, str]]:
        """(caller ID, file, line, callee name) of every call site calling one of ``targets``, in
        file order; the callers' details come from the function-level CALLS edges (one query each)."""
        sites: list[tuple[str, str, int, str]] = []
        for t in targets:
            if t.label not in _CALLABLE:
                continue
            sites += [(c, f or "", int(n or 0), t.name) for c, f, n in self._run(
                f"MATCH (s:CallSite)-[:CALLS]->(t:{t.label}) WHERE t.id = $id RETURN s.caller, s.file, s.start_line",
                {"id": t.id})]
            self._seed(self._run_nodes(f"MATCH (n:{_CALLERS})-[:CALLS]->(t:{t.label}) WHERE t.id = $id "
                                  f"RETURN {node_columns('n', _CALLERS)}", {"id": t.id}))
        return sorted(sites, key=lambda s: (s[1], s[2], s[0]))

    def _call_sites_in(self, targets: list[Target]) -> list[tuple[str, str, int]]:
        """(callee ID, file, line) of every call made by one of ``targets``, in file order."""
        sites: list[tuple[str, str, int]] = []
        for t in targets:
            if t.label not in _CALLERS.split(":"):
                continue
            # Walk from the caller's function-level edges to each callee's call sites: filtering all
            # call sites on `caller` would scan the largest table.
            records = self._run_nodes(
                f"MATCH (f:{t.label})-[e1:CALLS]->(n:Function:Class:External)<-[e2:CALLS]-(s:CallSite) "
                "WHERE f.id = $id AND s.caller = $id HINT (((f JOIN e1) JOIN n) JOIN e2) JOIN s "
                f"RETURN {node_columns('n', 'Function:Class:External')}, s.file, s.start_line", {"id": t.id})
            self._seed(records)
            sites += [(r[0], r[6] or "", int(r[7] or 0)) for r in records]
        return sorted(sites, key=lambda s: (s[1], s[2], s[0]))

    def _callers(self, name: str) -> dict[str, Row]:
        sites = self._call_sites_to(self._targets(name))
        rows = self._lookup({c for c, _, _, _ in sites}, tuple(_CALLERS.split(":")))
        for caller, file, line, target in sites:
            if caller in rows:
                rows[caller].why.append(f"calls {target} at {file}:{line}")
        return rows

    def _callees(self, name: str) -> dict[str, Row]:
        sites = self._call_sites_in(self._targets(name))
        rows = {callee: self._row(callee) for callee, _, _ in sites}
        for callee, file, line in sites:
            rows[callee].why.append(f"called at {file}:{line}")
        return rows

    def _transitive(self, targets: list[Target], rel: str, backward: bool, verb: str,
                    keep: tuple[str, ...] = ()) -> dict[str, Row]:
        """Rows reaching (``backward``) or reached from ``targets`` over ``rel``, each with one
        shortest path; only nodes with a label in ``keep`` when given."""
        ends = _CALLABLE if rel == "CALLS" and backward else _CALLERS.split(":") if rel == "CALLS" else None
        index = self.index
        rows: dict[str, Row] = {}
        for t in targets:
            if ends is not None and t.label not in ends:
                continue
            self._log.append((f"-- reach index: {rel} {'to' if backward else 'from'} $id --", {"id": t.id}))
            found = reach(index, rel, t.row, backward)
            made = self._indexed_rows(found.order)
            names = {row: made_row.name for row, made_row in zip(found.order, made)}
            names[t.row] = index.name(t.row)
            chains = paths(found, names, backward)
            for row_number, made_row in zip(found.order, made):
                path = chains[row_number]
                if keep and self._seen[made_row.id][0] not in keep:
                    continue
                row = rows.setdefault(made_row.id, made_row)
                if not row.path or len(path) < len(row.path):
                    row.path = path
                    row.why = [f"{verb} {' -> '.join(path)}"]
        return rows

    def _methods(self, name: str) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for c in self._targets(name, ("Class",)):
            for node_id, row in self._nodes(self._run_nodes(
                    f"MATCH (c:Class)-[:DEFINES]->(n:Function) WHERE c.id = $id RETURN {node_columns('n', 'Function')}",
                    {"id": c.id})).items():
                row.why.append(f"defined in {c.name}")
                rows.setdefault(node_id, row)
        return rows

    def _recursive(self) -> dict[str, Row]:
        records = self._run_nodes(f"MATCH (n:Function) WHERE n.recursion <> '' "
                            f"RETURN {node_columns('n', 'Function')}, n.recursion")
        rows = self._nodes(records)
        for rec in records:
            rows[rec[0]].why.append(f"{rec[6]} recursion (a call cycle through it)")
        return rows

    def _unused(self) -> dict[str, Row]:
        # Decided when the index was written (reach_index.UNUSED_WHERE less exported API): functions
        # with no caller that are no test, entry point, override, dunder, decorated or exported function.
        self._log.append(("-- reach index: unused functions --", {}))
        rows: dict[str, Row] = {}
        for row in self._indexed_rows(list(self.index.array("unused"))):
            row.why.append("no call to it in the project (not a test, entry point, override, dunder, decorated "
                           "or exported function)")
            rows[row.id] = row
        return rows

    def _entry_points(self, name: str) -> dict[str, Row]:
        """Entry points (functions called from module-level code, ``main`` functions, tests) among the
        transitive callers: a backward search from the target is far cheaper than a forward search
        from every entry point (thousands of tests)."""
        rows = self._transitive(self._targets(name), "CALLS", True, "reaches it via", keep=("Function",))
        index = self.index
        modules = index.table("Module")
        entries: dict[str, Row] = {}
        for node_id, row in rows.items():
            short = row.name.rsplit(".", 1)[-1]
            base = row.file.rsplit("/", 1)[-1]
            # Callers come by (name, ID): the first module among them has the smallest name.
            module = next((c for c in index.neighbours("CALLS", "in", self._index_rows[node_id])
                           if modules.first <= c < modules.first + modules.size), None)
            if module is not None:
                reason = f"called from module-level code of {index.name(module)}"
            elif short == "main":
                reason = "a main function"
            elif short.startswith("test") and (base.startswith("test") or base.endswith("_test.py")):
                reason = "a test"
            else:
                continue
            row.why.insert(0, reason)
            entries[node_id] = row
        return entries

    def _paths(self, start: str, end: str) -> dict[str, Row]:
        index = self.index
        rows: dict[str, Row] = {}
        for a in self._targets(start):
            for b in self._targets(end):
                if a.label not in _CALLERS.split(":") or b.label not in _CALLABLE:
                    continue
                self._log.append(("-- reach index: all shortest CALLS paths from $a to $b --", {"a": a.id, "b": b.id}))
                for path in all_shortest_paths(index, "CALLS", a.row, b.row):
                    names = [index.name(r) for r in path]
                    row = self._indexed_rows([a.row])[0]
                    row.why, row.path = [" -> ".join(names)], names
                    rows["/".join(index.id(r) for r in path)] = row
        return rows

    # -- filters -----------------------------------------------------------------
    def _allowed(self, clause: Clause, file_prefix: str | None = None, label: str | None = None) -> dict[str, Any]:
        """IDs a filter lets through, with the reason (a string, or a `_RaiseWhy`/`_LineWhy` settled
        later); with ``file_prefix``, only nodes in files under it (the rest may be left out); with
        ``label``, the caller needs only nodes of that table (and the filter may return their details)."""
        where, params = ("", {}) if file_prefix is None else (" AND starts_with({}.file, $prefix)", {"prefix": file_prefix})
        if clause.form == "raising":
            return self._raising(clause.args[0], clause.args[1], file_prefix, label)
        if clause.form == "catching":
            return self._catching(clause.args[0], file_prefix, label)
        if clause.form in ("raised", "slower_than", "called_more_than"):
            return self._runtime_filter(clause)
        if clause.form == "similar":
            return self._similar(clause.args[0])
        if clause.form == "complexity":
            op, n = clause.args
            records = self._run_nodes(f"MATCH (n:Function) WHERE n.cyclomatic {op} $n{where.format('n')} "
                                f"RETURN {node_columns('n', 'Function')}, n.cyclomatic, n.cognitive", {"n": n, **params})
            self._seed(records)
            return {r[0]: f"cyclomatic complexity {r[6]} (cognitive {r[7]})" for r in records}
        targets = self._targets(clause.args[0])
        allowed: dict[str, Any] = {}
        if clause.form == "calling":
            for caller, file, line, target in self._call_sites_to(targets):
                allowed.setdefault(caller, f"calls {target} at {file}:{line}")
        else:
            for callee, file, line in self._call_sites_in(targets):
                allowed.setdefault(callee, f"called by {clause.args[0]} at {file}:{line}")
        return allowed

    def _filter(self, clause: Clause, rows: dict[str, Row]) -> dict[str, Row]:
        form = clause.form
        if form == "in":
            prefix = clause.args[0]
            return {k: r for k, r in rows.items()
                    if r.file.startswith(prefix) or r.name == prefix or r.name.startswith(prefix + ".")}
        if form in _NARROWING:
            self._scores = {}
            allowed = self._allowed(clause)
            return _narrow(rows, allowed, self._scores)
        raise QueryError(f"unsupported filter {form!r}")  # pragma: no cover

    # -- exceptions ------------------------------------------------------------------
    def _exception_names(self, name: str, direction: str) -> set[str]:
        """Short names of ``name`` and its subclasses (``down``) or superclasses (``up``),
        builtin and project classes alike."""
        short = name.rsplit(".", 1)[-1]
        names = {short}
        builtin = getattr(builtins, short, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            if direction == "up":
                names.update(c.__name__ for c in builtin.__mro__ if c is not object)
            else:
                names.update(c.__name__ for c in _builtin_exceptions() if issubclass(c, builtin))
        for base_name, label in self._hierarchy(name, direction):
            names.add(base_name.rsplit(".", 1)[-1])
            base = getattr(builtins, base_name.rsplit(".", 1)[-1], None) if label == "External" else None
            if direction == "up" and isinstance(base, type) and issubclass(base, BaseException):
                names.update(c.__name__ for c in base.__mro__ if c is not object)
        return names

    def _hierarchy(self, name: str, direction: str) -> list[tuple[str, str]]:
        """(name, label) of the classes below (``down``) or above (``up``) the classes or externals
        named ``name`` (an exact name, or else a dotted suffix of one), from the reach index."""
        index = self.index
        if PLACE.match(name):
            try:
                targets = [t.row for t in resolve_name(self._run, index, name, ("Class", "External"), allow_many=True)]
            except QueryError:
                return []
        else:
            targets = [row for label in ("Class", "External") for found in index.find_names(name, label)
                       for row in found]
        # An exact name wins over a dotted suffix, a project class over an external.
        chosen = ([t for t in targets if index.name(t) == name] or [t for t in targets if index.label(t) == "Class"]
                  or targets)
        self._log.append((f"-- reach index: INHERITS {'to' if direction == 'down' else 'from'} $rows --",
                          {"rows": sorted(index.id(t) for t in chosen)}))
        found: set[tuple[str, str]] = set()
        for t in chosen:
            for row in reach(index, "INHERITS", t, direction == "down").order:
                found.add((index.name(row), index.label(row)))
        return sorted(found)

    def _raising(self, name: str, implicit: bool, prefix: str | None = None,
                 label: str | None = None) -> dict[str, Any]:
        """Nodes that may raise ``name`` or a subclass (and, ``implicit``, scopes whose operations
        may raise it implicitly), in files under ``prefix`` when given; with ``label``, the caller
        needs only nodes of that table."""
        names = sorted(self._exception_names(name, "down"))
        index = self.index
        self._log.append(("-- reach index: MAY_RAISE to $names (under $prefix) --", {"names": names, "prefix": prefix}))
        found = exception_records(index, "raise", names, prefix)
        if all(r[2] for r in found):
            records = [[*d, exc, origin_at, via_at, "", ()] for d, (_, exc, origin_at, via_at)
                       in zip(index.nodes([r[0] for r in found]), found)]
        else:  # an index written without the places: the raise and call-site IDs are read from the graph
            where = " AND starts_with(r.file, $prefix)" if prefix is not None else ""
            records = self._run_nodes(f"MATCH (n)-[r:MAY_RAISE]->(e:ExceptionType) WHERE e.short_name IN $names{where} "
                                      f"RETURN {node_columns('n', _CALLERS)}, e.name, r.origin_at, r.via_at, r.origin, "
                                      "r.via", {"names": names, **({"prefix": prefix} if prefix is not None else {})})
        self._seed(records)
        # One reason per function, the same every time: the asked class before its subclasses,
        # then the shortest call path.
        asked = name.rsplit(".", 1)[-1]
        records.sort(key=lambda r: (r[6].rsplit(".", 1)[-1] != asked, len(r[8] or r[10] or ()), r[6], r[7],
                                    list(r[8] or ()), r[9]))
        allowed: dict[str, Any] = {}
        for rec in records:
            allowed.setdefault(rec[0], _RaiseWhy(rec[6], rec[9], tuple(rec[10] or ()), rec[7] or "",
                                                 tuple(rec[8] or ())))
        if implicit:
            for scope, line, exc, op in self._scoped("implicit", names, prefix, label):
                allowed.setdefault(scope, _LineWhy(f"implicitly raises {exc} ({op}", line, ")"))
        return allowed

    def _catching(self, name: str, prefix: str | None = None, label: str | None = None) -> dict[str, Any]:
        names = sorted(self._exception_names(name, "up"))
        allowed: dict[str, Any] = {}
        for scope, line, exc in self._scoped("catch", names, prefix, label):
            allowed.setdefault(scope, _LineWhy(f"catches {exc}", line))
        return allowed

    def _scoped(self, kind: str, names: list[str], prefix: str | None, label: str | None) -> list[tuple]:
        """(scope ID, line, exception, *more) of the IMPLICIT_RAISE (``implicit``) or CATCHES
        (``catch``) edges about these exception short names, from the reach index, ordered by them;
        with ``label``, only scopes with that label (under ``prefix`` when given). Their details
        are remembered for the rows made later."""
        index = self.index
        self._log.append((f"-- reach index: {kind} of $names (under $prefix) --", {"names": names, "prefix": prefix}))
        found = exception_records(index, kind, names, prefix if label is not None else None)
        if label is not None:
            table = index.table(label)
            found = [r for r in found if table.first <= r[0] < table.first + table.size]
        rows = sorted({r[0] for r in found})
        details = index.nodes(rows)
        self._seed([list(d) for d in details])
        node_id = {row: d[0] for row, d in zip(rows, details)}
        return sorted((node_id[row], line, exc, *more) for row, exc, line, *more in found)

    def _settle_reasons(self, rows: Any) -> None:
        """Turn the reasons of the final rows into text: a raise's site and call path (looked up
        only where the index did not store them), a line in the row's file."""
        rows = list(rows)
        pending = [w for row in rows for w in row.why if isinstance(w, _RaiseWhy)]
        places: dict[str, str] = {}
        origins = [w.origin for w in pending if not w.origin_at]
        if origins:
            places.update({i: f"{r[0]}:{r[1]}" for i, r in self._by_id(
                origins, ("Stmt", "Function", "Class"), _place_columns).items()})
        sites = [v for w in pending if not w.origin_at for v in w.via]
        if sites:
            places.update({i: f"{r[0]}:{r[1]}" for i, r in self._by_id(sites, ("CallSite",), _place_columns).items()})
        for row in rows:
            row.why = [_raise_text(w, places) if isinstance(w, _RaiseWhy)
                       else f"{w.text} at {row.file}:{w.line}{w.end}" if isinstance(w, _LineWhy) else w
                       for w in row.why]

    # -- similarity -------------------------------------------------------------------
    def _similar(self, text: str) -> dict[str, Any]:
        """The symbols nearest to a description, from the embedding index (loaded only here:
        torch and the model stay out of every other question)."""
        from astrepo.embeddings.search import SemanticIndex

        if self.layout is None:
            raise QueryError("'similar to' needs the engine's database folder (open it with open_engine)")
        self._log.append(("-- vector search (FAISS) --", {"text": text, "k": SIMILAR_K}))
        if self._semantic is None:  # loading the vectors and the model takes seconds: once per engine
            self._semantic = SemanticIndex.open(self.layout), self._symbol_rows()
        semantic, symbol_rows = self._semantic
        hits = semantic.search(text, k=SIMILAR_K)
        # The hits' details come from the reach index (a Kuzu lookup of 20 IDs scans the tables);
        # an ID the graph no longer has (embeddings older than the graph) is left to `_lookup`.
        self._indexed_rows([symbol_rows[h.id] for h in hits if h.id in symbol_rows])
        self._scores = {h.id: h.score for h in hits}
        return {h.id: f"similar to {text!r} (score {h.score:.2f})" for h in hits}

    def _symbol_rows(self) -> dict[str, int]:
        """The reach-index row of every function, class and module ID (the symbols embeddings hold)."""
        index = self.index
        ids = index.strings("id")
        rows: dict[str, int] = {}
        for label in ("Function", "Class", "Module"):
            table = index.table(label)
            span = range(table.first, table.first + table.size)
            rows.update(zip(ids.range(span.start, span.stop), span))
        return rows

    # -- runtime ---------------------------------------------------------------------
    def _pick_run(self, run: str | None) -> str:
        if run:
            found = self._run("MATCH (r:Run) WHERE r.id = $id OR starts_with(r.id, $id) RETURN r.id ORDER BY r.id",
                              {"id": run})
            if not found:
                raise QueryError(f"no traced run {run!r}; `astrepo events --json` lists the runs")
            return found[-1][0]
        latest = self._run("MATCH (r:Run) RETURN r.id ORDER BY r.start_ns DESC LIMIT 1")
        if not latest:
            raise QueryError("no traced runs in this index: run `astrepo trace -- COMMAND` first")
        return latest[0][0]

    def _runtime_filter(self, clause: Clause) -> dict[str, Any]:
        run = self._run_id
        allowed: dict[str, Any] = {}
        if clause.form == "raised":
            names = sorted(self._exception_names(clause.args[0], "down"))
            for fid, exc, file, line, role, message in self._run(
                    "MATCH (e:Event)-[o:OBSERVED_AT]->(f) WHERE e.run = $run AND o.role IN ['raised', 'propagated'] "
                    "RETURN f.id, e.exc_type, e.file, e.line, o.role, e.message ORDER BY e.ts_ns", {"run": run}):
                if exc.rsplit(".", 1)[-1] in names:
                    allowed.setdefault(fid, f"{role} {exc}({message!r}) raised at {file}:{line} in run {run}")
            return allowed
        for fid, calls, mean_ns, max_ns in self._stats():
            if clause.form == "slower_than" and mean_ns / 1e6 > clause.args[0]:
                allowed[fid] = f"mean {mean_ns / 1e6:.2f} ms over {calls} calls (max {max_ns / 1e6:.2f} ms)"
            elif clause.form == "called_more_than" and calls > clause.args[0]:
                allowed[fid] = f"called {calls} times in run {run}"
        return allowed

    def _stats(self) -> list[list[Any]]:
        """(function ID, calls, mean ns, max ns) of the functions called in the run; seeds their details."""
        records = self._run_nodes(f"MATCH (s:RuntimeStat)-[:STAT_OF]->(n:Function) WHERE s.run = $run AND s.calls > 0 "
                            f"RETURN {node_columns('n', 'Function')}, s.calls, s.mean_ns, s.max_ns",
                            {"run": self._run_id})
        self._seed(records)
        return [[r[0], *r[6:]] for r in records]

    def _slow(self) -> dict[str, Row]:
        stats = self._stats()
        if not stats:
            return {}
        means = sorted(r[2] for r in stats)
        cut = max(SLOW_MIN_MS * 1e6, means[int(0.9 * (len(means) - 1))])
        rows: dict[str, Row] = {}
        for fid, calls, mean_ns, max_ns in stats:
            if mean_ns >= cut:
                rows[fid] = self._row(fid)
                rows[fid].why.append(f"mean {mean_ns / 1e6:.2f} ms over {calls} calls (max {max_ns / 1e6:.2f} ms), "
                                     "in the slowest tenth")
        return rows

    def _never_executed(self, prefix: str | None = None) -> dict[str, Row]:
        """Functions (not lambdas) with no call in the run, within ``prefix`` (as `in P` reads it)."""
        ran = {r[0] for r in self._run("MATCH (s:RuntimeStat)-[:STAT_OF]->(n:Function) WHERE s.run = $run "
                                       "AND s.calls > 0 RETURN n.id", {"run": self._run_id})}
        where, params = "n.kind <> 'lambda'", {}
        if prefix is not None:
            where += f" AND ({_IN_PREFIX})"
            params = _in_prefix_params(prefix)
        records = self._run_nodes(f"MATCH (n:Function) WHERE {where} RETURN {node_columns('n', 'Function')}", params)
        rows = self._nodes([r for r in records if r[0] not in ran])
        for row in rows.values():
            row.why.append(f"no call recorded in run {self._run_id}")
        return rows


#: Filters that can start a `functions` question from a small set.
_NARROWING = ("calling", "called_by", "raising", "catching", "complexity", "raised", "slower_than", "called_more_than",
              "similar")


def _builtin_exceptions() -> list[type]:
    return [v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException)]


def _place_columns(label: str) -> str:
    return "n.file, n.start_line"


def _raise_text(why: _RaiseWhy, places: dict[str, str]) -> str:
    if why.origin_at:
        where, via = why.origin_at, why.via_at
    else:
        where, via = places.get(why.origin, "?"), tuple(places.get(v, "?") for v in why.via)
    return f"may raise {why.exc} (raised at {where}" + (f", via calls at {' -> '.join(via)})" if via else ")")


def _narrow(rows: dict[str, Row], allowed: dict[str, Any], scores: dict[str, float] | None = None) -> dict[str, Row]:
    out = {}
    for key, row in rows.items():
        if row.id in allowed:
            row.why.append(allowed[row.id])
            if scores and row.id in scores:
                row.score = scores[row.id]
            out[key] = row
    return out
