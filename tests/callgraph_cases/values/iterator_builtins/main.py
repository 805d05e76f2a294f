def alpha():
    return "a"


def beta():
    return "b"


def only(fn):
    yield fn


def first_step():
    return next(only(alpha))()


def walk(items):
    cursor = iter(items)
    return [fn() for fn in cursor]


first_step()
walk([beta])
