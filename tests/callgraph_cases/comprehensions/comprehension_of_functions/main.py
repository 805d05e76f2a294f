def f():
    return 1


def g():
    return 2


def run():
    return [fn() for fn in (f, g)]


run()
