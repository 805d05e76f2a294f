"""The question language: words in, a typed `Query` out.

A query is a subject, optionally followed by filters; filters are joined by
``and`` (or simply follow each other)::

    callers of X [raising E]          transitive callers of X
    callees of X                      transitive callees of X
    functions | classes | methods of C | subclasses of C
    recursive functions | unused functions
    entry points reaching X           paths from X to Y
    slow functions | never executed functions

    filters: in P | calling X | called by X | raising E | implicitly raising E
             | catching E | with complexity > N | that raised E
             | slower than 10ms | called more than N times | similar to "text"

Names are single words (``get``, ``pkg.mod.Class.method``, ``app.py:12``) or
quoted strings. A phrase that does not parse raises `QueryError` pointing at
the word, with the nearest valid forms.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from astrepo.errors import QueryError

SUBJECT_FORMS = (
    "callers of X", "callees of X", "transitive callers of X", "transitive callees of X",
    "functions", "classes", "methods of C", "subclasses of C", "recursive functions", "unused functions",
    "entry points reaching X", "paths from X to Y", "slow functions", "never executed functions",
)
FILTER_FORMS = (
    "in P", "calling X", "called by X", "raising E", "implicitly raising E", "catching E",
    "with complexity > N", "that raised E", "slower than 10ms", "called more than N times", 'similar to "text"',
)

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(>=|<=|>|<|=)|([^\s"\'<>=]+))')


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    pos: int  #: 0-based character offset in the query
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Clause:
    """One subject or filter: its form and its arguments."""

    form: str  #: e.g. "callers", "transitive_callers", "in", "raising"
    args: tuple = ()


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    subject: Clause
    filters: tuple[Clause, ...] = field(default_factory=tuple)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise QueryError(_error(text, pos, "unexpected character"))
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        if m.group(1) is not None or m.group(2) is not None:
            value = m.group(1) if m.group(1) is not None else m.group(2)
            tokens.append(Token(value.replace('\\"', '"').replace("\\'", "'"), start, quoted=True))
        else:
            tokens.append(Token(m.group(3) or m.group(4), start))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -----------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        tok = self.peek(offset)
        return tok.text.lower() if tok is not None and not tok.quoted else ""

    def accept(self, *words: str) -> bool:
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            self.fail(f"expected {' '.join(words)!r}", SUBJECT_FORMS + FILTER_FORMS)

    def name(self, what: str) -> str:
        tok = self.peek()
        if tok is None or (not tok.quoted and tok.text.lower() == "and"):
            self.fail(f"expected {what}")
        self.i += 1
        return tok.text

    def number(self, what: str) -> float:
        tok = self.peek()
        try:
            value = float(tok.text) if tok is not None else None
        except ValueError:
            value = None
        if value is None:
            self.fail(f"expected {what}")
        self.i += 1
        return value

    def fail(self, message: str, forms: tuple[str, ...] = ()) -> None:
        tok = self.peek()
        pos = tok.pos if tok is not None else len(self.text)
        near = ""
        if forms:
            rest = " ".join(t.text for t in self.tokens[self.i:self.i + 3]).lower()
            close = difflib.get_close_matches(rest, forms, n=3, cutoff=0.3) or list(forms[:3])
            near = "; did you mean: " + ", ".join(repr(f) for f in close)
        raise QueryError(_error(self.text, pos, message) + near)

    # -- grammar -------------------------------------------------------------
    def parse(self) -> Query:
        if not self.tokens:
            raise QueryError("empty query; try e.g. 'callers of NAME' or 'functions in PATH'")
        subject = self.subject()
        filters: list[Clause] = []
        while self.peek() is not None:
            self.accept("and")
            filters.append(self.filter())
        return Query(self.text, subject, tuple(filters))

    def subject(self) -> Clause:
        if self.accept("transitive", "callers", "of"):
            return Clause("transitive_callers", (self.name("a function name"),))
        if self.accept("transitive", "callees", "of"):
            return Clause("transitive_callees", (self.name("a function name"),))
        if self.accept("callers", "of"):
            return Clause("callers", (self.name("a function name"),))
        if self.accept("callees", "of"):
            return Clause("callees", (self.name("a function name"),))
        if self.accept("methods", "of"):
            return Clause("methods", (self.name("a class name"),))
        if self.accept("subclasses", "of"):
            return Clause("subclasses", (self.name("a class name"),))
        if self.accept("recursive", "functions"):
            return Clause("recursive")
        if self.accept("unused", "functions"):
            return Clause("unused")
        if self.accept("entry", "points", "reaching"):
            return Clause("entry_points", (self.name("a function name"),))
        if self.accept("paths", "from"):
            start = self.name("a function name")
            self.expect("to")
            return Clause("paths", (start, self.name("a function name")))
        if self.accept("slow", "functions"):
            return Clause("slow")
        if self.accept("never", "executed", "functions"):
            return Clause("never_executed")
        if self.accept("functions") or self.accept("function"):
            return Clause("functions")
        if self.accept("classes"):
            return Clause("classes")
        self.fail("unknown question", SUBJECT_FORMS)
        raise AssertionError  # unreachable

    def filter(self) -> Clause:
        if self.accept("in"):
            return Clause("in", (self.name("a path or module prefix"),))
        if self.accept("calling"):
            return Clause("calling", (self.name("a function name"),))
        if self.accept("called", "by"):
            return Clause("called_by", (self.name("a function name"),))
        if self.accept("called", "more", "than"):
            n = self.number("a number")
            self.accept("times")
            return Clause("called_more_than", (int(n),))
        if self.accept("implicitly", "raising"):
            return Clause("raising", (self.name("an exception class"), True))
        if self.accept("raising"):
            return Clause("raising", (self.name("an exception class"), False))
        if self.accept("catching"):
            return Clause("catching", (self.name("an exception class"),))
        if self.accept("that", "raised"):
            return Clause("raised", (self.name("an exception class"),))
        if self.accept("with", "complexity"):
            op = self.peek()
            if op is None or op.text not in (">", ">=", "<", "<=", "="):
                self.fail("expected a comparison (> >= < <= =)")
            self.i += 1
            return Clause("complexity", (op.text, int(self.number("a number"))))
        if self.accept("slower", "than"):
            return Clause("slower_than", (_duration_ms(self),))
        if self.accept("similar", "to"):
            return Clause("similar", (self.name("a quoted description"),))
        self.fail("unknown filter", FILTER_FORMS)
        raise AssertionError  # unreachable


def _duration_ms(parser: _Parser) -> float:
    tok = parser.peek()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|us|µs)?", tok.text.lower()) if tok else None
    if m is None:
        parser.fail("expected a duration such as 10ms or 0.5s")
    parser.i += 1
    value = float(m.group(1))
    unit = m.group(2) or "ms"
    if unit == "ms" and parser.word() in ("s", "ms", "us"):
        unit = parser.word()
        parser.i += 1
    return value * {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}[unit]


def parse_query(text: str) -> Query:
    """Parse one question; raises `QueryError` with the position of the first bad word."""
    return _Parser(text).parse()


def _error(text: str, pos: int, message: str) -> str:
    word = text[pos:].split()[0] if text[pos:].split() else "end of query"
    return f"{message} at {word!r} (column {pos + 1}) in {text!r}"
