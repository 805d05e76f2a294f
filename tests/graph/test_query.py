"""Questions on the example project, with exact answers (real Kuzu)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from astrepo.errors import QueryError
from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.query import open_engine, run_query
from astrepo.graph.read import run_cypher
from astrepo.layout import Layout

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("q") / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".astrepo"))
    db_dir = root.parent / "db"
    build_index(IndexConfig(root=root, db_dir=db_dir))
    return db_dir


def names(db: Path, text: str) -> list[str]:
    return [r.name for r in run_query(text, db).rows]


def cypher_rows(db: Path, query: str) -> list[list]:
    """Rows of read-only Cypher on the graph in ``db``, as lists of values."""
    return [list(row.values()) for row in run_cypher(Layout(db), query)[1]]


ANSWERS = {
    "callers of place_order": ["app.main", "shop.orders.try_order", "tests.test_shop.test_failed_order_takes_nothing",
                               "tests.test_shop.test_order_takes_stock"],
    "callees of place_order": ["<builtin>.list.append", "shop.inventory.Inventory.add",
                               "shop.inventory.Inventory.take", "shop.pricing.total_price"],
    "transitive callers of shop.inventory.Inventory.take": [
        "app", "shop.inventory.CountingInventory.take", "shop.orders.place_order", "app.main", "shop.orders.try_order",
        "tests.test_shop.test_failed_order_takes_nothing", "tests.test_shop.test_order_takes_stock"],
    "transitive callees of total_price": ["<builtin>.sum", "shop.pricing.discount", "shop.pricing.price_of",
                                          "decimal.Decimal", "math.floor"],
    "functions in shop/pricing.py": ["shop.pricing.discount", "shop.pricing.price_of", "shop.pricing.total_price"],
    "functions calling place_order": ["app.main", "shop.orders.try_order",
                                      "tests.test_shop.test_failed_order_takes_nothing",
                                      "tests.test_shop.test_order_takes_stock"],
    "functions called by shop.pricing.total_price": ["shop.pricing.discount", "shop.pricing.price_of"],
    "functions in shop and called by place_order": ["shop.inventory.Inventory.add", "shop.inventory.Inventory.take",
                                                    "shop.pricing.total_price"],
    "methods of CountingInventory": ["shop.inventory.CountingInventory.__init__",
                                     "shop.inventory.CountingInventory.take"],
    "subclasses of ShopError": ["shop.errors.InvalidQuantity", "shop.errors.OutOfStock"],
    "subclasses of KeyError": ["shop.errors.OutOfStock"],
    "unused functions": [],
    "recursive functions": [],
    "entry points reaching shop.pricing.discount": [
        "app.main", "tests.test_shop.test_failed_order_takes_nothing", "tests.test_shop.test_order_takes_stock"],
    "paths from app.main to shop.pricing.price_of": ["app.main"],
    # Exceptions: `raising` counts subclasses (OutOfStock < KeyError), `catching` superclasses.
    "functions raising KeyError": ["app.main", "shop.inventory.CountingInventory.take", "shop.inventory.Inventory.take",
                                   "shop.orders.place_order", "tests.test_shop.test_failed_order_takes_nothing",
                                   "tests.test_shop.test_order_takes_stock"],
    "callers of Inventory.take raising OutOfStock": ["shop.inventory.CountingInventory.take", "shop.orders.place_order"],
    "functions in shop raising InvalidQuantity": [
        "shop.inventory.CountingInventory.take", "shop.inventory.Inventory._check", "shop.inventory.Inventory.add",
        "shop.inventory.Inventory.take", "shop.orders.place_order", "shop.orders.try_order"],
    # Inventory.add only stores `self._items[sku] = ...`: a dict store raises no KeyError.
    "functions in shop implicitly raising KeyError": [
        "shop.inventory.CountingInventory.take", "shop.inventory.Inventory.take",
        "shop.orders.place_order", "shop.pricing.price_of"],
    "functions catching OutOfStock": ["shop.orders.place_order", "shop.orders.try_order"],  # ShopError, KeyError
    "functions catching ShopError": ["shop.orders.place_order"],  # `except Error`, an alias of ShopError
    "functions with complexity > 2": ["shop.inventory.Inventory._check", "shop.orders.place_order",
                                      "shop.pricing.total_price"],
}


@pytest.mark.parametrize("text", sorted(ANSWERS))
def test_exact_answers(db: Path, text: str) -> None:
    got = names(db, text)
    assert sorted(got) == sorted(ANSWERS[text])


def test_raise_rows_name_the_raise_site_and_the_call_path(db: Path) -> None:
    rows = {r.name: r for r in run_query("functions raising OutOfStock", db).rows}
    assert rows["shop.orders.place_order"].why == [
        "may raise OutOfStock (raised at shop/inventory.py:27, via calls at shop/orders.py:17)"]


def test_every_row_says_why(db: Path) -> None:
    result = run_query("transitive callers of shop.inventory.Inventory.take", db)
    main = next(r for r in result.rows if r.name == "app.main")
    assert main.path == ["app.main", "shop.orders.place_order", "shop.inventory.Inventory.take"]
    callers = run_query("callers of place_order", db)
    assert all(r.why and r.file and r.line for r in callers.rows)
    assert "calls shop.orders.place_order at app.py:11" in callers.rows[0].why[0]


def test_names_by_place_and_suffix(db: Path) -> None:
    assert names(db, "callers of shop/orders.py:14") == names(db, "callers of shop.orders.place_order")
    assert names(db, "callers of orders.place_order") == names(db, "callers of place_order")


def test_ambiguous_and_unknown_names(db: Path) -> None:
    with pytest.raises(QueryError, match="ambiguous .*CountingInventory.take.*Inventory.take"):
        run_query("callers of take", db)
    with pytest.raises(QueryError, match="did you mean .*place_order"):
        run_query("callers of plce_order", db)


def test_user_text_is_a_parameter_never_cypher(db: Path) -> None:
    engine = open_engine(db)
    try:
        with pytest.raises(QueryError):
            engine.answer("callers of \"x' OR 1=1 //\"")
        cypher = engine.answer("callers of place_order").cypher
    finally:
        engine.db.close()
    assert all("place_order" not in q for q, _ in cypher)


def test_cli_json_contract(db: Path, astrepo_cli) -> None:
    result = astrepo_cli("query", "callers of place_order", "--db", str(db), "--json", "--explain", "--limit", "2")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["format"] == 1 and doc["query"] == "callers of place_order" and len(doc["rows"]) == 2
    for row in doc["rows"]:
        assert {"id", "kind", "name", "file", "line", "why"} <= set(row)
    assert doc["cypher"] and all("$" in c["query"] for c in doc["cypher"])


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Path:
    """The example indexed and traced once under full_trace (real subprocess)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("traced") / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".astrepo"))
    for args in (["index", ".", "--no-embed", "-q"], ["trace", "--strategy", "full_trace", "--", sys.executable, "app.py"]):
        done = subprocess.run([sys.executable, "-m", "astrepo.cli.app", *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return root / ".astrepo"


RUNTIME_ANSWERS = {
    "functions that raised KeyError": ["shop.inventory.Inventory.take", "shop.orders.place_order"],
    "callers of Inventory.take that raised OutOfStock": ["shop.orders.place_order"],
    "never executed functions in shop": ["shop.inventory.CountingInventory.__init__",
                                         "shop.inventory.CountingInventory.take", "shop.inventory.Inventory.add"],
    "functions in shop called more than 3 times": ["shop.inventory.Inventory._check", "shop.inventory.Inventory.take"],
}


@pytest.mark.slow
@pytest.mark.parametrize("text", sorted(RUNTIME_ANSWERS))
def test_runtime_answers(traced: Path, text: str) -> None:
    assert sorted(names(traced, text)) == sorted(RUNTIME_ANSWERS[text])


def test_runtime_questions_without_a_run_say_so(db: Path) -> None:
    with pytest.raises(QueryError, match="no traced runs"):
        run_query("functions that raised KeyError", db)


@pytest.mark.slow
def test_similar_to_ranks_by_meaning(traced: Path) -> None:
    """`similar to` reads the embedding index (real model; embeds on first use)."""
    rows = run_query('functions similar to "apply a percentage discount to a total"', traced, limit=3).rows
    assert rows[0].name == "shop.pricing.discount"
    assert rows[0].score is not None and rows[0].score >= rows[1].score >= rows[2].score


def test_unused_functions_leave_out_what_a_module_exports(tmp_path: Path) -> None:
    """`__all__` of the defining module, or of a package importing it, makes a function (and the public methods
    of an exported class) part of the API: not unused."""
    pkg = tmp_path / "proj" / "lib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .core import api, Client\n\n__all__ = ['api', 'Client']\n")
    (pkg / "core.py").write_text(
        "def api():\n    return 1\n\n\n"
        "def helper():\n    return 2\n\n\n"
        "class Client:\n    def get(self):\n        return 3\n\n    def _raw(self):\n        return 4\n\n\n"
        "class Hidden:\n    def get(self):\n        return 5\n")
    (pkg / "extra.py").write_text("__all__ = ('listed',)\n__all__ += ['more']\n\n\n"
                                  "def listed():\n    pass\n\n\ndef more():\n    pass\n\n\ndef not_listed():\n    pass\n")
    db = tmp_path / "db"
    build_index(IndexConfig(root=tmp_path / "proj", db_dir=db))
    assert sorted(names(db, "unused functions")) == [
        "lib.core.Client._raw", "lib.core.Hidden.get", "lib.core.helper", "lib.extra.not_listed"]
    rows = cypher_rows(db, "MATCH (m:Module) WHERE m.name IN ['lib', 'lib.extra'] RETURN m.name, m.exports "
                           "ORDER BY m.name")
    assert rows == [["lib", ["api", "Client"]], ["lib.extra", ["listed", "more"]]]


def test_unused_functions_leave_out_overrides_and_implicit_entries(tmp_path: Path) -> None:
    """A method overriding one of a project base class (at any depth) is reached by dispatch; lambdas,
    decorated functions, dunders, `main` and tests run without a call: none of them is unused. The index
    marks both (Function.overrides, Function.implicit_entry)."""
    proj = tmp_path / "proj"
    (proj / "tests").mkdir(parents=True)
    (proj / "shapes.py").write_text(
        "import functools\n\n\n"
        "class Base:\n    def area(self):\n        return 0\n\n    def only_base(self):\n        return 1\n\n\n"
        "class Mid(Base):\n    pass\n\n\n"
        "class Leaf(Mid):\n    def area(self):\n        return 2\n\n    def own(self):\n        return 3\n\n"
        "    def __repr__(self):\n        return 'leaf'\n\n\n"
        "@functools.lru_cache\ndef cached():\n    return 4\n\n\n"
        "def main():\n    return 5\n\n\n"
        "square = lambda x: x * x\n")
    (proj / "tests" / "helpers.py").write_text("def make():\n    return 6\n")
    (proj / "test_shapes.py").write_text("def check():\n    return 7\n")
    db = tmp_path / "db"
    build_index(IndexConfig(root=proj, db_dir=db))
    assert sorted(names(db, "unused functions")) == [
        "shapes.Base.area", "shapes.Base.only_base", "shapes.Leaf.own"]
    rows = cypher_rows(db, "MATCH (f:Function) WHERE f.overrides OR f.implicit_entry "
                           "RETURN f.name, f.overrides, f.implicit_entry ORDER BY f.name")
    assert rows == [["shapes.<lambda1>", False, True], ["shapes.Leaf.__repr__", False, True],
                    ["shapes.Leaf.area", True, False], ["shapes.cached", False, True], ["shapes.main", False, True],
                    ["test_shapes.check", False, True], ["tests.helpers.make", False, True]]
