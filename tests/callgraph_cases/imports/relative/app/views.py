from .templates import fill
from . import helpers
from .sub.deep import shout


def render_page(name):
    text = fill(name)
    return shout(helpers.trim(text))
