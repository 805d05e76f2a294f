def compute(x):
    return x


def other():
    return compute(0)
