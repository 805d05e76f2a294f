class Bag:
    def __init__(self):
        self.items = {}

    def __getitem__(self, key):
        return self.items[key]

    def __setitem__(self, key, value):
        self.items[key] = value

    def __contains__(self, key):
        return key in self.items


def use():
    bag = Bag()
    bag["a"] = 1
    found = "a" in bag
    return bag["a"], found


use()
