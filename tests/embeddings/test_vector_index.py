"""The FAISS index: exact and HNSW search, subsets, persistence."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from astrepo.embeddings import vector_index
from astrepo.embeddings.lexical import TermIndex
from astrepo.embeddings.vector_index import (COARSE_MARGIN, Meta, Row, VectorIndex, build_faiss_index, current_version,
                                             load_stored_index, load_vector_index, publish_version,
                                             save_vector_index)
from astrepo.errors import StoreError


def _index(n: int = 50, dim: int = 8, kind: str = "flat", seed: int = 0) -> VectorIndex:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [Row(f"id{i}", f"h{i}", "function" if i % 2 else "class", f"pkg.s{i}", "pkg/m.py", i + 1, i + 3, "")
            for i in range(n)]
    meta = Meta("fake|tokens=64|fp32", "fake", dim, n, kind, "gen-000001", 1, 64, False)
    return VectorIndex(meta, rows, vectors)


def test_search_finds_the_vector_itself_first():
    index = _index()
    hits = index.search(index.vectors[7], 3)[0]
    assert hits[0][0] == 7 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(hits) == 3 and hits[0][1] >= hits[1][1] >= hits[2][1]


def test_subset_search_only_returns_subset_rows():
    index = _index()
    subset = np.array([1, 3, 5, 9])
    hits = index.search(index.vectors[7], 10, subset)[0]
    assert sorted(i for i, _ in hits) == [1, 3, 5, 9]
    assert index.search(index.vectors[7], 3, np.array([], dtype=np.int64)) == [[]]


def test_hnsw_above_threshold_agrees_with_exact():
    index = _index(n=400, dim=16)
    hnsw = build_faiss_index(index.vectors, threshold=100)
    assert "HNSW" in type(hnsw).__name__
    flat = build_faiss_index(index.vectors, threshold=1000)
    _, a = hnsw.search(index.vectors[:20], 1)
    _, b = flat.search(index.vectors[:20], 1)
    assert (a == b).all()


def test_save_and_load_round_trip_and_keeps_one_previous_version(tmp_path):
    index = _index()
    first = save_vector_index(tmp_path, index)
    second = save_vector_index(tmp_path, index)
    third = save_vector_index(tmp_path, index)
    assert current_version(tmp_path) == third
    assert second.exists() and not first.exists()
    loaded = load_vector_index(tmp_path)
    assert loaded.rows == index.rows and loaded.meta == index.meta
    assert np.array_equal(loaded.vectors, index.vectors) and loaded.terms is None


def test_term_counts_round_trip(tmp_path):
    index = _index(n=3)
    index.terms = TermIndex.build([Counter(a=2, b=1), Counter(), Counter(b=3, c=1)])
    save_vector_index(tmp_path, index)
    terms = load_vector_index(tmp_path).terms
    assert terms.terms == ["a", "b", "c"] and [terms.counts(i) for i in range(3)] == [
        Counter(a=2, b=1), Counter(), Counter(b=3, c=1)]


def test_load_without_index_is_none_and_damaged_index_is_an_error(tmp_path):
    assert load_vector_index(tmp_path) is None
    path = save_vector_index(tmp_path, _index())
    (path / "vectors-000001.npy").unlink()
    with pytest.raises(StoreError, match="incomplete"):
        load_vector_index(tmp_path)


def test_an_update_links_the_segments_it_reuses_and_writes_only_fresh_vectors(tmp_path):
    index = _index(n=40)
    first = save_vector_index(tmp_path, index)
    stored = load_stored_index(tmp_path)
    # Row 3 is gone, row 10 changed (a fresh vector), and a new row 40 sorts first.
    reuse = np.array([-1, *[i for i in range(40) if i != 3]], dtype=np.int64)
    reuse[reuse == 10] = -1
    fresh = _index(n=2, seed=9).vectors
    rows = [Row("new", "hnew", "function", "pkg.new", "pkg/m.py", 1, 2, "")] + [
        index.rows[i] for i in reuse[1:] if i >= 0]
    rows.insert(10, Row("changed", "hc", "function", "pkg.c", "pkg/m.py", 1, 2, ""))
    meta = Meta("fake|tokens=64|fp32", "fake", index.meta.dim, len(rows), "flat", "gen-000002", 1, 64, False)
    second = publish_version(tmp_path, meta, rows, None, stored, reuse, fresh)
    assert (second / "vectors-000001.npy").stat().st_ino == (first / "vectors-000001.npy").stat().st_ino
    assert np.load(second / "vectors-000002.npy").shape == (2, index.meta.dim)
    loaded = load_vector_index(tmp_path)
    expected = np.zeros((len(rows), index.meta.dim), dtype=np.float32)
    expected[reuse >= 0] = index.vectors[reuse[reuse >= 0]]
    expected[reuse < 0] = fresh
    assert loaded.rows == rows and np.array_equal(loaded.vectors, expected)


def test_segments_holding_many_vectors_of_rows_gone_are_compacted(tmp_path):
    index = _index(n=40)
    save_vector_index(tmp_path, index)
    half = np.arange(0, 40, 2)
    meta = Meta("fake|tokens=64|fp32", "fake", index.meta.dim, 20, "flat", "gen-000002", 1, 64, False)
    path = publish_version(tmp_path, meta, [index.rows[i] for i in half], None, load_stored_index(tmp_path), half,
                           np.zeros((0, index.meta.dim), dtype=np.float32))
    assert json.loads((path / "vectors.json").read_text()) == {"segments": ["vectors-000002.npy"], "counts": [20]}
    assert np.array_equal(load_vector_index(tmp_path).vectors, index.vectors[half])


def test_many_small_segments_are_written_again_into_one(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_index, "MAX_SEGMENTS", 3)
    index = _index(n=40)
    save_vector_index(tmp_path, index)
    vectors = index.vectors.copy()
    rng = np.random.default_rng(5)
    for version in range(2, 7):  # each update gives row `version` a fresh vector
        vectors[version] = rng.standard_normal(index.meta.dim).astype(np.float32)
        reuse = np.arange(40)
        reuse[version] = -1
        meta = Meta("fake|tokens=64|fp32", "fake", index.meta.dim, 40, "flat", f"gen-{version:06d}", 1, 64, False)
        path = publish_version(tmp_path, meta, index.rows, None, load_stored_index(tmp_path), reuse,
                               vectors[version:version + 1])
        assert np.array_equal(load_vector_index(tmp_path).vectors, vectors)
        segments = json.loads((path / "vectors.json").read_text())["segments"]
        assert len(segments) <= 3 and "vectors-000001.npy" in segments
    assert segments == ["vectors-000001.npy", "vectors-000006.npy"]  # the small ones merged, the large one linked


def _exact(index: VectorIndex, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Every row's score from a full flat scan, best first, equal scores by row."""
    flat = build_faiss_index(index.vectors, threshold=len(index.vectors) + 1)
    scores, rows = flat.search(query[None, :], len(index.vectors))
    order = np.lexsort((rows[0], -scores[0]))[:k]
    return [(int(rows[0][i]), float(scores[0][i])) for i in order]


@pytest.mark.parametrize("spread", [1.0, 0.01])
def test_one_query_search_is_the_exact_search(spread):
    """Float16 pre-selection with exact re-scoring (spread 1) and, when the scores crowd within the
    float16 error (spread 0.01), the full search: both give the exact answer, equal scores by row."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal(32).astype(np.float32)
    vectors = base + spread * rng.standard_normal((3000, 32)).astype(np.float32)
    vectors[2000:2100] = vectors[100:200]  # duplicated symbols: equal scores
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [Row(f"id{i}", f"h{i}", "function", f"pkg.s{i}", "pkg/m.py", 1, 2, "") for i in range(3000)]
    index = VectorIndex(Meta("fake|tokens=64|fp32", "fake", 32, 3000, "flat", "gen-000001", 1, 64, False), rows,
                        vectors)
    crowded = 0
    for query in [*vectors[95:105], *rng.standard_normal((10, 32)).astype(np.float32)]:
        query = query / np.linalg.norm(query)
        expected = _exact(index, query, 100)
        assert index.search(query, 50)[0] == expected[:50]
        crowded += expected[49][1] - expected[99][1] < COARSE_MARGIN
    assert crowded == (0 if spread == 1.0 else 20)  # the pre-selection decides alone / never
