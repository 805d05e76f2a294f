from collections import OrderedDict
from decimal import Decimal


class Ledger:
    def __init__(self):
        self.amounts = {}
        self.order = OrderedDict()

    def add(self, name, amount):
        self.amounts[name] = Decimal(amount)
        self.order[name] = True
        self.order.move_to_end(name, last=False)

    def rounded(self, name):
        return self.amounts[name].quantize(Decimal("0.01"))


def oldest(book: OrderedDict):
    return book.popitem(last=False)


def apply(method, arg):
    return method(arg)


ledger = Ledger()
ledger.add("tea", "2.505")
ledger.rounded("tea")
oldest(ledger.order)
apply(Decimal("1.5").compare, Decimal("2"))
