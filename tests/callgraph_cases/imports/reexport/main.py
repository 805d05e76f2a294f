import lib
from lib import Parser

lib.parse("x")
Parser().feed("y")
