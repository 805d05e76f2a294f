from ..helpers import trim


def shout(text):
    return trim(text)
