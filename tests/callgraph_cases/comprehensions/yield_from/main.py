# yield from delegates: the outer generator yields what the inner one yields.
def ping():
    pass


def pong():
    pass


def inner_steps():
    yield ping
    yield pong


def all_steps():
    yield from inner_steps()


for step in all_steps():
    step()
