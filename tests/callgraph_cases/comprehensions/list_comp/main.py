def norm(x):
    return x


def process(items):
    return [norm(i) for i in items if check(i)]


def check(i):
    return True


process([1])
