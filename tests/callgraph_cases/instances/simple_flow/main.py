class Memory:
    def get(self, key):
        return key


class Disk:
    def get(self, key):
        return key


def lookup(key, fast):
    if fast:
        store = Memory()
    else:
        store = Disk()
    return store.get(key)


def cached(key, store=None):
    store = store if store is not None else Memory()
    return store.get(key)


lookup("k", True)
lookup("k", False)
cached("k")
