"""Semantic search over a project's symbols: keep the embeddings current, search, similar, clones.

Two entry points:

- `update_embeddings` is the embedding stage of the index pipeline: given the
  symbols of the new graph it encodes only those whose text changed (content
  hash) and publishes a new vector index. The caller holds the writer lock.
- `SemanticIndex` is the read side used by the CLI and by scripts::

      from astrepo.embeddings.search import SemanticIndex
      index = SemanticIndex.open(Layout(Path(".astrepo")))
      for hit in index.search("parse an http header", k=5):
          print(hit.score, hit.name, hit.file, hit.line)

Nothing here imports torch until a text actually has to be encoded:
`similar` and `clones` work from stored vectors alone.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from astrepo.errors import AstrepoError, ConfigError, IndexLocked, StoreError
from astrepo.layout import Layout, WriterLock
from astrepo.embeddings.encode import Encoder, EncoderConfig
from astrepo.embeddings.lexical import TERMS_VERSION, TermIndex, query_terms, span_terms
from astrepo.embeddings.text import (TEXT_VERSION, SourceLines, Symbol, SymbolKind, symbol_inputs, symbol_text,
                                     text_hash)
from astrepo.embeddings.vector_index import (FORMAT_VERSION, Meta, Row, StoredIndex, VectorIndex, index_kind,
                                             current_version, load_meta, load_stored_index, load_vector_index,
                                             open_stored_index, publish_version)

log = logging.getLogger(__name__)

#: (stage, done, total), stage "embed"; the index pipeline's progress callback.
Progress = Callable[[str, int, int], None]

#: Default similarity above which two functions are reported as clones.
DEFAULT_CLONE_THRESHOLD = 0.95

#: Functions shorter than this many lines are left out of clone detection
#: (one-line accessors are "clones" of each other and of no interest).
DEFAULT_CLONE_MIN_LINES = 4

#: Weight of the BM25 score in hybrid ranking (0: vectors only). Chosen on
#: bench/search_eval.py: 0.3 gave the best MRR@10 on requests, flask and click.
LEXICAL_WEIGHT = 0.3

#: Nearest symbols by cosine that hybrid ranking re-scores.
RERANK_CANDIDATES = 100

#: Neighbours looked at per function when grouping clones.
CLONE_NEIGHBOURS = 10


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result."""

    id: str  #: graph node ID
    name: str  #: qualified dotted name
    kind: str  #: module | class | function | method | nested
    file: str  #: repo-relative path
    line: int  #: 1-based first line
    score: float  #: cosine similarity (-1..1), plus the weighted lexical score in hybrid ranking

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "file": self.file, "line": self.line,
                "score": round(self.score, 4)}


# -- writing: the embedding stage --------------------------------------------------

