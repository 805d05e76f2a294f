"""A plain BM25 ranking over names and identifiers (the lexical baseline, and the lexical half of hybrid ranking)."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from astrepo.embeddings.text import PY_KEYWORDS, split_identifier

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: BM25 parameters (the usual defaults).
K1 = 1.2
B = 0.75

#: English words that carry no meaning in a query.
STOP_WORDS = frozenset(
    "a an the of to in on for and or is are be by with as at from that this it its into if not no return returns "
    "given when which will can should whether all any each then than there their these those was were has have".split())


def query_terms(text: str) -> list[str]:
    """Words of a natural-language or identifier query, stop words left out."""
    words = [w for w in split_identifier(text.replace("_", " ")) if len(w) > 1]
    return [w for w in words if w not in STOP_WORDS]


def document_terms(name: str, source: str) -> list[str]:
    """Terms of one symbol: the words of its qualified name, then of every identifier in its source."""
    terms = [w for part in name.split(".") for w in split_identifier(part)]
    for ident in _IDENT.findall(source):
        terms.extend(_identifier_terms(ident))
    return terms


@lru_cache(maxsize=1 << 16)
def _identifier_terms(ident: str) -> tuple[str, ...]:
    """The terms one identifier gives (identifiers repeat: a search re-ranking 100 symbols splits
    ~7,700 of them, a few thousand distinct)."""
    return tuple(w for w in split_identifier(ident) if len(w) > 1 and w not in PY_KEYWORDS)


class BM25:
    """An in-memory BM25 index over term lists."""

    def __init__(self, documents: list[list[str]]) -> None:
        self.n = len(documents)
        self.lengths = [len(d) for d in documents]
        self.avg = (sum(self.lengths) / self.n) if self.n else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, terms in enumerate(documents):
            for term, tf in Counter(terms).items():
                self.postings.setdefault(term, []).append((doc_id, tf))

    def scores(self, terms: list[str]) -> dict[int, float]:
        """BM25 score of every document containing at least one term."""
        out: dict[int, float] = {}
        for term in set(terms):
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (self.n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc_id, tf in posting:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[doc_id] / (self.avg or 1)))
                out[doc_id] = out.get(doc_id, 0.0) + idf * norm
        return out

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        scored = self.scores(terms)
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def bm25_term_score(tf: int, df: int, n: int, length: int, avg: float) -> float:
    """BM25 contribution of one query term to one document."""
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / (avg or 1)))


def span_terms(name: str, kind: str, lines: list[str] | None, start_line: int, end_line: int) -> list[str]:
    """Lexical terms of one symbol: name words, plus identifiers of its span (not for modules)."""
    if kind == "module" or not lines:
        return document_terms(name, "")
    return document_terms(name, "\n".join(lines[max(start_line - 1, 0):end_line]))


def span_term_counts(name: str, kind: str, lines: list[str] | None, start_line: int, end_line: int,
                     wanted: set[str]) -> Counter:
    """How often each of ``wanted`` occurs among `span_terms` (the same counts, without splitting
    the identifiers that cannot hold a wanted word: a term is a lower-cased piece of its identifier)."""
    counts = Counter(w for part in name.split(".") for w in split_identifier(part) if w in wanted)
    if kind == "module" or not lines:
        return counts
    source = "\n".join(lines[max(start_line - 1, 0):end_line])
    lowered = source.lower()
    present = [w for w in wanted if w in lowered]
    if not present:
        return counts
    for ident in _IDENT.findall(source):
        low = ident.lower()
        if any(w in low for w in present):
            counts.update(t for t in _identifier_terms(ident) if t in wanted)
    return counts

