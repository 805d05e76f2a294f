def twice(x):
    return 2 * x


square = lambda x: twice(x) * x
square(3)


def pick(f, v):
    return f(v)


pick(lambda v: twice(v), 1)
