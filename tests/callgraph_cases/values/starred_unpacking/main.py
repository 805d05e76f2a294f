# Nested and starred assignment targets: each name takes its own item.
def load():
    pass


def parse():
    pass


def emit():
    pass


def log():
    pass


first, (second, third) = load, (parse, emit)
first()
third()
head, *tail = log, parse
tail[0]()
