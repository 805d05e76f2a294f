"""Every construct the CFG covers, in one module."""
import os


def loops(xs, n):
    total = 0
    for x in xs:
        if x is None:
            continue
        if x < 0:
            break
        total += x
    else:
        total = -1
    while n > 0:
        n -= 1
    return total


def handlers(path):
    try:
        fh = open(path)
    except (OSError, ValueError) as err:
        raise RuntimeError(path) from err
    except* KeyError:
        raise
    else:
        with fh:
            return fh.read()
    finally:
        os.sync()


async def coroutine(client):
    async with client as c:
        data = await c.get()
    async for item in data:
        yield item


def matcher(cmd):
    match cmd:
        case ["go", where]:
            return where
        case {"x": x} if x:
            return x
        case _:
            return None


def finally_return():
    for i in range(3):
        try:
            if i:
                continue
        finally:
            return i


class Widget:
    size = 1

    def grow(self):
        self.size += 1


if __name__ == "__main__":
    loops([1], 2)
