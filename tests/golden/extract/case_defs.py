import functools


def plain(a, /, b, c=1, *args, d, e: int = 2, **kw) -> int:
    """Docstring of plain."""
    return a


async def fetch(url):
    async with session() as s:
        return await s.get(url)


class Base:
    """A base class."""

    x = 1

    @staticmethod
    def build(*, flag=False):
        return Base()

    @functools.lru_cache(maxsize=None)
    def cached(self, key):
        def inner(v):
            return v * 2
        return inner(key)

    @property
    def value(self):
        return self.x

    @value.setter
    def value(self, new):
        self.x = new


class Child(Base, metaclass=type):
    def cached(self, key):
        square = lambda n: n * n
        pick = lambda n: square(n) if n else 0
        return [pick(k) for k in key]


def plain(a):  # redefinition
    return lambda: a
