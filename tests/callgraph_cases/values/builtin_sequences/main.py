# Builtins that hand back the items of their argument: sorted, reversed, list, filter.
def alpha():
    pass


def beta():
    pass


def gamma():
    pass


def name_of(f):
    return f.__name__


steps = [beta, alpha]
sorted(steps, key=name_of)[0]()
for step in reversed(steps):
    step()
list((gamma,))[0]()
for kept in filter(None, [gamma]):
    kept()
