"""Typed records of the code property graph and of per-file facts.

Everything a pipeline stage hands to the next is one of these records, so
stages stay pure functions and per-file results can be cached (pickled) and
sent between processes. Records that are created by the hundred thousand and
pickled between processes (bindings, scopes, call facts) are NamedTuples:
as immutable and typed as frozen dataclasses, but pickled as plain tuples,
which is several times faster. Node and edge rows travel column-wise
(`NodeColumns`, `EdgeColumns`), with `Node`/`Edge` as their typed view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from collections.abc import Iterator
from typing import Any, NamedTuple

from astrepo.ids import NodeId


#: ``new_record(Record, (field, ...))``: a NamedTuple record made in C. Calling the record's class runs its
#: Python ``__new__`` (about 0.4 us); extraction and the per-file analyzers make a million records on Django.
new_record = tuple.__new__


class NodeKind(str, Enum):
    """Node tables of the graph."""

    FILE = "File"
    MODULE = "Module"
    CLASS = "Class"
    FUNCTION = "Function"
    PARAMETER = "Parameter"
    CALLSITE = "CallSite"
    STMT = "Stmt"
    EXTERNAL = "External"
    EXCEPTION_TYPE = "ExceptionType"


#: Node table of each kind of scope (`ScopeFacts.kind`).
SCOPE_TABLES = {"module": NodeKind.MODULE, "class": NodeKind.CLASS, "function": NodeKind.FUNCTION,
                "lambda": NodeKind.FUNCTION}


class EdgeKind(str, Enum):
    """Relationship tables of the graph."""

    CONTAINS = "CONTAINS"
    DEFINES = "DEFINES"
    IMPORTS = "IMPORTS"
    INHERITS = "INHERITS"
    CALLS = "CALLS"
    CFG_NEXT = "CFG_NEXT"
    REACHES = "REACHES"
    RAISES_AT = "RAISES_AT"
    IMPLICIT_RAISE = "IMPLICIT_RAISE"
    CATCHES = "CATCHES"
    MAY_RAISE = "MAY_RAISE"
    PASSES = "PASSES"  #: a call site passes an argument to a parameter of its callee
    RETURNS_TO = "RETURNS_TO"  #: the value of a ``return`` flows to a call site of its function


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node sits in its file."""

    start_line: int  #: 1-based line
    start_col: int  #: 0-based column, in UTF-8 bytes
    end_line: int  #: 1-based line
    end_col: int  #: 0-based column, in UTF-8 bytes, exclusive


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the graph; ``attrs`` holds the table-specific columns."""

    id: NodeId
    kind: NodeKind
    name: str  #: qualified dotted name, or a short label for nodes without one
    file: str  #: repo-relative POSIX path ("" for external symbols)
    span: Span
    attrs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Edge(NamedTuple):
    """One relationship; ``src_kind``/``dst_kind`` name the node tables it joins.

    A NamedTuple, not a frozen dataclass: name resolution and the project-wide analyses make some
    750k of them on Django, and a frozen dataclass costs ~0.7 us to make against ~0.25 us.
    """

    kind: EdgeKind
    src: NodeId
    src_kind: NodeKind
    dst: NodeId
    dst_kind: NodeKind
    attrs: tuple[tuple[str, Any], ...] = ()

    def key(self) -> tuple[str, str, str, tuple[tuple[str, Any], ...]]:
        """Identity of the edge for set arithmetic (incremental diffs)."""
        return (self.kind.value, self.src, self.dst, self.attrs)


class Severity(str, Enum):
    """How bad a diagnostic is."""

    ERROR = "error"  #: the file was indexed only partly (syntax error)
    SKIPPED = "skipped"  #: the file was not indexed at all
    WARNING = "warning"  #: indexed fully, but something is worth saying


class Diagnostic(NamedTuple):
    """A problem found in the user's code, reported in the summary."""

    path: str  #: repo-relative POSIX path
    line: int  #: 1-based line, 0 when it concerns the whole file
    severity: Severity
    message: str

    def render(self) -> str:
        """``path:line: message`` (``path: message`` for whole-file problems)."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class BindingKind(str, Enum):
    """How a name came to be bound in a scope."""

    DEF = "def"  #: a function or class defined here (target: its node ID)
    IMPORT = "import"  #: ``import a.b [as c]`` (target: module name)
    IMPORT_FROM = "import_from"  #: ``from m import x`` (target: "m.x", absolute)
    ALIAS = "alias"  #: ``x = y.z`` (target: the dotted expression text)
    INSTANCE = "instance"  #: ``x = C(...)`` (target: the dotted callee text)
    PARAM = "param"  #: a parameter (target: its annotation text, may be "")
    LOCAL = "local"  #: any other assignment (target: "")


class Binding(NamedTuple):
    """A name bound in a scope, and to what."""

    kind: BindingKind
    target: str
    line: int  #: 1-based line of the (first) binding


class ScopeFacts(NamedTuple):
    """What name resolution needs to know about one module, class or function scope."""

    id: NodeId
    kind: str  #: "module" | "class" | "function" | "lambda"
    qualname: str  #: dotted qualified name (module name for the module scope)
    parent: NodeId | None  #: enclosing scope, None for the module
    bindings: dict[str, Binding]
    #: for classes: the base-class expressions as written (dotted text)
    bases: tuple[str, ...] = ()
    #: for functions: decorator expressions as written (dotted text)
    decorators: tuple[str, ...] = ()
    #: for functions: parameter names in order (the first is ``self``/``cls``)
    params: tuple[str, ...] = ()
    #: byte offset where the definition starts (lambdas are referred to by it, see `Expr`)
    start: int = -1
    #: every value flowing into a name or ``obj.attr`` of this scope: (target text, value)
    #: from assignments, loops, ``with ... as``, comprehensions, walrus, parameter defaults
    flows: tuple[tuple[str, Expr], ...] = ()
    #: for functions and lambdas: the returned expressions (a lambda's body)
    returns: tuple[Expr, ...] = ()
    #: for functions: the yielded expressions (generator functions)
    yields: tuple[Expr, ...] = ()
    #: for functions and classes: decorator expressions as written, top first
    decorated_by: tuple[Expr, ...] = ()
    #: implicit calls: (protocol, receiver) with protocol a dunder name (``__add__``),
    #: "iter" (``for``: ``__iter__`` then ``__next__``), "with" (``__enter__``/``__exit__``)
    #: or "get" (attribute read, for properties)
    implicit: tuple[tuple[str, Expr], ...] = ()
    #: for functions: one letter per parameter of ``params``: ``p`` positional (or keyword),
    #: ``v`` ``*args``, ``k`` keyword-only, ``w`` ``**kwargs``
    param_kinds: str = ""


#: A value expression as the resolver sees it, nested tuples of strings/ints:
#: ``("n", "a.b")`` name chain; ``("c", end)`` result of the call ending at byte ``end``;
#: ``("f", start)`` the lambda starting at byte ``start``; ``("l", (e, ...))`` list/tuple/set
#: display; ``("m", ((key, e), ...))`` dict display (key: literal text or ""); ``("s", e, key)``
#: subscript; ``("p", "__add__", e)`` result of an operator on e; ``("a", e, attr)`` attribute of a non-name expression; ``("o", (e, ...))`` one of
#: (``or``, ``if``-``else``); ``("i", e)`` an element of iterating e; ``("e", e)`` what
#: ``with e as x`` binds; ``("t", "Cls")`` an instance of an annotated type; ``("u", e, i)`` item i
#: of e unpacked into a tuple target (``a, b = e``). A string literal naming an attribute in
#: ``getattr(x, "name")`` is ``("n", "<str>", "name")``. None: unknown.
Expr = tuple


class CallFact(NamedTuple):
    """A call site waiting to be resolved."""

    id: NodeId  #: the CallSite node
    scope: NodeId  #: innermost enclosing module/class/function/lambda
    callee: str  #: dotted text of the called expression, "" when not a name chain
    line: int  #: 1-based
    end: int = -1  #: end byte offset (``("c", end)`` expressions refer to it)
    func: Expr | None = None  #: the called expression when it is not a name chain
    args: tuple[Expr | None, ...] = ()  #: positional arguments (``("*", e)`` for ``*e``)
    kwargs: tuple[tuple[str, Expr | None], ...] = ()  #: keyword arguments


class ImportFact(NamedTuple):
    """An import statement, with relative names already made absolute."""

    scope: NodeId
    module: str  #: absolute module imported (for ``from m import x``: m)
    names: tuple[str, ...]  #: imported names for ``from`` imports, () otherwise
    line: int
    level: int = 0  #: the relative-import level as written
    star: bool = False


@dataclass(slots=True)
class NodeColumns:
    """Rows of one node table, stored column-wise: cheap to pickle and to bulk-load.

    Every row of a table carries the same attribute names; the first row
    added fixes them.
    """

    kind: NodeKind
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: four lists: start_line, start_col, end_line, end_col
    spans: tuple[list[int], list[int], list[int], list[int]] = field(default_factory=lambda: ([], [], [], []))
    attrs: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, node_id: str, name: str, file: str, span: Span | tuple[int, int, int, int],
            attrs: dict[str, Any]) -> int:
        """Append a row; return its index. ``span`` may be a plain (start line, start column, end
        line, end column) tuple."""
        self.ids.append(node_id)
        self.names.append(name)
        self.files.append(file)
        sl, sc, el, ec = self.spans
        if span.__class__ is tuple:
            a, b, c, d = span
            sl.append(a)
            sc.append(b)
            el.append(c)
            ec.append(d)
        else:
            sl.append(span.start_line)
            sc.append(span.start_col)
            el.append(span.end_line)
            ec.append(span.end_col)
        columns = self.attrs
        if not columns and attrs:
            for key in attrs:
                columns[key] = []
        for key, value in attrs.items():
            columns[key].append(value)
        return len(self.ids) - 1

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> Iterator[Node]:
        """The rows as typed `Node` records."""
        sl, sc, el, ec = self.spans
        keys = list(self.attrs)
        cols = [self.attrs[k] for k in keys]
        for i, node_id in enumerate(self.ids):
            yield Node(NodeId(node_id), self.kind, self.names[i], self.files[i],
                       Span(sl[i], sc[i], el[i], ec[i]), {k: c[i] for k, c in zip(keys, cols)})


@dataclass(slots=True)
class EdgeColumns:
    """Rows of one relationship table pair, column-wise."""

    kind: EdgeKind
    src_kind: NodeKind
    dst_kind: NodeKind
    src: list[str] = field(default_factory=list)
    dst: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.src)

    def rows(self) -> Iterator[Edge]:
        """The rows as typed `Edge` records."""
        for a, b in zip(self.src, self.dst):
            yield Edge(self.kind, NodeId(a), self.src_kind, NodeId(b), self.dst_kind)


@dataclass(slots=True)
class FileFacts:
    """Everything the per-file stage extracts from one source file."""

    path: str  #: repo-relative POSIX path
    module: str  #: dotted module name
    hash: str  #: content hash of the raw bytes
    size: int  #: bytes
    lines: int
    node_tables: dict[NodeKind, NodeColumns] = field(default_factory=dict)
    edge_tables: dict[tuple[EdgeKind, NodeKind, NodeKind], EdgeColumns] = field(default_factory=dict)
    scopes: list[ScopeFacts] = field(default_factory=list)
    calls: list[CallFact] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: str = ""  #: reason when the file was not indexed at all

    def add_node(self, node_id: str, kind: NodeKind, name: str, span: Span | tuple[int, int, int, int],
                 attrs: dict[str, Any]) -> int:
        """Append a node of this file; return its row in its table (``span``: as `NodeColumns.add`)."""
        table = self.node_tables.get(kind)
        if table is None:
            table = self.node_tables[kind] = NodeColumns(kind)
        return table.add(node_id, name, self.path, span, attrs)

    def add_edge(self, kind: EdgeKind, src: str, src_kind: NodeKind, dst: str, dst_kind: NodeKind) -> None:
        """Append an intra-file edge (intra-file edges carry no properties)."""
        key = (kind, src_kind, dst_kind)
        table = self.edge_tables.get(key)
        if table is None:
            table = self.edge_tables[key] = EdgeColumns(kind, src_kind, dst_kind)
        table.src.append(src)
        table.dst.append(dst)

    # Pickling (the facts cache, worker results): the NamedTuples of scopes, bindings, calls and imports
    # travel as plain tuples and are rebuilt in C (`tuple.__new__`). Pickle reduces each NamedTuple
    # by a Python call (about 2 us); Django has some 400k of them.
    def __getstate__(self) -> tuple:
        scopes = [s[:4] + (dict(zip(s.bindings, map(tuple, s.bindings.values()))),) + s[5:] for s in self.scopes]
        return (self.path, self.module, self.hash, self.size, self.lines, self.node_tables, self.edge_tables,
                scopes, list(map(tuple, self.calls)), list(map(tuple, self.imports)),
                list(map(tuple, self.diagnostics)), self.skipped)

    def __setstate__(self, state: tuple) -> None:
        (self.path, self.module, self.hash, self.size, self.lines, self.node_tables, self.edge_tables,
         scopes, calls, imports, diagnostics, self.skipped) = state
        binding = partial(tuple.__new__, Binding)
        self.scopes = [ScopeFacts._make(s[:4] + (dict(zip(s[4], map(binding, s[4].values()))),) + s[5:])
                       for s in scopes]
        self.calls = list(map(partial(tuple.__new__, CallFact), calls))
        self.imports = list(map(partial(tuple.__new__, ImportFact), imports))
        self.diagnostics = list(map(partial(tuple.__new__, Diagnostic), diagnostics))

    @property
    def nodes(self) -> list[Node]:
        """All nodes as typed records (tables in schema order)."""
        return [n for kind in NodeKind if kind in self.node_tables for n in self.node_tables[kind].rows()]

    @property
    def edges(self) -> list[Edge]:
        """All intra-file edges as typed records."""
        return [e for table in self.edge_tables.values() for e in table.rows()]

    @property
    def node_count(self) -> int:
        return sum(len(t) for t in self.node_tables.values())

    @property
    def module_id(self) -> NodeId | None:
        """ID of the Module node, None for skipped files."""
        return self.scopes[0].id if self.scopes else None
