from util import *

greet("you")
