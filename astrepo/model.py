"""Typed records of the code property graph and of per-file facts.

Everything a pipeline stage hands to the next is one of these records, so
stages stay pure functions and per-file results can be cached (pickled) and
sent between processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from astrepo.ids import NodeId


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


class EdgeKind(str, Enum):
    """Relationship tables of the graph."""

    CONTAINS = "CONTAINS"
    DEFINES = "DEFINES"
    IMPORTS = "IMPORTS"
    INHERITS = "INHERITS"
    CALLS = "CALLS"


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


@dataclass(frozen=True, slots=True)
class Edge:
    """One relationship; ``src_kind``/``dst_kind`` name the node tables it joins."""

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


@dataclass(frozen=True, slots=True)
class Diagnostic:
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


@dataclass(frozen=True, slots=True)
class Binding:
    """A name bound in a scope, and to what."""

    kind: BindingKind
    target: str
    line: int  #: 1-based line of the (first) binding


@dataclass(frozen=True, slots=True)
class ScopeFacts:
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


@dataclass(frozen=True, slots=True)
class CallFact:
    """A call site waiting to be resolved."""

    id: NodeId  #: the CallSite node
    scope: NodeId  #: innermost enclosing module/class/function/lambda
    callee: str  #: dotted text of the called expression, "" when not a name chain
    line: int  #: 1-based


@dataclass(frozen=True, slots=True)
class ImportFact:
    """An import statement, with relative names already made absolute."""

    scope: NodeId
    module: str  #: absolute module imported (for ``from m import x``: m)
    names: tuple[str, ...]  #: imported names for ``from`` imports, () otherwise
    line: int
    level: int = 0  #: the relative-import level as written
    star: bool = False


@dataclass(slots=True)
class FileFacts:
    """Everything the per-file stage extracts from one source file."""

    path: str  #: repo-relative POSIX path
    module: str  #: dotted module name
    hash: str  #: content hash of the raw bytes
    size: int  #: bytes
    lines: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)  #: intra-file edges
    scopes: list[ScopeFacts] = field(default_factory=list)
    calls: list[CallFact] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: str = ""  #: reason when the file was not indexed at all

    @property
    def module_id(self) -> NodeId | None:
        """ID of the Module node, None for skipped files."""
        return self.scopes[0].id if self.scopes else None
