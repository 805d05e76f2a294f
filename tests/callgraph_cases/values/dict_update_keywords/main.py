# d.update(mapping) and d.update(key=value) store values that are called later.
def save():
    pass


def load():
    pass


commands = {}
commands.update({"save": save})
commands.update(load=load)
commands["save"]()
commands["load"]()
