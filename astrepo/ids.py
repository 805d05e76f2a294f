"""Node IDs: the contract shared by the index and the capture runtime.

An ID is a short hash of ``(path, scope path, kind, ordinal)``:

* ``path`` is the file's path relative to the project root, POSIX style;
* the *scope path* names the chain of enclosing definitions by segment
  (``Class.method``; the module itself is ``""``). A segment is the
  definition's name, ``name#k`` for the k-th (k >= 1) later definition of
  the same name in the same scope, and ``<lambdaN>`` (N = 1, 2, ... in
  source order) for lambdas;
* ``kind`` is one of the canonical kinds below;
* ``ordinal`` numbers the nodes of one kind within one scope in source order
  (start position, then the outer node first), or is a name where the kind
  has unique names (parameters).

Because nothing here depends on line numbers or on other scopes, editing a
function leaves every ID outside it unchanged, and inserting lines above a
function leaves every ID inside it unchanged.

Which syntax belongs to which scope: a definition's body and parameter
names belong to the definition; its decorators, default values, annotations
and base classes belong to the enclosing scope (that is where Python
evaluates them). Comprehensions are not scopes here.

This module uses the standard library only: the capture runtime, which runs
inside the user's program, computes the same IDs from ``ast`` trees.
"""

from __future__ import annotations

import hashlib
from typing import NewType

NodeId = NewType("NodeId", str)

#: Kinds of definitions (they open a scope).
DEF_KINDS = ("module", "class", "function", "lambda")

#: Canonical statement kinds, shared by the tree-sitter and ``ast`` walkers.
STMT_KINDS = (
    "expr", "assign", "augassign", "annassign", "return", "delete", "pass",
    "break", "continue", "raise", "assert", "import", "global", "nonlocal",
    "if", "for", "while", "try", "with", "match", "typealias",
    "except", "case",
)

#: Hex digits kept from the hash: 64 bits, collision-free in practice for
#: any repository (and checked at index time).
ID_HEX_DIGITS = 16


#: An empty hasher of IDs, never updated: each ID hashes a copy of it (copying is cheaper than
#: making a hasher with parameters, ~0.15 us of ~0.4 us; an index makes about a million IDs of Django).
_ID_HASHER = hashlib.blake2b(digest_size=ID_HEX_DIGITS // 2)


def node_id_for(path: str, scope: str, kind: str, ordinal: int | str = 0) -> NodeId:
    """Return the ID of the ``ordinal``-th node of ``kind`` in ``scope`` of ``path``."""
    hasher = _ID_HASHER.copy()
    hasher.update(f"{path}\x1f{scope}\x1f{kind}\x1f{ordinal}".encode("utf-8"))
    return hasher.hexdigest()  # type: ignore[return-value]  # a NodeId is a str (NodeId() is a call)


def scope_segment(name: str, previous_same_name: int) -> str:
    """Segment for a definition named ``name`` after ``previous_same_name`` earlier ones."""
    return name if previous_same_name == 0 else f"{name}#{previous_same_name}"


def lambda_segment(number: int) -> str:
    """Segment for the ``number``-th (1-based) lambda of a scope."""
    return f"<lambda{number}>"


def join_scope(parent: str, segment: str) -> str:
    """Scope path of a definition with ``segment`` inside ``parent``."""
    return segment if not parent else f"{parent}.{segment}"


def external_id(name: str) -> NodeId:
    """ID of an external symbol (builtin, library) by its dotted name."""
    return node_id_for("<external>", name, "external")
