"""The vector index on disk and in memory; the only module that imports faiss.

Layout under ``.astrepo/embeddings``::

    CURRENT            name of the published version, e.g. v-000004
    v-000004/meta.json model key, dimension, row count, index kind, graph generation
    v-000004/rows.json one row per vector: node ID, content hash, kind, name, file, line
    v-000004/vectors.npy  float32, L2-normalised, row i <-> rows[i]
    v-000004/index.faiss  the HNSW graph (only above HNSW_THRESHOLD rows)
    v-000004/terms.json   the vocabulary of the rows' lexical terms, for hybrid ranking
    v-000004/terms.npz    each row's term counts, term by term (embeddings.lexical.TermIndex)

A version is written into a fresh folder and published by replacing
``CURRENT`` atomically, as the graph's generations are, so a reader never
sees half an index and an interrupted update leaves the previous one usable.
The rows double as the embedding cache: a symbol whose content hash is
already in the published rows is not encoded again.

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

import faiss
import numpy as np

from astrepo.embeddings.lexical import TermIndex
from astrepo.errors import StoreError

log = logging.getLogger(__name__)

#: Version of the on-disk format; another version is rebuilt, never read, except as below.
#: History: 1 - first version (lexical.json: BM25 document frequencies and lengths);
#: 2 - terms.json + terms.npz: every row's term counts, so hybrid ranking reads no source file.
FORMAT_VERSION = 2

#: Older formats still read, for their vectors alone (``terms`` is None): the next refresh
#: (embeddings.search.refresh_embeddings) reuses every vector and publishes the current format.
MIGRATED_FORMATS = (1,)

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


def load_vector_index(directory: Path) -> VectorIndex | None:
    """The published index, or None when there is none or it has a format no longer read
    (one of MIGRATED_FORMATS is read without its term counts)."""
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
        rows = [Row(*values) for values in zip(*(columns[f] for f in _ROW_FIELDS))] if columns["id"] else []
        vectors = np.load(path / "vectors.npy")
        index = faiss.read_index(str(path / "index.faiss")) if (path / "index.faiss").exists() else None
        terms = _load_terms(path) if meta.format == FORMAT_VERSION and (path / "terms.json").exists() else None
        if index is not None and hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
    except FileNotFoundError as err:
        raise StoreError(f"the embeddings at {path} are incomplete ({err.filename} is missing): "
                         "run `astrepo index` to rebuild them") from err
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise StoreError(f"cannot read the embeddings at {path}: {err}; run `astrepo index` to rebuild them") from err
    if len(rows) != len(vectors) or (len(rows) and vectors.shape[1] != meta.dim) or (
            terms is not None and len(terms.lengths) != len(rows)):
        raise StoreError(f"the embeddings at {path} are inconsistent: run `astrepo index` to rebuild them")
    return VectorIndex(meta, rows, vectors, index, terms)


def _load_terms(path: Path) -> TermIndex:
    vocabulary = json.loads((path / "terms.json").read_text())
    with np.load(path / "terms.npz") as arrays:
        return TermIndex(vocabulary, arrays["at"], arrays["docs"], arrays["freqs"], arrays["lengths"])


_ROW_FIELDS = ("id", "hash", "kind", "name", "file", "line", "end_line", "detail")


def save_vector_index(directory: Path, index: VectorIndex) -> Path:
    """Write ``index`` as a new version and publish it; older versions are removed."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        previous = current_version(directory)
        number = int(previous.name.split("-")[-1]) + 1 if previous is not None else 1
        target = directory / f"v-{number:06d}"
        tmp = directory / f".tmp-{number:06d}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        (tmp / "meta.json").write_text(json.dumps(_meta_doc(index.meta), indent=1))
        columns = {f: [getattr(r, f) for r in index.rows] for f in _ROW_FIELDS}
        (tmp / "rows.json").write_text(json.dumps(columns, separators=(",", ":")))
        np.save(tmp / "vectors.npy", index.vectors)
        if index.terms is not None:
            terms = index.terms
            (tmp / "terms.json").write_text(json.dumps(terms.terms, separators=(",", ":")))
            np.savez(tmp / "terms.npz", at=terms.at, docs=terms.docs, freqs=terms.freqs, lengths=terms.lengths)
        if index.meta.index == "hnsw":
            faiss.write_index(index._index, str(tmp / "index.faiss"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        pointer = directory / f".{CURRENT}.{os.getpid()}"
        pointer.write_text(target.name)
        os.replace(pointer, directory / CURRENT)
    except OSError as err:
        raise StoreError(f"cannot write the embeddings under {directory}: {err.strerror or err}") from err
    # Keep the previous version one round longer: a reader may be loading it now.
    keep = {target.name, previous.name if previous is not None else ""}
    for old in directory.iterdir():
        if old.is_dir() and old.name not in keep and old.name.startswith(("v-", ".tmp-")):
            shutil.rmtree(old, ignore_errors=True)
    return target


def _meta_doc(meta: Meta) -> dict[str, Any]:
    return {f: getattr(meta, f) for f in Meta.__slots__}
