def north():
    return "N"


def east():
    return "E"


def south():
    return "S"


def west():
    return "W"


COMPASS = [north, east, south, west]


def back_half():
    half = COMPASS[2:]
    return half[0]()


def last():
    return COMPASS[-1]()


def reversed_first():
    return COMPASS[::-1][1]()


back_half()
last()
reversed_first()
