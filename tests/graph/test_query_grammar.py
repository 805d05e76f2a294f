"""The question grammar, without a database."""

import pytest

from astrepo.errors import QueryError
from astrepo.graph.query.grammar import Clause, parse_query


@pytest.mark.parametrize("text, subject, filters", [
    ("callers of X", Clause("callers", ("X",)), ()),
    ("transitive callers of pkg.mod.f raising KeyError",
     Clause("transitive_callers", ("pkg.mod.f",)), (Clause("raising", ("KeyError", False)),)),
    ("functions implicitly raising KeyError", Clause("functions"), (Clause("raising", ("KeyError", True)),)),
    ("functions in shop/ and calling place_order", Clause("functions"),
     (Clause("in", ("shop/",)), Clause("calling", ("place_order",)))),
    ("functions with complexity > 10", Clause("functions"), (Clause("complexity", (">", 10)),)),
    ("functions slower than 10ms", Clause("functions"), (Clause("slower_than", (10.0,)),)),
    ("functions slower than 0.5s", Clause("functions"), (Clause("slower_than", (500.0,)),)),
    ("functions called more than 5 times", Clause("functions"), (Clause("called_more_than", (5,)),)),
    ('functions similar to "parse the config file"', Clause("functions"),
     (Clause("similar", ("parse the config file",)),)),
    ("paths from main to app.py:12", Clause("paths", ("main", "app.py:12")), ()),
    ("callers of get_user that raised KeyError", Clause("callers", ("get_user",)),
     (Clause("raised", ("KeyError",)),)),
    ("never executed functions in shop", Clause("never_executed"), (Clause("in", ("shop",)),)),
])
def test_parses(text, subject, filters) -> None:
    query = parse_query(text)
    assert query.subject == subject and query.filters == filters


@pytest.mark.parametrize("text, fragment", [
    ("callrs of x", "at 'callrs' (column 1)"),
    ("callers of", "expected a function name"),
    ("functions raisin KeyError", "at 'raisin' (column 11)"),
    ("functions with complexity ten", "expected a comparison"),
    ("", "empty query"),
])
def test_errors_point_at_the_word(text, fragment) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert fragment in str(info.value)


def test_unknown_words_suggest_valid_forms() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("caller of x")
    assert "did you mean" in str(info.value) and "callers of X" in str(info.value)
