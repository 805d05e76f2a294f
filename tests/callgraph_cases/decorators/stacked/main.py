def outer(f):
    def w1():
        return f()
    return w1


def inner(f):
    def w2():
        return f()
    return w2


@outer
@inner
def job():
    return 1


job()
