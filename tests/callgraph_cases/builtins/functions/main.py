def summary(xs):
    print(len(xs), max(xs))
    return isinstance(xs, list)


summary([3, 1])
