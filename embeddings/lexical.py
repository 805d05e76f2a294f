"""A plain BM25 ranking over names and identifiers (the lexical baseline, and the lexical half of hybrid ranking)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from astrepo.embeddings.text import IDENTIFIER, PY_KEYWORDS, split_identifier

#: Version of the lexical terms of a symbol (`span_terms`); part of every inputs digest
#: (embeddings.text.symbol_inputs), so a change re-reads every symbol.
#: History: 1 - name words, then the identifiers of the span (not for modules).
TERMS_VERSION = 1

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
    for ident in IDENTIFIER.findall(source):
        terms.extend(_identifier_terms(ident))
    return terms


@lru_cache(maxsize=1 << 16)
def _identifier_terms(ident: str) -> tuple[str, ...]:
    """The terms one identifier gives (identifiers repeat: a search re-ranking 100 symbols splits
    ~7,700 of them, a few thousand distinct)."""
    return tuple(w for w in split_identifier(ident) if len(w) > 1 and w not in PY_KEYWORDS)


def _idf(documents: int, containing: int) -> float:
    """BM25's inverse document frequency of a term found in ``containing`` of ``documents``."""
    return math.log(1 + (documents - containing + 0.5) / (containing + 0.5))


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
            idf = _idf(self.n, len(posting))
            for doc_id, tf in posting:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.lengths[doc_id] / (self.avg or 1)))
                out[doc_id] = out.get(doc_id, 0.0) + idf * norm
        return out

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        scored = self.scores(terms)
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def span_terms(name: str, kind: str, lines: list[str] | None, start_line: int, end_line: int) -> list[str]:
    """Lexical terms of one symbol: name words, plus identifiers of its span (not for modules)."""
    if kind == "module" or not lines:
        return document_terms(name, "")
    return document_terms(name, "\n".join(lines[max(start_line - 1, 0):end_line]))


@dataclass(frozen=True, slots=True)
class TermIndex:
    """Every symbol's term counts (`span_terms`), term by term: what hybrid ranking scores
    candidates with, so that a search reads no source file. Computed with the vectors and
    stored beside them (embeddings.vector_index)."""

    terms: list[str]  #: the vocabulary, sorted; a term's number is its position
    at: np.ndarray  #: int64, len(terms) + 1: term t's postings are docs[at[t]:at[t + 1]]
    docs: np.ndarray  #: int32 row numbers, ascending within each term
    freqs: np.ndarray  #: int32 occurrences of the term in that row (parallel to ``docs``)
    lengths: np.ndarray  #: int32 per row: its number of terms
    _numbers: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_numbers", {t: i for i, t in enumerate(self.terms)})

    @classmethod
    def build(cls, documents: Iterable[Counter[str]]) -> TermIndex:
        """The index of one term-count per row, in row order."""
        numbers: dict[str, int] = {}
        term_of: list[int] = []
        freqs: list[int] = []
        per_doc: list[int] = []
        lengths: list[int] = []
        for counts in documents:
            term_of.extend(numbers.setdefault(t, len(numbers)) for t in counts)
            freqs.extend(counts.values())
            per_doc.append(len(counts))
            lengths.append(sum(counts.values()))
        vocabulary = sorted(numbers)
        rank = np.empty(len(numbers), dtype=np.int64)
        rank[[numbers[t] for t in vocabulary]] = np.arange(len(vocabulary))
        keys = rank[np.asarray(term_of, dtype=np.int64)]
        order = np.argsort(keys, kind="stable")  # rows ascending within a term
        docs = np.repeat(np.arange(len(per_doc), dtype=np.int32), per_doc)
        at = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=len(vocabulary)), out=at[1:])
        return cls(vocabulary, at, docs[order], np.asarray(freqs, dtype=np.int32)[order],
                   np.asarray(lengths, dtype=np.int32))

    def update(self, kept: np.ndarray, fresh: dict[int, Counter[str]]) -> TermIndex:
        """The index of new rows, made of this one's rows and fresh term counts: new row ``j`` has the
        counts of this index's row ``kept[j]`` (each row kept at most once), or ``fresh[j]`` where
        ``kept[j]`` is -1. Equals
        `build` over the new rows' counts, at the cost of a sort of the postings instead of a count
        of every row's terms (which means its source)."""
        kept = np.asarray(kept, dtype=np.int64)
        new_of_old = np.full(self.n + 1, -1, dtype=np.int64)  # the last slot: rows no longer there
        reused = np.flatnonzero(kept >= 0)
        new_of_old[kept[reused]] = reused
        old_term = np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.at))
        new_doc = new_of_old[self.docs]
        live = new_doc >= 0
        old_term, new_doc, freqs = old_term[live], new_doc[live], self.freqs[live]
        fresh_rows = sorted(fresh)
        fresh_terms = [t for j in fresh_rows for t in fresh[j]]
        vocabulary = sorted({self.terms[t] for t in np.unique(old_term).tolist()}.union(fresh_terms))
        number = {t: i for i, t in enumerate(vocabulary)}
        rank = np.fromiter((number.get(t, -1) for t in self.terms), dtype=np.int64, count=len(self.terms))
        keys = np.concatenate([rank[old_term], np.fromiter((number[t] for t in fresh_terms), dtype=np.int64,
                                                            count=len(fresh_terms))])
        docs = np.concatenate([new_doc, np.repeat(np.asarray(fresh_rows, dtype=np.int64),
                                                  [len(fresh[j]) for j in fresh_rows])])
        counts = np.concatenate([freqs.astype(np.int64), np.fromiter(
            (f for j in fresh_rows for f in fresh[j].values()), dtype=np.int64, count=len(fresh_terms))])
        order = np.lexsort((docs, keys))
        at = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=len(vocabulary)), out=at[1:])
        lengths = np.zeros(len(kept), dtype=np.int32)
        lengths[reused] = self.lengths[kept[reused]]
        for j in fresh_rows:
            lengths[j] = sum(fresh[j].values())
        return TermIndex(vocabulary, at, docs[order].astype(np.int32), counts[order].astype(np.int32), lengths)

    @property
    def n(self) -> int:
        return len(self.lengths)

    @property
    def avgdl(self) -> float:
        return float(self.lengths.sum()) / self.n if self.n else 0.0

    def counts(self, row: int) -> Counter[str]:
        """The term counts of one row (a scan of every posting: for tests and checks)."""
        hits = np.flatnonzero(self.docs == row)
        term_at = np.searchsorted(self.at, hits, side="right") - 1
        return Counter({self.terms[t]: int(f) for t, f in zip(term_at, self.freqs[hits])})

    def scores(self, terms: list[str], rows: np.ndarray) -> np.ndarray:
        """BM25 score (float64) of each of ``rows`` for the query ``terms`` (as `BM25.scores`)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float64)
        if not len(rows):
            return out
        avg = self.avgdl
        lengths = self.lengths[rows].astype(np.float64)
        base = K1 * (1 - B + B * lengths / (avg or 1))
        for term in dict.fromkeys(terms):
            t = self._numbers.get(term)
            if t is None:
                continue
            start, end = int(self.at[t]), int(self.at[t + 1])
            posting = self.docs[start:end]
            where = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
            found = posting[where] == rows
            if not found.any():
                continue
            tf = np.where(found, self.freqs[start:end][where], 0).astype(np.float64)
            idf = _idf(self.n, end - start)
            out += idf * tf * (K1 + 1) / (tf + base)
        return out
