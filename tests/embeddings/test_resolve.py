"""Naming a symbol for `similar`: node ID, qualified name, unique suffix, overloads; filters."""

from __future__ import annotations

import numpy as np
import pytest

from astrepo.embeddings.search import SemanticIndex
from astrepo.embeddings.vector_index import Meta, Row, VectorIndex
from astrepo.errors import ConfigError

ROWS = [
    Row("a1", "h1", "function", "pkg.io.read", "pkg/io.py", 3, 5, "function"),
    Row("a2", "h2", "function", "pkg.io.Reader.read", "pkg/io.py", 10, 11, "method"),
    Row("a3", "h3", "function", "pkg.io.Reader.read", "pkg/io.py", 13, 30, "method"),  # the implementation
    Row("a4", "h4", "class", "pkg.io.Reader", "pkg/io.py", 8, 30, ""),
    Row("a5", "h5", "module", "pkg.io", "pkg/io.py", 1, 30, ""),
]


@pytest.fixture
def index() -> SemanticIndex:
    vectors = np.eye(len(ROWS), 8, dtype=np.float32)
    meta = Meta("fake", "fake", 8, len(ROWS), "flat", "", 1, 64, False)
    return SemanticIndex(VectorIndex(meta, ROWS, vectors))


@pytest.mark.parametrize("name, row", [("a1", 0), ("pkg.io.read", 0), ("io.read", 0), ("Reader.read", 2),
                                       ("pkg.io.Reader.read", 2), ("Reader", 3)])
def test_resolve(index, name, row):
    assert index.resolve(name) == row


def test_resolve_ambiguous_or_missing(index):
    with pytest.raises(ConfigError, match="matches 3 symbols"):
        index.resolve("read")
    with pytest.raises(ConfigError, match="no symbol named"):
        index.resolve("write")


def test_filters(index):
    query = np.ones(8, dtype=np.float32) / np.sqrt(8)
    assert {h.kind for h in index.search_vector(query, 10, kind="function")} == {"function", "method"}
    assert [h.name for h in index.search_vector(query, 10, kind="class")] == ["pkg.io.Reader"]
    assert {h.name for h in index.search_vector(query, 10, prefix="pkg.io.Reader")} == {"pkg.io.Reader",
                                                                                        "pkg.io.Reader.read"}
    with pytest.raises(ConfigError, match="--kind"):
        index.search_vector(query, 10, kind="lambda")


def test_rerank_adds_weighted_normalised_lexical_score():
    from astrepo.embeddings.search import Hit, rerank

    hits = [Hit("a", "pkg.a", "function", "a.py", 1, 0.80), Hit("b", "pkg.b", "function", "b.py", 1, 0.75)]
    fused = rerank(hits, ["header"], lambda terms, hs: [0.0, 4.0], 0.3)
    assert [h.id for h in fused] == ["b", "a"]
    assert fused[0].score == pytest.approx(0.75 + 0.3)
    assert rerank(hits, [], lambda terms, hs: [1.0, 1.0], 0.3) == hits
