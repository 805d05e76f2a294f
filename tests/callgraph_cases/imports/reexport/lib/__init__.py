from lib._impl import parse
from lib._classes import Parser as Parser

__all__ = ["parse", "Parser"]
