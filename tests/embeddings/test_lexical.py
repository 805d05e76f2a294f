"""The BM25 baseline."""

from astrepo.embeddings.lexical import BM25, document_terms, query_terms


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
