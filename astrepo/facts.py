"""The per-file stage: read, decode, parse and extract one file's facts.

Pure apart from reading the one file it is given, so it runs in worker
processes and its result can be cached by content hash.
"""

from __future__ import annotations

from tree_sitter import Tree

from astrepo.discover import SourceFile
from astrepo.extract import extract_facts
from astrepo.ids import node_id_for
from astrepo.model import Diagnostic, FileFacts, NodeKind, Severity, Span
from astrepo.parse import SourceParser, find_syntax_problems
from astrepo.source import DEFAULT_MAX_BYTES, SourceText, decode_source

#: Bump when extraction changes what it produces: cached facts of an older
#: version are ignored. History: 1 - first version; 2 - lambda bindings,
#: literal heads (<str>.join); 3 - `type(x).a = v` is an assignment calling type();
#: 4 - value flows, returns, yields, decorator and call-argument expressions,
#: implicit (dunder/property) calls for the call graph; 5 - module exports (``__all__``);
#: 6 - item stores (``d[k] = v`` flows into ``d[k]``), slice and negative subscript keys,
#: bytes literals (``<bytes>``), operators on any left operand (``b"<" + raw``); 7 - parameter
#: kinds (``*args``, keyword-only, ``**kwargs``), ``except E as e`` flows an ``E`` instance into ``e``;
#: 8 - tuple targets take item i (``("u", e, i)``), ``yield from`` yields the items, truth tests
#: (``__bool__``), ``getattr(x, "name")`` keeps the name, methods of displays keep the display;
#: 9 - ``metaclass=`` (implicit), starred targets, comprehensions hold their body's values.
FACTS_VERSION = 9


def add_file_node(facts: FileFacts, status: str) -> None:
    """Add the File node of a file's facts."""
    facts.add_node(
        node_id_for(facts.path, "", "file"), NodeKind.FILE, facts.path, Span(1, 0, max(facts.lines, 1), 0),
        {"hash": facts.hash, "bytes": facts.size, "lines": facts.lines,
         "module": facts.module, "status": status, "reason": facts.skipped},
    )


def facts_from_source(path: str, module: str, raw: bytes, parser: SourceParser,
                      max_bytes: int = DEFAULT_MAX_BYTES) -> FileFacts:
    """Facts of one file from its raw bytes; never raises on bad input."""
    return parse_source(path, module, raw, parser, max_bytes)[0]


def parse_source(path: str, module: str, raw: bytes, parser: SourceParser,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[FileFacts, Tree | None]:
    """Facts of one file and its syntax tree (None when the file was skipped)."""
    decoded = decode_source(raw, max_bytes)
    if not isinstance(decoded, SourceText):
        facts = FileFacts(path=path, module=module, hash=decoded.hash, size=decoded.size, lines=0,
                          skipped=decoded.reason)
        facts.diagnostics.append(Diagnostic(path, 0, Severity.SKIPPED, decoded.reason))
        add_file_node(facts, "skipped")
        return facts, None
    utf8 = decoded.utf8
    lines = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") or not utf8 else 1)
    facts = FileFacts(path=path, module=module, hash=decoded.hash, size=decoded.size, lines=lines)
    tree = parser.parse(utf8)
    is_package = path.endswith("__init__.py")
    extract_facts(tree, utf8, facts, is_package)
    problems = find_syntax_problems(tree.root_node)
    for problem in problems:
        facts.diagnostics.append(Diagnostic(path, problem.line, Severity.ERROR, problem.message))
    if decoded.encoding not in ("utf-8", "utf-8-sig"):
        facts.diagnostics.append(Diagnostic(path, 0, Severity.WARNING, f"decoded as {decoded.encoding} (PEP 263)"))
    add_file_node(facts, "syntax_error" if problems else "ok")
    return facts, tree


def facts_for_file(source: SourceFile, parser: SourceParser, max_bytes: int = DEFAULT_MAX_BYTES) -> FileFacts:
    """Facts of one discovered file; an unreadable file becomes a skipped entry."""
    return parse_file(source, parser, max_bytes)[0]


def parse_file(source: SourceFile, parser: SourceParser,
               max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[FileFacts, Tree | None]:
    """Facts and syntax tree of one discovered file (tree None when unreadable or skipped)."""
    try:
        with open(source.abspath, "rb") as handle:
            raw = handle.read(max_bytes + 1)
            if len(raw) > max_bytes:
                raw += handle.read()
    except OSError as err:
        facts = FileFacts(path=source.path, module=source.module, hash="", size=0, lines=0,
                          skipped=f"cannot be read ({err.strerror or err})")
        facts.diagnostics.append(Diagnostic(source.path, 0, Severity.SKIPPED, facts.skipped))
        add_file_node(facts, "skipped")
        return facts, None
    return parse_source(source.path, source.module, raw, parser, max_bytes)
