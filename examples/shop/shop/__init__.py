"""A small shop: inventory, pricing and orders (the astrepo example project)."""

from .inventory import Inventory, OutOfStock
from .orders import place_order

__all__ = ["Inventory", "OutOfStock", "place_order"]