def update_embeddings(layout: Layout, root: Path, symbols: list[Symbol], config: EncoderConfig | None = None,
                      progress: Progress | None = None, generation: str = "",
                      encoder: Encoder | None = None,
                      load_encoder: Callable[[EncoderConfig], Encoder] = Encoder.load,
                      file_hashes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bring the vector index under ``layout`` up to date with ``symbols``; return a summary.

    Only symbols whose text hash is not in the current index are encoded; a
    change of model (or of its settings) re-encodes everything. Only symbols
    whose inputs (`symbol_inputs`: their fields and their file's content hash)
    are not in the current index have their text and lexical terms made again
    (which means reading their file). The caller holds the writer lock.

    Args:
        layout: the ``.astrepo`` folder.
        root: project root (the body of each symbol is read from its file).
        symbols: every symbol of the new graph (`astrepo.graph.symbols.read_symbols`), sorted by ID.
        config: model and settings (default: all-MiniLM-L6-v2, int8, 32 tokens).
        progress: ``(stage, done, total)`` callback, stage ``"embed"``.
        generation: name of the graph generation the symbols come from.
        encoder: an already loaded encoder (tests, benchmarks); loaded on demand otherwise.
        load_encoder: how to load the encoder when something has to be encoded.
        file_hashes: content hash (astrepo.source.content_hash) of each file as indexed; files
            not in it are read and hashed.

    Returns:
        ``symbols``, ``encoded``, ``reused``, ``removed``, ``texts`` (symbols whose text was made),
        ``model``, ``index``, ``seconds``, ``encode_seconds``, ``symbols_per_second`` (of the encoding).
    """
    return _update(layout, _load_quietly(layout), root, symbols, config, progress, generation, encoder, load_encoder,
                   file_hashes)


def _update(layout: Layout, previous: StoredIndex | None, root: Path, symbols: list[Symbol],
            config: EncoderConfig | None, progress: Progress | None, generation: str, encoder: Encoder | None,
            load_encoder: Callable[[EncoderConfig], Encoder], file_hashes: Mapping[str, str] | None) -> dict[str, Any]:
    """`update_embeddings`, given the published version ``previous`` as `_load_quietly` read it."""
    started = time.perf_counter()
    config = encoder.config if encoder is not None else (config or EncoderConfig())
    usable = previous is not None and previous.meta.model_key == config.key and \
        previous.meta.text_version == TEXT_VERSION
    by_hash: dict[str, int] = {}
    by_inputs: dict[str, int] = {}
    if usable:
        by_hash = {row.hash: i for i, row in enumerate(previous.rows)}  # type: ignore[union-attr]
        if previous.terms is not None:  # type: ignore[union-attr]
            by_inputs = {row.inputs: i for i, row in enumerate(previous.rows) if row.inputs}  # type: ignore[union-attr]
    # Each symbol's text hash and term counts: the previous row's when its inputs are the same, else made.
    files = SourceLines(root)
    hashes = files.digest if file_hashes is None else (lambda f: file_hashes.get(f) or files.digest(f))
    salt = f"{TEXT_VERSION}|{TERMS_VERSION}|{config.max_tokens}"
    kept = np.full(len(symbols), -1, dtype=np.int64)
    inputs: list[str] = []
    text_hashes: list[str] = []
    texts: dict[int, str] = {}
    made: dict[int, Counter[str]] = {}
    for j, sym in enumerate(symbols):
        key = symbol_inputs(sym, hashes(sym.file), salt)
        p = by_inputs.get(key)
        if p is not None:
            kept[j] = p
            text_hashes.append(previous.rows[p].hash)  # type: ignore[union-attr]
        else:
            lines = files(sym.file)
            # The text comes from the file as it is now: keyed by its hash, it is made again if the
            # indexed content (file_hashes) differed.
            key = symbol_inputs(sym, files.digest(sym.file), salt)
            texts[j] = symbol_text(sym, lines, config.max_tokens)
            text_hashes.append(text_hash(texts[j], config.key))
            made[j] = Counter(span_terms(sym.name, sym.kind.value, lines, sym.start_line, sym.end_line))
        inputs.append(key)
    todo = [j for j in texts if text_hashes[j] not in by_hash]
    if progress:
        progress("embed", 0, len(todo))
    encode_seconds = encode_cpu = 0.0
    fresh = None
    if todo:
        encoder = encoder or load_encoder(config)
        t, cpu = time.perf_counter(), time.process_time()
        fresh = encoder.encode([texts[j] for j in todo],
                               (lambda done, total: progress("embed", done, total)) if progress else None)
        encode_seconds = time.perf_counter() - t
        encode_cpu = time.process_time() - cpu
        dim = encoder.dim
    else:
        dim = previous.meta.dim if previous is not None else 0
    reuse = np.fromiter((by_hash.get(h, -1) for h in text_hashes), dtype=np.int64, count=len(symbols))
    rows = [Row(s.id, h, s.kind.value, s.name, s.file, s.start_line, s.end_line,
                s.detail if s.kind is SymbolKind.FUNCTION else "", key)
            for s, h, key in zip(symbols, text_hashes, inputs)]
    if by_inputs:
        terms = previous.terms.update(kept, made)  # type: ignore[union-attr]
    else:
        terms = TermIndex.build(made[j] for j in range(len(symbols)))
    kind = index_kind(len(rows))
    meta = Meta(model_key=config.key, model=config.model, dim=dim, count=len(rows), index=kind,
                graph_generation=generation, text_version=TEXT_VERSION, max_tokens=config.max_tokens,
                quantize=config.quantize, root=str(root.resolve()))
    fresh_vectors = fresh if fresh is not None else np.zeros((0, dim), dtype=np.float32)
    publish_version(layout.embeddings_dir, meta, rows, terms, previous if usable else None, reuse, fresh_vectors)
    if progress:
        progress("embed", len(todo), len(todo))
    previous_ids = {r.id for r in previous.rows} if previous is not None else set()
    return {
        "symbols": len(rows),
        "encoded": len(todo),
        "reused": len(rows) - len(todo),
        "removed": len(previous_ids - {s.id for s in symbols}),
        "texts": len(texts),
        "model": config.key,
        "index": kind,
        "seconds": round(time.perf_counter() - started, 3),
        "encode_seconds": round(encode_seconds, 3),
        "encode_cpu_seconds": round(encode_cpu, 3),
        "symbols_per_second": round(len(todo) / encode_seconds, 1) if encode_seconds else None,
    }


def row_terms(rows: list[Row], lines_of: Callable[[str], list[str] | None]) -> TermIndex:
    """The term counts of every row (its name, and the identifiers of its span in the lines
    ``lines_of`` gives for its file), for hybrid ranking."""
    return TermIndex.build(Counter(span_terms(r.name, r.kind, lines_of(r.file), r.line, r.end_line)) for r in rows)


def source_terms(vectors: VectorIndex) -> TermIndex:
    """`row_terms` of an index's rows, read from the source files under its project root."""
    return row_terms(vectors.rows, SourceLines(Path(vectors.meta.root or ".")))


def _load_quietly(layout: Layout) -> StoredIndex | None:
    try:
        return load_stored_index(layout.embeddings_dir)
    except AstrepoError as err:
        log.warning("re-embedding everything: %s", err)
        return None


def refresh_embeddings(layout: Layout, config: EncoderConfig | None = None, progress: Progress | None = None,
                       load_encoder: Callable[[EncoderConfig], Encoder] = Encoder.load,
                       take_lock: bool = True, root: Path | None = None) -> dict[str, Any] | None:
    """Embed what the published graph has and the vector index lacks (on-demand stage).

    Returns the summary of `update_embeddings`, or None when the index was
    already current. Takes the writer lock unless ``take_lock`` is False (the
    caller holds it, e.g. an index run with nothing to re-parse); if another
    process holds it, the current embeddings (if any) are left as they are.
    ``root`` is the project root the graph was just built from (read from the
    index state when not given).

    Raises:
        IndexNotFound: nothing was indexed at ``layout``.
        IndexLocked: another process writes the index and there are no embeddings yet.
    """
    from astrepo.graph.symbols import current_generation

    # The published version's meta.json tells whether it is current; its rows are read only if not.
    meta = load_meta(layout.embeddings_dir)
    if meta is not None and _is_current(meta, current_generation(layout), config):
        return None
    return _refresh(layout, _load_quietly(layout), config, progress, load_encoder, take_lock, root)


def _is_current(meta: Meta, generation: str, config: EncoderConfig | None) -> bool:
    """Whether a version made as ``meta`` says is the one to have for graph ``generation`` and model ``config``."""
    return bool(generation) and meta.graph_generation == generation and meta.format == FORMAT_VERSION and (
        config is None or meta.model_key == config.key)


def _refresh(layout: Layout, current: StoredIndex | None, config: EncoderConfig | None, progress: Progress | None,
             load_encoder: Callable[[EncoderConfig], Encoder], take_lock: bool,
             root: Path | None = None) -> dict[str, Any] | None:
    """`refresh_embeddings`, given the published version ``current`` as `_load_quietly` read it."""
    from astrepo.graph.symbols import current_generation, published_symbols

    if current is not None and _is_current(current.meta, current_generation(layout), config):
        return None
    if config is None:
        config = (EncoderConfig(current.meta.model, current.meta.max_tokens, current.meta.quantize)
                  if current is not None else EncoderConfig())
    lock = WriterLock(layout)
    try:
        if take_lock:
            lock.acquire()
    except IndexLocked:
        if current is None:
            raise
        log.warning("the index is being written by another process; searching the previous embeddings")
        return None
    try:
        try:
            published = published_symbols(layout, root)
        except StoreError:
            if current is None or not current.meta.root:
                raise
            published = published_symbols(layout, Path(current.meta.root))
        if current is None or current_version(layout.embeddings_dir) != current.path:
            current = _load_quietly(layout)  # another writer published since `current` was read
        return _update(layout, current, published.root, published.symbols, config, progress, published.generation,
                       None, load_encoder, published.file_hashes)
    finally:
        lock.release()


def rerank(hits: list[Hit], terms: list[str], lexical: Callable[[list[str], list[Hit]], list[float]],
           weight: float) -> list[Hit]:
    """Hits re-scored as ``score + weight * lexical / best lexical``, best first."""
    if not hits or not terms:
        return hits
    scores = lexical(terms, hits)
    best = max(scores) or 1.0
    fused = [Hit(h.id, h.name, h.kind, h.file, h.line, h.score + weight * s / best) for h, s in zip(hits, scores)]
    return sorted(fused, key=lambda h: (-h.score, h.name, h.id))


# -- reading -------------------------------------------------------------------------

class SemanticIndex:
    """The published vector index of a project, ready to query."""

    def __init__(self, vectors: VectorIndex, encoder: Encoder | None = None) -> None:
        self.vectors = vectors
        self._encoder = encoder

    @classmethod
    def open(cls, layout: Layout, refresh: bool = True, config: EncoderConfig | None = None,
             progress: Progress | None = None, encoder: Encoder | None = None) -> SemanticIndex:
        """Open the embeddings of ``layout``, first embedding what is missing when ``refresh``.

        Raises:
            IndexNotFound: nothing was indexed at ``layout``.
        """
        loaded: list[Encoder] = [encoder] if encoder is not None else []

        def load_once(cfg: EncoderConfig) -> Encoder:
            if not loaded or loaded[0].config != cfg:
                loaded[:] = [Encoder.load(cfg)]
            return loaded[0]

        vectors = None
        if refresh:
            # Read once: what the refresh finds current is what is searched (read again after an update).
            current = _load_quietly(layout)
            if _refresh(layout, current, encoder.config if encoder else config, progress, load_once,
                        True) is None and current is not None:
                vectors = open_stored_index(current)
        if vectors is None:
            vectors = load_vector_index(layout.embeddings_dir)
        if vectors is None:
            raise ConfigError(f"no embeddings at {layout.embeddings_dir}: run `astrepo index` without --no-embed")
        if vectors.terms is None and len(vectors):
            # An older format the refresh could not replace (another process writes the index):
            # the term counts come from the source files, as the next refresh will store them.
            log.warning("the embeddings at %s have no term counts: reading them from the source files",
                        layout.embeddings_dir)
            vectors.terms = source_terms(vectors)
        reuse = loaded[0] if loaded and loaded[0].config.key == vectors.meta.model_key else None
        return cls(vectors, reuse)

    @property
    def encoder(self) -> Encoder:
        """The model the vectors were made with (loaded on first use)."""
        if self._encoder is None:
            meta = self.vectors.meta
            self._encoder = Encoder.load(EncoderConfig(meta.model, meta.max_tokens, meta.quantize))
        return self._encoder

    def embed_query(self, text: str) -> np.ndarray:
        return self.encoder.encode([text])[0]

    def search(self, text: str, k: int = 10, kind: str | None = None, prefix: str | None = None,
               lexical_weight: float = LEXICAL_WEIGHT) -> list[Hit]:
        """Symbols whose embedding is closest to ``text``, re-ranked with BM25 (hybrid ranking).

        The RERANK_CANDIDATES nearest symbols by cosine are re-scored as
        ``cosine + lexical_weight * bm25 / best_bm25`` where BM25 runs over
        the candidates' names and identifiers; ``lexical_weight=0`` ranks by
        cosine alone.

        Args:
            text: what the code does, in words.
            k: number of results.
            kind: only ``function`` (functions and methods), ``class`` or ``module``.
            prefix: only symbols whose qualified name or file path starts with this.
            lexical_weight: weight of the lexical score (0: vectors only).
        """
        if lexical_weight <= 0 or self.vectors.terms is None:
            return self.search_vector(self.embed_query(text), k, kind, prefix)
        candidates = self.search_vector(self.embed_query(text), max(k, RERANK_CANDIDATES), kind, prefix)
        return rerank(candidates, query_terms(text), self._lexical_scores, lexical_weight)[:k]

    def _lexical_scores(self, terms: list[str], hits: list[Hit]) -> list[float]:
        """BM25 of each hit over its stored term counts."""
        position = self.vectors.position
        rows = np.fromiter((position(h.id) for h in hits), dtype=np.int64, count=len(hits))
        return self.vectors.terms.scores(terms, rows).tolist()  # type: ignore[union-attr]

    def search_vector(self, vector: np.ndarray, k: int = 10, kind: str | None = None,
                      prefix: str | None = None, exclude: str | None = None) -> list[Hit]:
        """Like `search`, from a query vector."""
        subset = self._subset(kind, prefix)
        extra = 1 if exclude else 0
        found = self.vectors.search(vector[None, :], k + extra, subset)[0]
        hits = [self._hit(i, s) for i, s in found if self.vectors.rows[i].id != exclude]
        return hits[:k]

    def similar(self, name: str, k: int = 10, kind: str | None = None, prefix: str | None = None) -> tuple[Hit, list[Hit]]:
        """The symbol called ``name`` (ID, qualified name or unique suffix) and its nearest neighbours."""
        pos = self.resolve(name)
        target = self._hit(pos, 1.0)
        return target, self.search_vector(self.vectors.vectors[pos], k, kind, prefix, exclude=target.id)

    def resolve(self, name: str) -> int:
        """Row number of a symbol given by node ID, qualified name or a unique dotted suffix.

        Raises:
            ConfigError: no symbol or several symbols match.
        """
        pos = self.vectors.position(name)
        if pos is not None:
            return pos
        rows = self.vectors.rows
        exact = [i for i, r in enumerate(rows) if r.name == name]
        if len(exact) == 1:
            return exact[0]
        matches = exact or [i for i, r in enumerate(rows) if r.name.endswith("." + name)]
        if len(matches) == 1:
            return matches[0]
        if matches and len({rows[i].name for i in matches}) == 1:
            # One name, several definitions (@overload stubs, redefinitions): take the longest.
            return max(matches, key=lambda i: (rows[i].end_line - rows[i].line, rows[i].line))
        if not matches:
            raise ConfigError(f"no symbol named {name!r} in the embeddings; give a qualified name or a node ID")
        names = ", ".join(sorted({rows[i].name for i in matches})[:5])
        raise ConfigError(f"{name!r} matches {len(matches)} symbols ({names}{', ...' if len(matches) > 5 else ''}); "
                          "give the qualified name or a node ID")

    def clones(self, threshold: float = DEFAULT_CLONE_THRESHOLD, min_lines: int = DEFAULT_CLONE_MIN_LINES,
               prefix: str | None = None) -> list[list[Hit]]:
        """Groups of near-duplicate functions: connected components of pairs with cosine >= threshold.

        Each group is sorted by name; a member's score is its best similarity
        to another member. Groups come largest first.
        """
        subset = [i for i in self._subset("function", prefix)
                  if self.vectors.rows[i].end_line - self.vectors.rows[i].line + 1 >= min_lines]
        if len(subset) < 2:
            return []
        sub = np.asarray(subset, dtype=np.int64)
        found = VectorIndex(self.vectors.meta, [self.vectors.rows[i] for i in subset],
                            self.vectors.vectors[sub]).search(self.vectors.vectors[sub], CLONE_NEIGHBOURS + 1)
        parent = list(range(len(subset)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        best: dict[int, float] = {}
        for a, neighbours in enumerate(found):
            for b, score in neighbours:
                if b != a and score >= threshold:
                    parent[root(a)] = root(b)
                    best[a] = max(best.get(a, -1.0), score)
                    best[b] = max(best.get(b, -1.0), score)
        groups: dict[int, list[int]] = {}
        for a in best:
            groups.setdefault(root(a), []).append(a)
        out = [sorted((self._hit(subset[a], best[a]) for a in members), key=lambda h: (h.name, h.id))
               for members in groups.values() if len(members) > 1]
        out.sort(key=lambda g: (-len(g), g[0].name))
        return out

    def _subset(self, kind: str | None, prefix: str | None) -> np.ndarray | None:
        if kind is None and not prefix:
            return None
        if kind not in (None, "function", "class", "module"):
            raise ConfigError(f"--kind must be function, class or module, not {kind!r}")
        rows = self.vectors.rows
        keep = [i for i, r in enumerate(rows)
                if (kind is None or r.kind == kind)
                and (not prefix or r.name.startswith(prefix) or r.file.startswith(prefix))]
        return np.asarray(keep, dtype=np.int64)

    def _hit(self, pos: int, score: float) -> Hit:
        row = self.vectors.rows[pos]
        kind = row.detail if row.kind == SymbolKind.FUNCTION.value and row.detail else row.kind
        return Hit(row.id, row.name, kind, row.file, row.line, score)
