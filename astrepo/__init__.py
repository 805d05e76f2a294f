"""astrepo: a code-intelligence graph for Python code bases."""

__version__ = "0.1.0"
