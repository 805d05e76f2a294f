def greet(name):
    return _fmt(name)


def _fmt(name):
    return name.upper()
