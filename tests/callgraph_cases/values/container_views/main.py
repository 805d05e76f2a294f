def red():
    return "r"


def green():
    return "g"


def blue():
    return "b"


PALETTE = {"warm": red, "cool": blue}
FALLBACK = {"any": green}
QUEUE = [green]


def paint_all():
    return [brush() for brush in PALETTE.values()]


def labelled():
    return {name: brush() for name, brush in PALETTE.items()}


def fallback():
    return FALLBACK.get("any")()


def drain():
    spare = QUEUE.copy()
    return spare.pop()()


paint_all()
labelled()
fallback()
drain()
