"""Fixtures shared by the analyzer tests: parse a snippet, name nodes by line."""

from __future__ import annotations

import textwrap

import pytest

from astrepo.facts import facts_from_source
from astrepo.parse import SourceParser
from astrepo.analyzers.statements import index_statements

PARSER = SourceParser()


def analyze_source(source: str, path: str = "case.py", module: str = "case", dedent: bool = True):
    """(tree, facts, index) of a snippet."""
    text = textwrap.dedent(source) if dedent else source
    raw = text.encode("utf-8")
    facts = facts_from_source(path, module, raw, PARSER)
    tree = PARSER.parse(raw)
    return tree, facts, index_statements(tree, facts)


def node_labels(facts, index) -> dict[str, str]:
    """Node ID -> ``line:kind`` for every node of a file (qualified name for scopes)."""
    labels = {}
    for node in facts.nodes:
        if node.kind.value in ("Module", "Class", "Function", "Parameter"):
            labels[node.id] = node.name
        else:
            labels[node.id] = f"{node.span.start_line}:{node.attrs.get('kind', node.kind.value)}"
    for info in index.stmts:
        if info.kind in ("def", "class"):
            labels.setdefault(info.id, f"{info.line}:{info.kind}")
    return labels


@pytest.fixture
def analyze():
    """``analyze(source, dedent=True) -> (tree, facts, index)`` of a snippet."""
    return analyze_source


@pytest.fixture
def labels():
    """``labels(facts, index) -> {node ID: "line:kind" or qualified name}``."""
    return node_labels
