def encode(s):
    return s


def decode(s):
    return s
