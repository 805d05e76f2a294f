# `if x:` calls type(x).__bool__ (as dateutil's tzrange tests a relativedelta).
class Span:
    def __init__(self, size):
        self.size = size

    def __bool__(self):
        return self.size > 0


def describe(span):
    if span:
        return "some"
    return "none"


describe(Span(3))
