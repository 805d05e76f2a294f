def ping():
    return "ping"


def pong():
    return "pong"


def finish():
    return "done"


def run_all(*steps, then=None):
    for step in steps:
        step()
    if then is not None:
        then()


def by_name(**actions):
    return actions["go"]()


def spread(first, second):
    return first(), second()


run_all(ping, pong, then=finish)
by_name(go=ping)
pair = [pong, finish]
spread(*pair)
