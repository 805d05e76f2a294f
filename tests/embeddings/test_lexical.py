"""The BM25 baseline."""

from collections import Counter

import numpy as np
import pytest

from astrepo.embeddings.lexical import BM25, TermIndex, document_terms, query_terms


def test_query_terms_drop_stop_words_and_split_identifiers():
    assert query_terms("Return the parsed HTTP header of a readConfig call") == [
        "parsed", "http", "header", "read", "config", "call"]


def test_bm25_ranks_matching_document_first():
    docs = [document_terms("pkg.parse_http_header", "name, value = line.partition(':')"),
            document_terms("pkg.Cart.total_price", "total += item.price * quantity"),
            document_terms("pkg.read_config", "json.load(open(path))")]
    bm25 = BM25(docs)
    assert [i for i, _ in bm25.top(query_terms("total price of the items"), 3)][0] == 1
    assert [i for i, _ in bm25.top(query_terms("parse a header"), 3)] == [0]
    assert bm25.top(["nothing"], 3) == []


DOCS = [document_terms("pkg.parse_http_header", "name, value = line.partition(':')\nreturn name, value"),
        document_terms("pkg.Cart.total_price", "total += item.price * quantity"),
        document_terms("pkg", ""),
        document_terms("pkg.read_config", "json.load(open(path))  # read the header")]


def test_term_index_holds_each_documents_counts():
    index = TermIndex.build(Counter(d) for d in DOCS)
    assert index.terms == sorted({t for d in DOCS for t in d})
    assert [index.counts(i) for i in range(len(DOCS))] == [Counter(d) for d in DOCS]
    assert index.lengths.tolist() == [len(d) for d in DOCS]


@pytest.mark.parametrize("query", ["parse a header", "total price of the items", "read config name value", "nothing"])
def test_term_index_scores_are_the_bm25_scores(query):
    index = TermIndex.build(Counter(d) for d in DOCS)
    expected = BM25(DOCS).scores(query_terms(query))
    rows = np.array([3, 0, 2, 1])
    assert index.scores(query_terms(query), rows).tolist() == pytest.approx([expected.get(i, 0.0) for i in rows],
                                                                            rel=1e-12, abs=0)
