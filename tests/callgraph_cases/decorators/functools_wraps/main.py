import functools


def traced(func):
    @functools.wraps(func)
    def inner(*args):
        return func(*args)
    return inner


@traced
def square(x):
    return x * x


square(3)
