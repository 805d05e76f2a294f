import asyncio


def gen():
    try:
        x = yield 1
        while True:
            try:
                x = yield x * 2
            except ValueError as e:
                x = yield f"caught {e}"
    finally:
        print("gen closed")


def delegating():
    result = yield from gen()
    return result


g = gen()
print(next(g), g.send(5), g.throw(ValueError("v")), g.send(7))
g.close()
d = delegating()
print(next(d), d.send(2))
try:
    d.throw(KeyError("k"))
except KeyError as e:
    print("propagated", repr(e))


async def work(n):
    await asyncio.sleep(0)
    if n == 3:
        raise RuntimeError("three")
    return n * n


async def agen():
    for i in range(3):
        yield i
        await asyncio.sleep(0)


async def main():
    results = await asyncio.gather(*(work(i) for i in range(5)), return_exceptions=True)
    print(results)
    print([i async for i in agen()])
    coro = work(1)
    print(await coro)


asyncio.run(main())


def early():
    for i in range(10):
        if i == 2:
            return i
    return None


print(early(), list(x for x in range(3)), [y() for y in [lambda: 1, lambda: 2]])
