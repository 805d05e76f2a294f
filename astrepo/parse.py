"""Parsing with tree-sitter, error-tolerant, and locating syntax errors.

A `SourceParser` owns one tree-sitter parser; make one per process (parsers
are not shareable across processes) and pass it to the stages that parse.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import tree_sitter
import tree_sitter_python


T = TypeVar("T")

#: The Python grammar.
PYTHON = tree_sitter.Language(tree_sitter_python.language())

#: Kind ID of ERROR nodes: tree-sitter's error symbol, (uint16) -1, beyond the grammar's own kinds.
ERROR_KIND_ID = 0xFFFF


def kind_table(by_type: Mapping[str, T], default: T) -> tuple[T, ...]:
    """A table indexed by `tree_sitter.Node.kind_id` in `PYTHON`'s trees: ``by_type.get(node.type,
    default)`` for every kind ID a node can have (ERROR nodes' included).

    Walks read the int ``kind_id``, cheaper than ``type`` (a new str each time it is read), and
    look up what to do in such a table.
    """
    count = PYTHON.node_kind_count
    own = tuple(by_type.get(PYTHON.node_kind_for_id(i) or "", default) for i in range(count))
    return own + (default,) * (ERROR_KIND_ID - count) + (by_type.get("ERROR", default),)


#: Node type by kind ID: ``KIND_NAMES[node.kind_id] == node.type`` (the same str objects each time,
#: interned, so comparing them with literals is quick).
KIND_NAMES: tuple[str, ...] = kind_table(
    {name: sys.intern(name) for i in range(PYTHON.node_kind_count) if (name := PYTHON.node_kind_for_id(i))}
    | {"ERROR": "ERROR"}, "")


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """The first place where tree-sitter could not parse the file."""

    line: int  #: 1-based
    col: int  #: 0-based, bytes
    message: str


class SourceParser:
    """A tree-sitter parser for Python."""

    def __init__(self) -> None:
        self.language = PYTHON
        self._parser = tree_sitter.Parser(self.language)

    def parse(self, utf8: bytes) -> tree_sitter.Tree:
        """Parse UTF-8 source; never raises on bad syntax (errors become ERROR nodes)."""
        return self._parser.parse(utf8)


def find_syntax_problems(root: tree_sitter.Node, limit: int = 5) -> list[SyntaxProblem]:
    """Locate up to ``limit`` ERROR / MISSING nodes, outermost first, in source order."""
    problems: list[SyntaxProblem] = []
    if not root.has_error:
        return problems
    stack = [root]
    while stack and len(problems) < limit:
        node = stack.pop()
        if node.is_missing:
            row, col = node.start_point
            problems.append(SyntaxProblem(row + 1, col, f"syntax error: missing {node.type!r}"))
            continue
        if node.is_error:
            row, col = node.start_point
            snippet = node.text.decode("utf-8", "replace").splitlines()[0][:40] if node.text else ""
            problems.append(SyntaxProblem(row + 1, col, f"syntax error near {snippet!r}"))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    problems.sort(key=lambda p: (p.line, p.col))
    return problems
