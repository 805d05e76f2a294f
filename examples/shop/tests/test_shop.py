import pytest

from shop import Inventory, OutOfStock, place_order


def test_order_takes_stock():
    inventory = Inventory({"apple": 5})
    assert place_order(inventory, [("apple", 2)]) == 1
    assert inventory.count("apple") == 3


def test_failed_order_takes_nothing():
    inventory = Inventory({"apple": 5, "pear": 1})
    with pytest.raises(OutOfStock):
        place_order(inventory, [("apple", 2), ("pear", 2)])
    assert inventory.count("apple") == 5
