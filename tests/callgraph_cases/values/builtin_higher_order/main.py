def inc(x):
    return x + 1


def positive(x):
    return x > 0


def weight(x):
    return -x


def run(xs):
    a = list(map(inc, xs))
    b = list(filter(positive, xs))
    c = sorted(xs, key=weight)
    return a, b, c


run([1, 2])
