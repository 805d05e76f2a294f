from .core import Engine  # re-export
from .sub import tools as tooling
