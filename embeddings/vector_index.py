"""The vector index on disk and in memory; the only module that imports faiss (when it searches or
builds an index: an update of the stored rows and vectors does without it).

Layout under ``.astrepo/embeddings``::

    CURRENT              name of the published version, e.g. v-000004
    v-000004/meta.json   model key, dimension, row count, index kind, graph generation
    v-000004/rows.json   one row per vector: node ID, content hash, kind, name, file, lines, inputs digest
    v-000004/vectors.json  the vector segments (file names, rows in each)
    v-000004/vectors-000004.npy  a segment: float32 vectors, L2-normalised (written by version 4)
    v-000004/vectors-000002.npy  a segment of an earlier version, hard-linked (never rewritten)
    v-000004/at.npy      int64 (rows, 2): row i's vector is row at[i, 1] of segment at[i, 0]
    v-000004/index.faiss the HNSW graph (only above HNSW_THRESHOLD rows)
    v-000004/terms.json  the vocabulary of the rows' lexical terms, for hybrid ranking
    v-000004/terms.npz   each row's term counts, term by term (embeddings.lexical.TermIndex)

A version is written into a fresh folder and published by replacing
``CURRENT`` atomically, as the graph's generations are, so a reader never
sees half an index and an interrupted update leaves the previous one usable.
The rows double as the embedding cache: a symbol whose content hash is
already in the published rows is not encoded again. An update writes only
the vectors it encoded, as a new segment, and links the previous version's
segments (files are never modified once written, so a link shares nothing a
later run could change); when the segments hold many vectors of rows that
are gone (COMPACT_RATIO) the version is written as one segment again.

Search is exact inner product (``IndexFlatIP``) up to HNSW_THRESHOLD vectors
and HNSW above it. A search restricted to a subset (``--kind``, ``--in``) is an
exact scan of that subset with numpy, which is as fast as the index for the
sizes in question and never misses a filtered row.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from astrepo.embeddings.lexical import TermIndex
from astrepo.errors import StoreError

log = logging.getLogger(__name__)

#: Version of the on-disk format; another version is rebuilt, never read, except as below.
#: History: 1 - first version (lexical.json: BM25 document frequencies and lengths);
#: 2 - terms.json + terms.npz: every row's term counts, so hybrid ranking reads no source file;
#: 3 - vectors in segments shared by versions (vectors.json, at.npy); rows carry their inputs digest.
FORMAT_VERSION = 3

#: Older formats still read (format 1 without its term counts: ``terms`` is None; both without
#: inputs digests): the next refresh (embeddings.search.refresh_embeddings) reuses every vector and
#: publishes the current format.
MIGRATED_FORMATS = (1, 2)

#: A version's vectors are rewritten as one segment when the segments it would link hold more than
#: COMPACT_RATIO vectors per row (the others belong to rows changed or gone), or there would be more
#: than MAX_SEGMENTS segments.
COMPACT_RATIO = 1.25
MAX_SEGMENTS = 8

#: Above this many vectors the index is HNSW (approximate), exact below.
#: The HNSW graph is rebuilt on every update, which costs far more than exact
#: search saves for interactive use below this size (bench/search_eval.py latency).
HNSW_THRESHOLD = 100_000

#: HNSW parameters: neighbours per node, build and search beam widths.
#: Measured on 100k clustered vectors (bench/search_eval.py latency, busy 2-core machine):
#: M=32/80/96 builds in ~104 s, p50 0.7 ms, recall@10 0.93 vs exact;
#: M=16/64/128 builds in ~87 s, p50 0.7 ms, recall@10 0.87.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96

#: A single query over a flat index scans float16 copies of the vectors first (on Django's 42k x 384
#: ~2 ms instead of ~5 ms, one thread) and re-scores the best COARSE_FACTOR * k exactly.
COARSE_FACTOR = 2

#: The float16 scores are within COARSE_MARGIN * |q| * max |x| of the float32 ones: rounding a
#: component to float16 moves it by at most 2^-10 of itself (2^-11 when rounded to nearest; subnormals
#: by at most 2^-25), so a dot product by at most 2^-10 |q| |x| + 2^-25 sum|q|, and the two float32
#: sums of 384 products add at most 2 * 384 * 2^-24 |q| |x| (about 1.05e-3 |q| |x| in all). When the
#: k-th exact score of the re-scored rows is above the lowest float16 score kept plus this margin, no
#: row left out can reach the top k, so the answer is the exact search's; otherwise that search runs.
COARSE_MARGIN = 2e-3

CURRENT = "CURRENT"


@dataclass(frozen=True, slots=True)
class Row:
    """What is known of one vector without opening the graph."""

    id: str  #: graph node ID
    hash: str  #: content hash of the embedded text (embeddings.text.text_hash)
    kind: str  #: module | class | function
    name: str  #: qualified dotted name
    file: str  #: repo-relative path
    line: int  #: 1-based first line
    end_line: int  #: 1-based last line
    detail: str = ""  #: functions: function|method|nested
    inputs: str = ""  #: digest of what its text was made of (embeddings.text.symbol_inputs); '' if unknown


@dataclass(frozen=True, slots=True)
class Meta:
    """What produced a version of the index."""

    model_key: str
    model: str
    dim: int
    count: int
    index: str  #: flat | hnsw
    graph_generation: str  #: name of the graph generation it was computed from
    text_version: int
    max_tokens: int  #: token window the texts were cut to and the model ran with
    quantize: bool  #: int8 dynamic quantisation
    root: str = ""  #: project root the symbols' source was read from
    format: int = FORMAT_VERSION


class VectorIndex:
    """Rows, their vectors and a FAISS index over them."""

    def __init__(self, meta: Meta, rows: list[Row], vectors: np.ndarray, index: Any | None = None,
                 terms: TermIndex | None = None) -> None:
        self.meta = meta
        #: the rows' lexical term counts (for hybrid ranking); None when not computed
        self.terms = terms
        self.rows = rows
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index = index if index is not None else build_faiss_index(self.vectors)
        self._by_id = {row.id: i for i, row in enumerate(rows)}
        self._coarse: Any = None  #: float16 copies of a flat index's vectors (`_search_one`), made on first use
        self._max_norm = 0.0  #: largest row norm (for the bound of the float16 scores)

    def __len__(self) -> int:
        return len(self.rows)

    def position(self, node_id: str) -> int | None:
        """Row number of a node ID."""
        return self._by_id.get(node_id)

    def search(self, queries: np.ndarray, k: int, subset: np.ndarray | None = None) -> list[list[tuple[int, float]]]:
        """The k nearest rows (row number, cosine) for each query vector, best first.

        Args:
            queries: (q, dim) float32, L2-normalised.
            k: results per query.
            subset: optional row numbers to search in (exact scan).
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if len(self.rows) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        if subset is not None:
            subset = np.asarray(subset, dtype=np.int64)
            if len(subset) == 0:
                return [[] for _ in range(len(queries))]
            scores = queries @ self.vectors[subset].T
            kk = min(k, len(subset))
            top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
            out = []
            for qi in range(len(queries)):
                cand = top[qi][np.argsort(-scores[qi, top[qi]])]
                out.append([(int(subset[c]), float(scores[qi, c])) for c in cand])
            return out
        kk = min(k, len(self.rows))
        import faiss

        if len(queries) == 1:
            # One query is memory-bound; OpenMP threads only add contention
            # (measured: flat 100k p50 48 ms on one thread vs 136 ms on two, on a busy machine).
            previous = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                scores, idx = self._search_one(queries, kk)
            finally:
                faiss.omp_set_num_threads(previous)
        else:
            scores, idx = self._index.search(queries, kk)
        return [[(int(i), float(s)) for i, s in zip(idx[q], scores[q]) if i >= 0] for q in range(len(queries))]


    def _search_one(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact top ``k`` (scores, rows; 1 x k each) of one query (1 x dim), equal scores by row.

        Over a flat index, float16 copies of the vectors are scanned first (half the bytes to read) and
        the best COARSE_FACTOR * k re-scored by the flat index itself, which gives the same float32
        scores as its full search; COARSE_MARGIN says when that settles the answer. When it does not,
        the full exact search runs.
        """
        import faiss

        n = len(self.rows)
        if not isinstance(self._index, faiss.IndexFlat):
            return self._index.search(query, k)
        wanted = min(max(COARSE_FACTOR * k, k + 32), n)
        if wanted < n:
            if self._coarse is None:
                coarse = faiss.IndexScalarQuantizer(self.vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                                    faiss.METRIC_INNER_PRODUCT)
                coarse.add(self.vectors)
                self._coarse, self._max_norm = coarse, float(np.linalg.norm(self.vectors, axis=1).max())
            approx, candidates = self._coarse.search(query, wanted)
            kept = np.ascontiguousarray(candidates[0])
            scores, idx = self._index.search(query, wanted, params=faiss.SearchParameters(
                sel=faiss.IDSelectorArray(kept)))
            if scores[0, k - 1] > approx[0, -1] + COARSE_MARGIN * float(np.linalg.norm(query)) * self._max_norm:
                return _best(scores, idx, k)
        return _best(*self._index.search(query, wanted), k)


def _best(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` of one query's results by score, equal scores by row (the order of equal scores
    within a FAISS result depends on which rows it looked at)."""
    order = np.lexsort((rows[0], -scores[0]))[:k]
    return scores[:, order], rows[:, order]


def build_faiss_index(vectors: np.ndarray, threshold: int = HNSW_THRESHOLD) -> Any:
    """Exact inner-product index for few vectors, HNSW (inner product) for many."""
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    if len(vectors) > threshold:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_kind(count: int, threshold: int = HNSW_THRESHOLD) -> str:
    return "hnsw" if count > threshold else "flat"


# -- persistence -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StoredIndex:
    """A published version as stored: its rows and term counts, and where each row's vector is
    (the vectors themselves stay on disk until `vectors` reads them)."""

    path: Path  #: the version folder
    meta: Meta
    rows: list[Row]
    terms: TermIndex | None
    segments: tuple[str, ...]  #: file names of the vector segments in ``path``
    counts: tuple[int, ...]  #: vectors in each segment
    at: np.ndarray  #: int64 (rows, 2): segment number and row in that segment of each row's vector

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The vectors (float32, one per row) of ``rows`` (row numbers; default: every row, in order)."""
        at = self.at if rows is None else self.at[np.asarray(rows, dtype=np.int64)]
        dim = self.meta.dim
        if len(self.segments) == 1 and rows is None and np.array_equal(at[:, 1], np.arange(self.counts[0])):
            return _read_segment(self.path / self.segments[0], self.counts[0], dim, mmap=False)
        out = np.empty((len(at), dim), dtype=np.float32)
        for number in np.unique(at[:, 0]).tolist():
            segment = _read_segment(self.path / self.segments[number], self.counts[number], dim, mmap=True)
            mine = np.flatnonzero(at[:, 0] == number)
            out[mine] = segment[at[mine, 1]]
        return out


def _read_segment(path: Path, count: int, dim: int, mmap: bool) -> np.ndarray:
    vectors = np.load(path, mmap_mode="r" if mmap else None)
    if vectors.dtype != np.float32 or vectors.shape != (count, dim) and not (count == 0 and vectors.size == 0):
        raise ValueError(f"{path.name} holds {vectors.shape} {vectors.dtype}, not {count} x {dim} float32")
    return vectors


def current_version(directory: Path) -> Path | None:
    """Folder of the published version, None when there is none."""
    try:
        name = (directory / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise StoreError(f"cannot read {directory / CURRENT}: {err.strerror}") from err
    path = directory / name
    return path if name and path.is_dir() else None


def load_meta(directory: Path) -> Meta | None:
    """What produced the published version (its meta.json alone), None when there is none, it is
    unreadable or it has a format no longer read."""
    try:
        path = current_version(directory)
        doc = json.loads((path / "meta.json").read_text()) if path is not None else None
        return Meta(**doc) if doc and doc.get("format") in (FORMAT_VERSION, *MIGRATED_FORMATS) else None
    except (StoreError, OSError, ValueError, TypeError):
        return None


def load_vector_index(directory: Path) -> VectorIndex | None:
    """The published index, or None when there is none or it has a format no longer read
    (one of MIGRATED_FORMATS is read without what it lacks)."""
    stored = load_stored_index(directory)
    return None if stored is None else open_stored_index(stored)


def open_stored_index(stored: StoredIndex) -> VectorIndex:
    """The searchable index of a stored version: its vectors read, its FAISS index loaded or built.

    Raises:
        StoreError: a file is missing or damaged.
    """
    import faiss

    path = stored.path
    try:
        vectors = stored.vectors()
        index = faiss.read_index(str(path / "index.faiss")) if (path / "index.faiss").exists() else None
        if index is not None and hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
    except FileNotFoundError as err:
        raise StoreError(f"the embeddings at {path} are incomplete ({err.filename} is missing): "
                         "run `astrepo index` to rebuild them") from err
    except (OSError, ValueError, RuntimeError) as err:
        raise StoreError(f"cannot read the embeddings at {path}: {err}; run `astrepo index` to rebuild them") from err
    return VectorIndex(stored.meta, stored.rows, vectors, index, stored.terms)


def load_stored_index(directory: Path) -> StoredIndex | None:
    """The published version without its vectors, or None when there is none or it has a format
    no longer read.

    Raises:
        StoreError: it is incomplete, damaged or inconsistent.
    """
    path = current_version(directory)
    if path is None:
        return None
    try:
        meta_doc = json.loads((path / "meta.json").read_text())
        if meta_doc.get("format") not in (FORMAT_VERSION, *MIGRATED_FORMATS):
            log.info("embeddings at %s have format %s, need %s: ignoring them", path, meta_doc.get("format"),
                     FORMAT_VERSION)
            return None
        meta = Meta(**meta_doc)
        columns = json.loads((path / "rows.json").read_text())
        fields = [f for f in _ROW_FIELDS if f in columns]
        rows = [Row(*values) for values in zip(*(columns[f] for f in fields))] if columns["id"] else []
        if meta.format == FORMAT_VERSION:
            layout = json.loads((path / "vectors.json").read_text())
            segments, counts = tuple(layout["segments"]), tuple(int(c) for c in layout["counts"])
            at = np.load(path / "at.npy").astype(np.int64).reshape(-1, 2)
        else:
            header = np.load(path / "vectors.npy", mmap_mode="r")
            segments, counts = ("vectors.npy",), (int(header.shape[0]),)
            at = np.stack([np.zeros(len(rows), dtype=np.int64), np.arange(len(rows), dtype=np.int64)], axis=1)
        terms = _load_terms(path) if meta.format != 1 and (path / "terms.json").exists() else None
    except FileNotFoundError as err:
        raise StoreError(f"the embeddings at {path} are incomplete ({err.filename} is missing): "
                         "run `astrepo index` to rebuild them") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise StoreError(f"cannot read the embeddings at {path}: {err}; run `astrepo index` to rebuild them") from err
    bad_at = len(at) != len(rows) or len(counts) != len(segments) or (len(at) and (
        at[:, 0].min() < 0 or at[:, 0].max() >= len(segments) or at[:, 1].min() < 0
        or (at[:, 1] >= np.asarray(counts, dtype=np.int64)[at[:, 0]]).any()))
    if bad_at or (terms is not None and len(terms.lengths) != len(rows)):
        raise StoreError(f"the embeddings at {path} are inconsistent: run `astrepo index` to rebuild them")
    return StoredIndex(path, meta, rows, terms, segments, counts, at)


def _load_terms(path: Path) -> TermIndex:
    vocabulary = json.loads((path / "terms.json").read_text())
    with np.load(path / "terms.npz") as arrays:
        return TermIndex(vocabulary, arrays["at"], arrays["docs"], arrays["freqs"], arrays["lengths"])


_ROW_FIELDS = ("id", "hash", "kind", "name", "file", "line", "end_line", "detail", "inputs")


def save_vector_index(directory: Path, index: VectorIndex) -> Path:
    """Write ``index`` as a new version (its vectors as one segment) and publish it."""
    return publish_version(directory, index.meta, index.rows, index.terms, None,
                           np.full(len(index.rows), -1, dtype=np.int64), index.vectors, index._index)


def publish_version(directory: Path, meta: Meta, rows: list[Row], terms: TermIndex | None,
                    previous: StoredIndex | None, reuse: np.ndarray, fresh: np.ndarray,
                    faiss_index: Any | None = None) -> Path:
    """Write a new version and publish it; versions before the previous one are removed.

    Args:
        meta, rows, terms: the new version's.
        previous: the published version, whose vectors are reused.
        reuse: per row, the row of ``previous`` whose vector it has, or -1 for a row of ``fresh``.
        fresh: the vectors of the rows with ``reuse`` -1, in row order.
        faiss_index: an HNSW index over all the vectors, if already built.
    """
    reuse = np.asarray(reuse, dtype=np.int64)
    new_rows = np.flatnonzero(reuse < 0)
    if len(new_rows) != len(fresh):
        raise ValueError(f"{len(new_rows)} rows without a vector, {len(fresh)} fresh vectors")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        current = current_version(directory)
        number = int(current.name.split("-")[-1]) + 1 if current is not None else 1
        target = directory / f"v-{number:06d}"
        tmp = directory / f".tmp-{number:06d}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        own = f"vectors-{number:06d}.npy"
        at = np.zeros((len(rows), 2), dtype=np.int64)
        linked = _linked_segments(previous, reuse, len(rows), len(fresh))
        vectors = None
        if linked is None:  # one segment, in row order
            vectors = np.zeros((len(rows), meta.dim), dtype=np.float32)
            if len(new_rows) < len(rows):
                vectors[reuse >= 0] = previous.vectors(reuse[reuse >= 0])  # type: ignore[union-attr]
            vectors[new_rows] = fresh
            np.save(tmp / own, vectors)
            segments, counts = [own], [len(rows)]
            at[:, 1] = np.arange(len(rows))
        else:
            segments = [previous.segments[n] for n in linked]  # type: ignore[union-attr]
            counts = [previous.counts[n] for n in linked]  # type: ignore[union-attr]
            for name in segments:
                _link(previous.path / name, tmp / name)  # type: ignore[union-attr]
            renumber = np.full(len(previous.segments), -1, dtype=np.int64)  # type: ignore[union-attr]
            renumber[linked] = np.arange(len(linked))
            where = previous.at[np.maximum(reuse, 0)]  # type: ignore[union-attr]
            linked_rows = (reuse >= 0) & (renumber[where[:, 0]] >= 0)
            at[linked_rows, 0] = renumber[where[linked_rows, 0]]
            at[linked_rows, 1] = where[linked_rows, 1]
            # The new segment: the fresh vectors, and those of the segments no longer linked.
            mine = np.flatnonzero(~linked_rows)
            if len(mine):
                written = np.empty((len(mine), meta.dim), dtype=np.float32)
                is_fresh = reuse[mine] < 0
                written[is_fresh] = fresh
                written[~is_fresh] = previous.vectors(reuse[mine[~is_fresh]])  # type: ignore[union-attr]
                np.save(tmp / own, written)
                at[mine, 0], at[mine, 1] = len(segments), np.arange(len(mine))
                segments.append(own)
                counts.append(len(mine))
        (tmp / "vectors.json").write_text(json.dumps({"segments": segments, "counts": counts}))
        np.save(tmp / "at.npy", at)
        (tmp / "meta.json").write_text(json.dumps(_meta_doc(meta), indent=1))
        columns = {f: [getattr(r, f) for r in rows] for f in _ROW_FIELDS}
        (tmp / "rows.json").write_text(json.dumps(columns, separators=(",", ":")))
        if terms is not None:
            (tmp / "terms.json").write_text(json.dumps(terms.terms, separators=(",", ":")))
            np.savez(tmp / "terms.npz", at=terms.at, docs=terms.docs, freqs=terms.freqs, lengths=terms.lengths)
        if meta.index == "hnsw":
            if faiss_index is None:
                if vectors is None:
                    vectors = StoredIndex(tmp, meta, rows, terms, tuple(segments), tuple(counts), at).vectors()
                faiss_index = build_faiss_index(vectors)
            import faiss

            faiss.write_index(faiss_index, str(tmp / "index.faiss"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        pointer = directory / f".{CURRENT}.{os.getpid()}"
        pointer.write_text(target.name)
        os.replace(pointer, directory / CURRENT)
    except OSError as err:
        raise StoreError(f"cannot write the embeddings under {directory}: {err.strerror or err}") from err
    # Keep the previous version one round longer: a reader may be loading it now.
    keep = {target.name, current.name if current is not None else ""}
    for old in directory.iterdir():
        if old.is_dir() and old.name not in keep and old.name.startswith(("v-", ".tmp-")):
            shutil.rmtree(old, ignore_errors=True)
    return target


def _linked_segments(previous: StoredIndex | None, reuse: np.ndarray, rows: int, fresh: int) -> list[int] | None:
    """The previous version's segments a new version links: those holding a reused vector, or only the
    largest of them when there would be more than MAX_SEGMENTS (the others' vectors are written again
    with the fresh ones); None when it should be written as one segment: nothing reused, or more than
    COMPACT_RATIO vectors stored per row."""
    if previous is None or fresh == rows:
        return None
    used = np.unique(previous.at[reuse[reuse >= 0], 0]).tolist()
    if sum(previous.counts[n] for n in used) + fresh > COMPACT_RATIO * rows:
        return None
    if len(used) + (1 if fresh else 0) > MAX_SEGMENTS:
        return [max(used, key=lambda n: previous.counts[n])]
    return used


def _link(source: Path, target: Path) -> None:
    """``target`` made the same file as ``source`` (a hard link; a copy where links are not possible)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _meta_doc(meta: Meta) -> dict[str, Any]:
    return {f: getattr(meta, f) for f in Meta.__slots__}
