"""Call expressions in every context the instrumenter rewrites them in (values recorded inline in
function bodies, through a helper elsewhere): evaluation order, lifetimes and errors unchanged."""

import asyncio
import gc
import sys
import traceback

log = []


def note(tag, value=None):
    log.append(tag)
    return value if value is not None else tag


class Noisy:
    def __init__(self, n):
        self.n = n

    def __del__(self):
        log.append(f"del {self.n}")

    def __repr__(self):
        return label_of(self.n)  # a repr that runs instrumented code (its side effects would show)


def label_of(n):
    return f"Noisy({n})"


def make(n):
    return Noisy(n)


def lifetimes():
    len(str(make(1)))  # the temporary dies inside the statement
    log.append("after 1")
    keep = make(2)
    log.append("after 2")
    del keep
    log.append("after del")
    [make(i) for i in range(3, 5)]
    log.append("after comprehension")


def order():
    out = note("a", [1]) + note("b", [2]) + [note("c")]
    pairs = {note("k1"): note("v1"), note("k2"): note("v2")}
    nested = note(note(note("inner") + "-mid") + "-outer")
    if (m := note("walrus", 7)) > 3:
        out.append(m)
    total = sum(note(f"gen {i}", i) for i in range(3))
    fmt = f"{note('fmt', 5):>4}|{len(note('x' * 3))!r}"
    cond = note("yes") if note("test", 0) else note("no")
    args = [note("s1"), note("s2")]
    kwargs = {"sep": note("sep", "-")}
    printed = " ".join([*map(str, args)]) + kwargs["sep"]
    deflt = (lambda z=note("default"): z)()
    return out, pairs, nested, total, fmt, cond, printed, deflt


def decorated():
    def tagger(label):
        note(f"tag {label}")
        return lambda fn: fn

    @tagger(note("label"))
    def inner(x=note("arg default", 3)):
        return x * 2

    class Local:
        attr = note("class attr", 1)
        items = [note(f"class comp {i}", i) for i in range(2)]

        def method(self):
            return super().__repr__ is not None and note("method", 2)

    return inner(), Local.attr, Local.items, Local().method()


def gen():
    received = yield note("first yield", 1)
    while received is not None:
        received = yield note("echo", received)
    return note("gen done", "end")


async def coro(n):
    await asyncio.sleep(0)
    return note(f"coro {n}", n) + await asyncio.sleep(0, result=n)


def match_guard(value):
    match value:
        case int(n) if note("guard", n) > 1:
            return "big"
        case _:
            return "small"


def boom(x):
    return {"a": 1}[x]


def failing():
    try:
        return len(str(boom(note("key", "b"))))
    except KeyError:
        traceback.print_exc(file=sys.stdout)
        return -1


print(order())
lifetimes()
gc.collect()
print(decorated())
g = gen()
print(next(g), g.send(5), g.send(6))
try:
    g.send(None)
except StopIteration as stop:
    print("stop", stop.value)
print(asyncio.run(coro(4)))
print(match_guard(5), match_guard(0))
print(failing())
print([Noisy(9)])
print(log)
