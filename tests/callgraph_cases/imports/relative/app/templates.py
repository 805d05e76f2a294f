def fill(name):
    return "<" + name + ">"
