"""Prices and discounts."""

import math
from decimal import Decimal as D

PRICES = {"apple": D("0.50"), "pear": D("0.75"), "melon": D("2.10")}


def price_of(sku):
    """Unit price of an item."""
    return PRICES[sku]


def discount(total, percent):
    """Apply a percentage discount, rounding down to the cent."""
    factor = (100 - percent) / 100
    return D(math.floor(total * D(factor) * 100)) / 100


def total_price(lines, percent=0):
    """Total of (sku, quantity) lines after the discount."""
    total = sum(price_of(sku) * quantity for sku, quantity in lines)
    return discount(total, percent) if percent else total
