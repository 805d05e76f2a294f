def a():
    return 1


def b():
    return 2


STEPS = [a, b]


def run_all():
    for step in STEPS:
        step()


run_all()
STEPS[0]()
