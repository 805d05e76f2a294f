"""Reading one source file: size cap, binary detection, PEP 263 decoding.

The result is UTF-8 bytes for tree-sitter (which only reads UTF-8), or the
reason the file cannot be indexed. Columns the parser reports are then
UTF-8 byte offsets of the decoded text, exactly what ``ast`` reports, so the
capture runtime sees the same positions.
"""

from __future__ import annotations

import hashlib
import io
import tokenize
from dataclasses import dataclass

#: Default size cap; larger files are skipped (generated code, data dumps).
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceText:
    """A readable source file."""

    utf8: bytes  #: the text, re-encoded as UTF-8 when it was declared otherwise
    hash: str  #: content hash of the raw bytes on disk
    size: int  #: bytes on disk
    encoding: str  #: the encoding it was decoded with


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file that cannot be indexed, and why."""

    reason: str
    hash: str
    size: int


def content_hash(raw: bytes) -> str:
    """Hash deciding whether a file changed between two index runs."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def decode_source(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceText | Unreadable:
    """Turn a file's raw bytes into UTF-8 source, honouring PEP 263 cookies and BOMs."""
    digest = content_hash(raw)
    size = len(raw)
    if size > max_bytes:
        return Unreadable(f"larger than the size cap ({size:,} > {max_bytes:,} bytes)", digest, size)
    if b"\x00" in raw:
        return Unreadable("binary file (contains NUL bytes)", digest, size)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as err:
        if "invalid or missing" in str(err.msg):
            return Unreadable("cannot be decoded: not UTF-8 and no PEP 263 encoding declaration", digest, size)
        return Unreadable(f"bad encoding declaration ({err.msg})", digest, size)
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as err:
        return Unreadable(f"cannot be decoded as {encoding} ({err.__class__.__name__})", digest, size)
    if text.startswith("\ufeff"):
        text = text[1:]
    if encoding in ("utf-8", "utf-8-sig") and not raw.startswith(b"\xef\xbb\xbf"):
        utf8 = raw
    else:
        utf8 = text.encode("utf-8")
    return SourceText(utf8=utf8, hash=digest, size=size, encoding=encoding)
