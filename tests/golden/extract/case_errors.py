def fine(x):
    return x + 1


def broken(:
    return 2


class StillHere:
    def method(self):
        return fine(1)
