"""Running questions: each clause compiles to parameterized, read-only Cypher.

The subject yields candidate rows; each filter yields the IDs it allows (with
a reason); the answer is their intersection, every row saying why it
matched. User text only ever reaches Kuzu as a query parameter.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from astrepo.errors import QueryError
from astrepo.graph.db import GraphDB
from astrepo.layout import Layout
from astrepo.graph.query.grammar import Clause, Query, parse_query
from astrepo.graph.query.names import Target, resolve_name

#: Longest call chain followed by transitive questions and path searches.
MAX_DEPTH = 12

_NODE = "n.id, label(n), n.name, n.file, n.start_line"
_CALLERS = "Function:Class:Module"

#: Filters and subjects that need facts later index or trace stages provide.
#: Questions about recorded runs.
_RUNTIME = ("raised", "slower_than", "called_more_than", "slow", "never_executed")

#: A function counts as slow when its mean call is at least this long and in the slowest tenth.
SLOW_MIN_MS = 1.0

_NEEDS: dict[str, str] = {}

#: How many nearest symbols a `similar to "..."` filter lets through.
SIMILAR_K = 20


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


class QueryEngine:
    """Answers questions on one open (read-only) graph."""

    def __init__(self, db: GraphDB, layout: Layout | None = None) -> None:
        self.db = db
        self.layout = layout  #: needed only by `similar to` (the embedding index lives beside the graph)
        self._log: list[tuple[str, dict[str, Any]]] = []
        self._run_id: str | None = None
        self._scores: dict[str, float] = {}

    # -- plumbing ------------------------------------------------------------
    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        params = params or {}
        self._log.append((cypher, params))
        return self.db.execute(cypher, params)[1]

    def _targets(self, name: str, labels: tuple[str, ...] = ("Function", "Class", "Module")) -> list[Target]:
        return resolve_name(self.db, name, labels)

    def _rows(self, records: list[list[Any]], kinds_known: bool = False) -> dict[str, Row]:
        """Rows from (id, label or kind, name, file, line, ...) records."""
        rows: dict[str, Row] = {}
        for rec in records:
            node_id, label, name, file, line = rec[:5]
            if node_id not in rows:
                rows[node_id] = Row(node_id, label.lower(), name, file or "", int(line or 0))
        if not kinds_known:
            self._fill_kinds(rows)
        return rows

    def _fill_kinds(self, rows: dict[str, Row]) -> None:
        ids = [r.id for r in rows.values() if r.kind == "function"]
        if ids:
            for node_id, kind in self._run("MATCH (f:Function) WHERE f.id IN $ids RETURN f.id, f.kind", {"ids": ids}):
                rows[node_id].kind = kind

    # -- entry point -----------------------------------------------------------
    def answer(self, text: str | Query, limit: int = 0, run: str | None = None) -> QueryResult:
        """Parse (unless given parsed), compile and run one question (runtime questions use ``run``,
        default the latest)."""
        self._log = []
        self._run_id = run
        query = parse_query(text) if isinstance(text, str) else text
        text = query.text
        for clause in (query.subject, *query.filters):
            if clause.form in _NEEDS:
                raise QueryError(f"{_describe(clause)} needs {_NEEDS[clause.form]}")
        if any(c.form in _RUNTIME for c in (query.subject, *query.filters)):
            self._run_id = self._pick_run(run)
        rows = self._subject(query)
        for clause in query.filters:
            rows = self._filter(clause, rows)
        ordered = sorted(rows.values(), key=lambda r: (-(r.score or 0.0), len(r.path) if r.path else 0,
                                                       r.name, r.file, r.line))
        if limit:
            ordered = ordered[:limit]
        return QueryResult(text, ordered, list(self._log))

    # -- subjects --------------------------------------------------------------
    def _subject(self, query: Query) -> dict[str, Row]:
        s = query.subject
        form = s.form
        if form in ("callers", "callees"):
            return self._direct(form, s.args[0])
        if form in ("transitive_callers", "transitive_callees"):
            return self._transitive(form, s.args[0])
        if form in ("functions", "classes"):
            label = "Function" if form == "functions" else "Class"
            project = "n.id, n.kind, n.name, n.file, n.start_line" if label == "Function" else _NODE
            narrowing = next((c for c in query.filters if c.form in _NARROWING), None)
            if narrowing is not None:
                # Start from the few nodes the call filter allows, not from every function.
                ids = sorted(self._allowed(narrowing))
                return self._rows(self._run(f"MATCH (n:{label}) WHERE n.id IN $ids RETURN {project}", {"ids": ids}),
                                  kinds_known=True)
            prefix = next((c.args[0] for c in query.filters if c.form == "in"), None)
            if prefix is None:
                return self._rows(self._run(f"MATCH (n:{label}) RETURN {project}"), kinds_known=True)
            return self._rows(self._run(
                f"MATCH (n:{label}) WHERE starts_with(n.file, $p) OR n.name = $p OR starts_with(n.name, $dotted) "
                f"RETURN {project}", {"p": prefix, "dotted": prefix + "."}), kinds_known=True)
        if form == "methods":
            classes = self._targets(s.args[0], ("Class",))
            rows = self._rows(self._run(
                f"MATCH (c:Class)-[:DEFINES]->(n:Function) WHERE c.id IN $ids RETURN {_NODE}, c.name",
                {"ids": [c.id for c in classes]}))
            for row in rows.values():
                row.why.append(f"defined in {classes[0].name}")
            return rows
        if form == "subclasses":
            bases = self._targets(s.args[0], ("Class", "External"))
            records = self._run(
                f"MATCH p = (n:Class)-[:INHERITS* SHORTEST 1..{MAX_DEPTH}]->(c) WHERE c.id IN $ids "
                f"RETURN {_NODE}, properties(nodes(p), 'name')", {"ids": [b.id for b in bases]})
            return self._with_paths(records, "inherits via")
        if form == "recursive":
            return self._recursive()
        if form == "unused":
            return self._unused()
        if form == "entry_points":
            return self._entry_points(s.args[0])
        if form == "paths":
            return self._paths(s.args[0], s.args[1])
        if form == "slow":
            return self._slow()
        if form == "never_executed":
            return self._never_executed()
        raise QueryError(f"unsupported question {form!r}")  # pragma: no cover - grammar and engine agree

    def _direct(self, form: str, name: str) -> dict[str, Row]:
        targets = self._targets(name)
        ids = [t.id for t in targets]
        if form == "callers":
            sites = self._run("MATCH (s:CallSite)-[:CALLS]->(t) WHERE t.id IN $ids "
                              "RETURN s.caller, s.file, s.start_line, t.name ORDER BY s.file, s.start_line", {"ids": ids})
            callers = self._rows(self._run(f"MATCH (n:{_CALLERS}) WHERE n.id IN $ids RETURN {_NODE}",
                                           {"ids": sorted({r[0] for r in sites})}))
            for caller, file, line, target in sites:
                if caller in callers:
                    callers[caller].why.append(f"calls {target} at {file}:{line}")
            return callers
        records = self._run("MATCH (s:CallSite)-[:CALLS]->(n) WHERE s.caller IN $ids "
                            f"RETURN {_NODE}, s.file, s.start_line ORDER BY s.file, s.start_line", {"ids": ids})
        rows = self._rows(records)
        for rec in records:
            rows[rec[0]].why.append(f"called at {rec[5]}:{rec[6]}")
        return rows

    def _transitive(self, form: str, name: str) -> dict[str, Row]:
        ids = [t.id for t in self._targets(name)]
        if form == "transitive_callers":
            cypher = (f"MATCH p = (n:{_CALLERS})-[:CALLS* SHORTEST 1..{MAX_DEPTH}]->(t) WHERE t.id IN $ids "
                      f"RETURN {_NODE}, properties(nodes(p), 'name')")
        else:
            cypher = (f"MATCH p = (s)-[:CALLS* SHORTEST 1..{MAX_DEPTH}]->(n:Function:Class:External) "
                      f"WHERE s.id IN $ids RETURN {_NODE}, properties(nodes(p), 'name')")
        return self._with_paths(self._run(cypher, {"ids": ids}), "via")

    def _with_paths(self, records: list[list[Any]], verb: str) -> dict[str, Row]:
        rows = self._rows(records)
        for rec in records:
            row, path = rows[rec[0]], list(rec[5])
            if not row.path or len(path) < len(row.path):
                row.path = path
                row.why = [f"{verb} {' -> '.join(path)}"]
        return rows

    def _recursive(self) -> dict[str, Row]:
        records = self._run("MATCH (n:Function) WHERE n.recursion <> '' "
                            "RETURN n.id, n.kind, n.name, n.file, n.start_line, n.recursion")
        rows = self._rows(records, kinds_known=True)
        for rec in records:
            rows[rec[0]].why.append(f"{rec[5]} recursion (a call cycle through it)")
        return rows

    def _unused(self) -> dict[str, Row]:
        records = self._run(
            "MATCH (n:Function) WHERE n.fan_in = 0 "
            "RETURN n.id, n.kind, n.name, n.file, n.start_line, n.short_name, n.kind AS fkind, n.decorators")
        # Overrides are reached through the base class (dynamic dispatch): not unused.
        overrides = {r[0] for r in self._run(
            f"MATCH (c:Class)-[:DEFINES]->(n:Function), (c)-[:INHERITS*1..{MAX_DEPTH}]->(b:Class)-[:DEFINES]->(m:Function) "
            "WHERE m.short_name = n.short_name RETURN DISTINCT n.id")}
        keep = []
        for rec in records:
            if rec[0] in overrides:
                continue
            short, kind, decorators, file = rec[5], rec[6], rec[7], rec[3] or ""
            base = file.rsplit("/", 1)[-1]
            if (kind == "lambda" or decorators or short == "main" or (short.startswith("__") and short.endswith("__"))
                    or short.startswith("test") or base.startswith("test_") or base == "conftest.py"
                    or "/tests/" in f"/{file}"):
                continue
            keep.append(rec)
        rows = self._rows(keep, kinds_known=True)
        for row in rows.values():
            row.why.append("no call to it in the project (not a test, entry point, override, dunder or decorated function)")
        return rows

    def _entry_ids(self) -> dict[str, str]:
        """Entry points: functions called from module-level code, ``main`` functions, tests."""
        entries: dict[str, str] = {}
        for fid, module in self._run("MATCH (m:Module)-[:CALLS]->(f:Function) RETURN f.id, m.name"):
            entries.setdefault(fid, f"called from module-level code of {module}")
        for fid, short, file in self._run(
                "MATCH (f:Function) WHERE f.short_name = 'main' OR starts_with(f.short_name, 'test') "
                "RETURN f.id, f.short_name, f.file"):
            base = (file or "").rsplit("/", 1)[-1]
            if short == "main" or base.startswith("test") or base.endswith("_test.py"):
                entries.setdefault(fid, "a main function" if short == "main" else "a test")
        return entries

    def _entry_points(self, name: str) -> dict[str, Row]:
        # Search backwards from the target (its transitive callers), then keep the entry points:
        # a forward search from every entry point (thousands of tests) is far slower.
        entries = self._entry_ids()
        targets = [t.id for t in self._targets(name)]
        records = self._run(
            f"MATCH p = (n:Function)-[:CALLS* SHORTEST 1..{MAX_DEPTH}]->(t) WHERE t.id IN $ids "
            f"RETURN {_NODE}, properties(nodes(p), 'name')", {"ids": targets})
        rows = self._with_paths([r for r in records if r[0] in entries], "reaches it via")
        for row in rows.values():
            row.why.insert(0, entries[row.id])
        return rows

    def _paths(self, start: str, end: str) -> dict[str, Row]:
        a = [t.id for t in self._targets(start)]
        b = [t.id for t in self._targets(end)]
        records = self._run(
            f"MATCH p = (n)-[:CALLS* ALL SHORTEST 1..{MAX_DEPTH}]->(t) WHERE n.id IN $a AND t.id IN $b "
            f"RETURN {_NODE}, properties(nodes(p), 'name'), properties(nodes(p), 'id')", {"a": a, "b": b})
        rows: dict[str, Row] = {}
        base = self._rows(records)
        for rec in records:
            names, ids = list(rec[5]), list(rec[6])
            key = "/".join(ids)
            src = base[rec[0]]
            rows[key] = Row(src.id, src.kind, src.name, src.file, src.line, [" -> ".join(names)], names)
        return rows

    # -- filters -----------------------------------------------------------------
    def _allowed(self, clause: Clause) -> dict[str, str]:
        """IDs a filter lets through, with the reason. Only the named targets go to
        Kuzu (small IN lists); the caller intersects in Python."""
        if clause.form == "raising":
            return self._raising(clause.args[0], implicit=clause.args[1])
        if clause.form == "catching":
            return self._catching(clause.args[0])
        if clause.form in ("raised", "slower_than", "called_more_than"):
            return self._runtime_filter(clause)
        if clause.form == "similar":
            return self._similar(clause.args[0])
        if clause.form == "complexity":
            op, n = clause.args
            return {r[0]: f"cyclomatic complexity {r[1]} (cognitive {r[2]})" for r in self._run(
                f"MATCH (f:Function) WHERE f.cyclomatic {op} $n RETURN f.id, f.cyclomatic, f.cognitive", {"n": n})}
        ids = [t.id for t in self._targets(clause.args[0])]
        allowed: dict[str, str] = {}
        if clause.form == "calling":
            for caller, file, line, target in self._run(
                    "MATCH (s:CallSite)-[:CALLS]->(t) WHERE t.id IN $ids "
                    "RETURN s.caller, s.file, s.start_line, t.name", {"ids": ids}):
                allowed.setdefault(caller, f"calls {target} at {file}:{line}")
        else:
            for callee, file, line in self._run(
                    "MATCH (s:CallSite)-[:CALLS]->(t) WHERE s.caller IN $ids "
                    "RETURN t.id, s.file, s.start_line", {"ids": ids}):
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
        try:
            targets = resolve_name(self.db, name, ("Class", "External"), allow_many=True)
        except QueryError:
            targets = []
        if targets:
            ids = [t.id for t in targets]
            pattern = ("(n:Class)-[:INHERITS*1..{d}]->(t)" if direction == "down" else "(t)-[:INHERITS*1..{d}]->(n)")
            for (found,) in self._run(f"MATCH {pattern.format(d=MAX_DEPTH)} WHERE t.id IN $ids RETURN DISTINCT n.name",
                                      {"ids": ids}):
                names.add(found.rsplit(".", 1)[-1])
            if direction == "up":
                for (found,) in self._run(f"MATCH (t)-[:INHERITS*1..{MAX_DEPTH}]->(n:External) WHERE t.id IN $ids "
                                          "RETURN DISTINCT n.name", {"ids": ids}):
                    base = getattr(builtins, found.rsplit(".", 1)[-1], None)
                    if isinstance(base, type) and issubclass(base, BaseException):
                        names.update(c.__name__ for c in base.__mro__ if c is not object)
        return names

    def _raising(self, name: str, implicit: bool) -> dict[str, str]:
        names = sorted(self._exception_names(name, "down"))
        records = self._run("MATCH (f)-[r:MAY_RAISE]->(e:ExceptionType) WHERE e.short_name IN $names "
                            "RETURN f.id, e.name, r.origin, r.via", {"names": names})
        places = self._places([r[2] for r in records] + [v for r in records for v in r[3]])
        allowed: dict[str, str] = {}
        for fid, exc, origin, via in records:
            if fid in allowed:
                continue
            where = places.get(origin, "?")
            path = " -> ".join(places.get(v, "?") for v in via)
            allowed[fid] = f"may raise {exc} (raised at {where}" + (f", via calls at {path})" if via else ")")
        if implicit:
            for scope, exc, file, line, op in self._run(
                    "MATCH (s:Stmt)-[r:IMPLICIT_RAISE]->(e:ExceptionType) WHERE e.short_name IN $names AND NOT r.caught "
                    "RETURN s.scope, e.name, s.file, s.start_line, r.op", {"names": names}):
                allowed.setdefault(scope, f"implicitly raises {exc} ({op} at {file}:{line})")
        return allowed

    def _catching(self, name: str) -> dict[str, str]:
        names = sorted(self._exception_names(name, "up"))
        allowed: dict[str, str] = {}
        for scope, exc, file, line in self._run(
                "MATCH (s:Stmt)-[:CATCHES]->(e:ExceptionType) WHERE e.short_name IN $names "
                "RETURN s.scope, e.name, s.file, s.start_line", {"names": names}):
            allowed.setdefault(scope, f"catches {exc} at {file}:{line}")
        return allowed

    # -- similarity -------------------------------------------------------------------
    def _similar(self, text: str) -> dict[str, str]:
        """The symbols nearest to a description, from the embedding index (loaded only here:
        torch and the model stay out of every other question)."""
        from astrepo.embeddings.search import SemanticIndex

        if self.layout is None:
            raise QueryError("'similar to' needs the engine's database folder (open it with open_engine)")
        self._log.append(("-- vector search (FAISS) --", {"text": text, "k": SIMILAR_K}))
        hits = SemanticIndex.open(self.layout).search(text, k=SIMILAR_K)
        self._scores = {h.id: h.score for h in hits}
        return {h.id: f"similar to {text!r} (score {h.score:.2f})" for h in hits}

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

    def _runtime_filter(self, clause: Clause) -> dict[str, str]:
        run = self._run_id
        allowed: dict[str, str] = {}
        if clause.form == "raised":
            names = sorted(self._exception_names(clause.args[0], "down"))
            for fid, exc, file, line, role, message in self._run(
                    "MATCH (e:Event)-[o:OBSERVED_AT]->(f) WHERE e.run = $run AND o.role IN ['raised', 'propagated'] "
                    "RETURN f.id, e.exc_type, e.file, e.line, o.role, e.message ORDER BY e.ts_ns", {"run": run}):
                if exc.rsplit(".", 1)[-1] in names:
                    allowed.setdefault(fid, f"{role} {exc}({message!r}) raised at {file}:{line} in run {run}")
            return allowed
        stats = self._run("MATCH (s:RuntimeStat)-[:STAT_OF]->(f:Function) WHERE s.run = $run AND s.calls > 0 "
                          "RETURN f.id, s.calls, s.mean_ns, s.max_ns", {"run": run})
        for fid, calls, mean_ns, max_ns in stats:
            if clause.form == "slower_than" and mean_ns / 1e6 > clause.args[0]:
                allowed[fid] = f"mean {mean_ns / 1e6:.2f} ms over {calls} calls (max {max_ns / 1e6:.2f} ms)"
            elif clause.form == "called_more_than" and calls > clause.args[0]:
                allowed[fid] = f"called {calls} times in run {run}"
        return allowed

    def _slow(self) -> dict[str, Row]:
        stats = self._run("MATCH (s:RuntimeStat)-[:STAT_OF]->(f:Function) WHERE s.run = $run AND s.calls > 0 "
                          "RETURN f.id, s.calls, s.mean_ns, s.max_ns", {"run": self._run_id})
        if not stats:
            return {}
        means = sorted(r[2] for r in stats)
        cut = max(SLOW_MIN_MS * 1e6, means[int(0.9 * (len(means) - 1))])
        why = {r[0]: f"mean {r[2] / 1e6:.2f} ms over {r[1]} calls (max {r[3] / 1e6:.2f} ms), in the slowest tenth"
               for r in stats if r[2] >= cut}
        rows = self._rows(self._run("MATCH (n:Function) WHERE n.id IN $ids "
                                    "RETURN n.id, n.kind, n.name, n.file, n.start_line", {"ids": sorted(why)}),
                          kinds_known=True)
        for row in rows.values():
            row.why.append(why[row.id])
        return rows

    def _never_executed(self) -> dict[str, Row]:
        records = self._run(
            "MATCH (n:Function) WHERE n.kind <> 'lambda' AND NOT EXISTS { MATCH (s:RuntimeStat)-[:STAT_OF]->(n) "
            "WHERE s.run = $run AND s.calls > 0 } RETURN n.id, n.kind, n.name, n.file, n.start_line",
            {"run": self._run_id})
        rows = self._rows(records, kinds_known=True)
        for row in rows.values():
            row.why.append(f"no call recorded in run {self._run_id}")
        return rows

    def _places(self, ids: list[str]) -> dict[str, str]:
        """``file:line`` of statements and call sites by ID."""
        if not ids:
            return {}
        out = {}
        for label in ("Stmt", "CallSite"):
            for node_id, file, line in self._run(f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id, n.file, n.start_line",
                                                 {"ids": sorted(set(ids))}):
                out[node_id] = f"{file}:{line}"
        return out


#: Filters that can start a `functions` question from a small set.
_NARROWING = ("calling", "called_by", "raising", "catching", "complexity", "raised", "slower_than", "called_more_than",
              "similar")


def _builtin_exceptions() -> list[type]:
    return [v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException)]


def _narrow(rows: dict[str, Row], allowed: dict[str, str], scores: dict[str, float] | None = None) -> dict[str, Row]:
    out = {}
    for key, row in rows.items():
        if row.id in allowed:
            row.why.append(allowed[row.id])
            if scores and row.id in scores:
                row.score = scores[row.id]
            out[key] = row
    return out


def _describe(clause: Clause) -> str:
    return {"raising": "'raising'", "catching": "'catching'", "complexity": "'with complexity'",
            "raised": "'that raised'", "slower_than": "'slower than'", "called_more_than": "'called more than'",
            "slow": "'slow functions'", "never_executed": "'never executed functions'",
            "similar": "'similar to'"}.get(clause.form, repr(clause.form))
