# functools.partial(f, ...) called later calls f.
import functools


def scale(factor, value):
    return factor * value


double = functools.partial(scale, 2)
double(21)
