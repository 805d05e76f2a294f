def apply(func, value):
    return func(value)


def double(x):
    return x * 2


def negate(x):
    return -x


apply(double, 1)
apply(func=negate, value=2)
