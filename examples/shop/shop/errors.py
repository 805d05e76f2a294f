"""Errors of the shop."""


class ShopError(Exception):
    """Base class of the shop's errors."""


class OutOfStock(ShopError, KeyError):
    """An item is not (or no longer) in stock."""

    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


class InvalidQuantity(ShopError, ValueError):
    """A quantity is not a positive integer."""
