"""Stock keeping."""

from __future__ import annotations

from .errors import InvalidQuantity, OutOfStock


class Inventory:
    """Items in stock, by SKU."""

    def __init__(self, items: dict[str, int] | None = None) -> None:
        self._items = dict(items or {})

    def count(self, sku: str) -> int:
        """How many of ``sku`` are in stock."""
        return self._items.get(sku, 0)

    def add(self, sku: str, quantity: int) -> None:
        """Put ``quantity`` items of ``sku`` in stock."""
        self._check(quantity)
        self._items[sku] = self.count(sku) + quantity

    def take(self, sku: str, quantity: int) -> None:
        """Remove items, raising OutOfStock when there are not enough."""
        self._check(quantity)
        if self._items[sku] < quantity:
            raise OutOfStock(sku)
        self._items[sku] -= quantity

    @staticmethod
    def _check(quantity: int) -> None:
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidQuantity(quantity)


class CountingInventory(Inventory):
    """An inventory that counts how often stock was taken."""

    def __init__(self, items: dict[str, int] | None = None) -> None:
        super().__init__(items)
        self.takes = 0

    def take(self, sku: str, quantity: int) -> None:
        self.takes += 1
        super().take(sku, quantity)
