import sys
import traceback


def inner(d):
    return d["missing"]


def middle(d):
    try:
        return inner(d)
    except KeyError as e:
        raise LookupError("wrapped") from e


def finally_return():
    try:
        raise ValueError("x")
    finally:
        return "finally wins"


def context():
    try:
        1 / 0
    except ZeroDivisionError:
        try:
            [][1]
        except IndexError as e:
            return repr(e.__context__)


def groups():
    try:
        raise ExceptionGroup("eg", [ValueError(1), TypeError(2)])
    except* ValueError as eg:
        print("value group", [repr(x) for x in eg.exceptions])
    except* TypeError as eg:
        print("type group", [repr(x) for x in eg.exceptions])


def depth(n):
    return depth(n + 1) if n < 100000 else n


try:
    middle({})
except LookupError:
    traceback.print_exc(file=sys.stdout)
print(finally_return(), context())
groups()
reached = []


def probe(n):
    reached.append(n)
    probe(n + 1)


try:
    probe(0)
except RecursionError as e:
    print("recursion", type(e).__name__, len(reached) > 100)
print(sys.getrecursionlimit())
try:
    depth(0)
except RecursionError:
    print("deep recursion error")


class Repr:
    def __repr__(self):
        return "Repr(" + helper() + ")"


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def helper():
    return "h"


def takes(a, b):
    return type(a).__name__ + type(b).__name__


print(takes(Repr(), BadRepr()))
middle({})
