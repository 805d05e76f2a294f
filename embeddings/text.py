"""The text embedded for each symbol (module, class, function).

A symbol's text is, in order of how much it tells a reader per token: its
name split into words (``parse_http_header`` -> "parse http header",
``readConfig`` -> "read config"), the name of its owner, its signature, the
first paragraph of its docstring, member names (classes and modules), then
the start of its body read from the source file with the identifiers of the
body split into words. The text is cut to a character budget derived from
the model's token window, so that tokenising a 2,000-line class costs no more
than tokenising a one-liner.

Invariants and known limits:

- Pure functions of their inputs: `symbol_text` takes the source lines of the
  symbol's file, never opens files itself (`read_source_lines` and `SourceLines` do
  that, at the edge).
- The text is what the content-hash cache keys on; change `TEXT_VERSION`
  whenever the text of any symbol changes for the same inputs.
- Lambdas are not embedded (no name, rarely what someone searches for).
- "Body start" is found lexically (the header ends at the first line ending
  in ``:`` outside brackets); an odd header format only costs some text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from astrepo.source import content_hash

#: Version of the text recipe; part of every content hash.
#: History: 1 - name words, owner, signature, docstring, members, body start.
TEXT_VERSION = 1

#: Characters per token assumed when cutting a text to the token window
#: (WordPiece on code averages ~3 characters per token).
CHARS_PER_TOKEN = 3

#: Lines of body read at most per symbol.
MAX_BODY_LINES = 40

#: Member names listed at most for a class or module.
MAX_MEMBERS = 24


class SymbolKind(str, Enum):
    """What was embedded."""

    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"


@dataclass(frozen=True, slots=True)
class Symbol:
    """One embeddable symbol, as read from the graph."""

    id: str  #: graph node ID
    kind: SymbolKind
    name: str  #: qualified dotted name
    file: str  #: repo-relative POSIX path
    start_line: int  #: 1-based
    end_line: int  #: 1-based, inclusive
    short_name: str = ""
    signature: str = ""  #: functions: parameter list and return annotation as written
    docstring: str = ""
    detail: str = ""  #: functions: function|method|nested|lambda; classes: bases as written
    members: tuple[str, ...] = ()  #: short names of the methods / top-level definitions


_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+")
#: An identifier of Python source (ASCII: what splitting into words handles).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_STRING_START = re.compile(r"^[rRbBuUfF]{0,2}('''|\"\"\"|'|\")")
PY_KEYWORDS = frozenset(
    "and as assert async await break class continue def del elif else except finally for from global if import "
    "in is lambda nonlocal not or pass raise return try while with yield self cls none true false".split())


def split_identifier(name: str) -> list[str]:
    """Words of an identifier: ``parse_http_header`` -> parse, http, header; ``readConfig`` -> read, config."""
    return [w.lower() for w in _WORD.findall(name)]


def identifier_words(text: str, limit: int = 64) -> list[str]:
    """Distinct words of the identifiers in ``text``, in first-seen order, keywords left out."""
    seen: dict[str, None] = {}
    for ident in IDENTIFIER.findall(text):
        for word in split_identifier(ident):
            if len(word) > 1 and word not in PY_KEYWORDS and word not in seen:
                seen[word] = None
                if len(seen) >= limit:
                    return list(seen)
    return list(seen)


def first_paragraph(docstring: str, max_chars: int = 400) -> str:
    """The docstring up to its first blank line, on one line."""
    para = docstring.strip().split("\n\n", 1)[0]
    return _SPACE.sub(" ", para)[:max_chars]


def body_start(lines: list[str], symbol: Symbol) -> str:
    """The first lines of a function or class body (header and docstring skipped), compacted."""
    if symbol.start_line <= 0 or symbol.end_line < symbol.start_line:
        return ""
    end = min(symbol.end_line, symbol.start_line - 1 + MAX_BODY_LINES + 8, len(lines))
    chunk = lines[symbol.start_line - 1:end]
    i = _header_end(chunk)
    body = _skip_docstring(chunk[i:])
    out = []
    for line in body[:MAX_BODY_LINES]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append(stripped)
    return " ".join(out)


def _header_end(chunk: list[str]) -> int:
    """Index of the first line after the ``def ...:`` / ``class ...:`` header (decorators included)."""
    depth = 0
    for i, line in enumerate(chunk):
        code = line.split("#", 1)[0].rstrip()
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        stripped = code.lstrip()
        if depth <= 0 and stripped.startswith(("def ", "async def ", "class ")) and code.endswith(":"):
            return i + 1
        if depth <= 0 and not stripped.startswith("@") and code.endswith(":"):
            return i + 1
        if depth <= 0 and stripped.startswith(("def ", "async def ", "class ")) and ":" in code:
            return i + 1  # ``def f(): return 1``: the one-line body is already in the signature's line
    return min(1, len(chunk))


def _skip_docstring(body: list[str]) -> list[str]:
    j = 0
    while j < len(body) and not body[j].strip():
        j += 1
    if j >= len(body):
        return []
    first = body[j].strip()
    match = _STRING_START.match(first)
    if not match:
        return body[j:]
    quote = match.group(1)
    rest = first[match.end():]
    if quote in rest:
        return body[j + 1:]
    for k in range(j + 1, len(body)):
        if quote in body[k]:
            return body[k + 1:]
    return []


def symbol_text(symbol: Symbol, lines: list[str] | None, max_tokens: int) -> str:
    """The text embedded for ``symbol``, cut to about ``max_tokens`` tokens.

    Args:
        symbol: the symbol.
        lines: the lines of its file (without line ends), or None when unreadable.
        max_tokens: the model's token window as used (its ``max_seq_length``).
    """
    parts: list[str] = []
    qualified = symbol.name.split(".")
    short = symbol.short_name or qualified[-1]
    words = " ".join(split_identifier(short))
    owner = qualified[-2] if len(qualified) > 1 else ""
    owner_words = " ".join(split_identifier(owner))
    if symbol.kind is SymbolKind.FUNCTION:
        head = f"{words} ({owner_words})" if owner_words else words
        parts.append(f"{head}: {short}{_compact(symbol.signature)}")
    elif symbol.kind is SymbolKind.CLASS:
        bases = f"({_compact(symbol.detail)})" if symbol.detail else ""
        parts.append(f"class {words}: {short}{bases}")
    else:
        parts.append(f"module {' '.join(w for part in qualified for w in split_identifier(part))}")
    doc = first_paragraph(symbol.docstring)
    if doc:
        parts.append(doc)
    if symbol.members:
        parts.append("members: " + ", ".join(" ".join(split_identifier(m)) for m in symbol.members[:MAX_MEMBERS]))
    if symbol.kind is not SymbolKind.MODULE and lines is not None:
        body = body_start(lines, symbol)
        if body:
            parts.append(" ".join(identifier_words(body, 24)))
            parts.append(body)
    text = "\n".join(parts)
    return text[:max_tokens * CHARS_PER_TOKEN]


def _compact(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


def text_hash(text: str, model_key: str) -> str:
    """Content hash of one symbol's text for one model (the cache key)."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{TEXT_VERSION}\x1f{model_key}\x1f".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def symbol_inputs(symbol: Symbol, file_digest: str, salt: str) -> str:
    """Digest of everything a symbol's text and lexical terms are made of: its fields, the content
    hash of its file (``file_digest``, '' for none) and ``salt`` (the recipes' versions, the token
    window). Equal digests mean equal texts, so a symbol whose digest is stored is not read again."""
    fields = (salt, file_digest, symbol.id, symbol.kind.value, symbol.name, symbol.file, symbol.start_line,
              symbol.end_line, symbol.short_name, symbol.signature, symbol.docstring, symbol.detail, symbol.members)
    return hashlib.blake2b(repr(fields).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def read_source_lines(root: Path, relpath: str) -> list[str] | None:
    """Lines of a project file (undecodable bytes replaced), None when unreadable."""
    return _read_source(root, relpath)[0]


def _read_source(root: Path, relpath: str) -> tuple[list[str] | None, str]:
    """Lines of a project file and the content hash of its bytes (astrepo.source.content_hash), or
    (None, '') when unreadable."""
    try:
        raw = (root / relpath).read_bytes()
    except OSError:
        return None, ""
    return raw.decode("utf-8", "replace").splitlines(), content_hash(raw)


class SourceLines:
    """The lines of a project's files by repo-relative path, each file read once (`read_source_lines`).

    Called with a path: its lines, None for an unreadable file or an empty path (a symbol without one).
    """

    def __init__(self, root: Path) -> None:
        self.root = root  #: the project root the paths are relative to
        self._files: dict[str, tuple[list[str] | None, str]] = {}

    def __call__(self, relpath: str) -> list[str] | None:
        return self._read(relpath)[0]

    def digest(self, relpath: str) -> str:
        """The content hash of the bytes the lines of ``relpath`` were read from ('' if unreadable)."""
        return self._read(relpath)[1]

    def _read(self, relpath: str) -> tuple[list[str] | None, str]:
        try:
            return self._files[relpath]
        except KeyError:
            read = self._files[relpath] = _read_source(self.root, relpath) if relpath else (None, "")
            return read


def symbol_texts(symbols: list[Symbol], files: SourceLines, max_tokens: int) -> list[str]:
    """Texts of many symbols, their bodies read from ``files``."""
    return [symbol_text(sym, files(sym.file), max_tokens) for sym in symbols]
