"""Placing orders against an inventory."""

import logging

from . import pricing
from .inventory import Inventory
from .errors import ShopError as Error

log = logging.getLogger(__name__)


def place_order(inventory: Inventory, lines, percent=0):
    """Take every line from stock and return the price; nothing is taken on failure."""
    taken = []
    try:
        for sku, quantity in lines:
            inventory.take(sku, quantity)
            taken.append((sku, quantity))
    except Error:
        for sku, quantity in taken:
            inventory.add(sku, quantity)
        log.warning("order failed: %s", lines)
        raise
    return pricing.total_price(lines, percent)


def try_order(inventory, lines):
    """Like place_order, but returns None instead of raising."""
    try:
        return place_order(inventory, lines)
    except KeyError:
        return None
