"""Module docstring."""
from __future__ import annotations

import inspect
import pickle
import sys
import typing
import warnings
from dataclasses import dataclass, field


class Base:
    def greet(self, who: str = "x") -> str:
        """Base greet."""
        return f"base {who}"


class Child(Base):
    __secret = 5

    def greet(self, who: str = "y", *args: int, token: str = "t", **kw) -> str:
        """Child greet."""
        return "child " + super().greet(who) + str(self.__secret) + str(__class__.__name__)

    @property
    def prop(self) -> int:
        return 42

    @staticmethod
    def st(a, /, b, *, c=3):
        return a + b + c

    @classmethod
    def cm(cls):
        return cls.__name__


@dataclass
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


def where():
    return sys._getframe().f_lineno


def warn():
    warnings.warn("careful", UserWarning)


def closure():
    count = 0

    def inc():
        nonlocal count
        count += 1
        return count
    inc()
    return inc()


print(__doc__, Child.greet.__doc__, Child.greet.__qualname__, Child().greet())
print(inspect.signature(Child.greet), inspect.signature(Child.st))
print(typing.get_type_hints(Child.greet))
print(Child().prop, Child.st(1, 2), Child.cm(), Point(1), Point.__doc__ is not None)
print(where(), where.__code__.co_firstlineno, closure())
print(pickle.loads(pickle.dumps(Point(3, 4, ["a"]))), pickle.loads(pickle.dumps(where)) is where)
print(sorted(k for k in vars(Child) if not k.startswith("__")))
print(inspect.getsource(where).splitlines()[0])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warn()
print([(w.lineno, str(w.message)) for w in caught])
print(sorted(n for n in dir(sys.modules[__name__]) if not n.startswith("_"))[:8])
