def start():
    return "start"


def stop():
    return "stop"


ACTIONS = {"start": start, "stop": stop}


def dispatch(name):
    return ACTIONS[name]()


dispatch("start")
dispatch("stop")
ACTIONS["stop"]()
