"""Run a few orders against a fresh inventory."""

import sys

from shop import Inventory, place_order
from shop.orders import try_order


def main(argv):
    inventory = Inventory({"apple": 10, "pear": 4, "melon": 1})
    print("order 1:", place_order(inventory, [("apple", 3), ("pear", 1)]))
    print("order 2:", place_order(inventory, [("melon", 1)], percent=10))
    print("order 3:", try_order(inventory, [("melon", 1)]))
    print("left:", {sku: inventory.count(sku) for sku in ("apple", "pear", "melon")})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
