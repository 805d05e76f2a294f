def key(x):
    return x


def val(x):
    return x


def total(xs):
    d = {key(x): val(x) for x in xs}
    s = {val(x) for x in xs}
    return sum(key(x) for x in xs), d, s


total([1])
