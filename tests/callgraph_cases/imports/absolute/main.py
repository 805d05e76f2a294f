import shapes.circle
from shapes import square


def report():
    return shapes.circle.area(2) + square.area(3)


report()
