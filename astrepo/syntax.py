"""What tree-sitter nodes of Python say, as plain values: text, spans, dotted names, docstrings,
``__all__`` lists and the resolver's summary of an expression (`expr_of`, see `astrepo.model.Expr`).

Pure functions of one node (and its subtree) and, where they read text, of ``src``: the bytes the
node's tree was parsed from. The extractor (`astrepo.extract`) calls them while walking a file.
"""

from __future__ import annotations

import ast

import tree_sitter

from astrepo.model import Span
from astrepo.parse import KIND_NAMES

#: Kind ID of identifiers (`astrepo.parse.KIND_NAMES`).
_IDENTIFIER = KIND_NAMES.index("identifier")

#: Literal node types -> the pseudo-name of their builtin type, used as the
#: head of dotted names (``", ".join`` -> ``<str>.join``).
LITERAL_TYPES = {
    "string": "<str>", "concatenated_string": "<str>", "list": "<list>", "dictionary": "<dict>",
    "set": "<set>", "tuple": "<tuple>", "list_comprehension": "<list>", "dictionary_comprehension": "<dict>",
    "set_comprehension": "<set>", "integer": "<int>", "float": "<float>",
}



def literal_type(src: bytes, node: tree_sitter.Node) -> str | None:
    """The literal head of a literal expression (``<str>``, ``<bytes>`` for ``b"..."``), None otherwise."""
    t = node.type
    if t == "concatenated_string" and node.named_child_count:
        node, t = node.named_children[0], "string"
    if t == "string" and node.child_count and "b" in node_text(src, node.children[0]).lower():
        return "<bytes>"
    return LITERAL_TYPES.get(t)


def node_text(src: bytes, node: tree_sitter.Node | None) -> str:
    """The text of ``node`` in ``src``, the bytes its tree was parsed from (a slice of them is
    cheaper than ``Node.text``)."""
    if node is None:
        return ""
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def node_span(node: tree_sitter.Node) -> Span:
    (sr, sc), (er, ec) = node.start_point, node.end_point
    return Span(sr + 1, sc, er + 1, ec)


def node_position(node: tree_sitter.Node) -> tuple[int, int, int, int]:
    """`node_span` as a plain tuple (start line, start column, end line, end column): a row's span
    without a `Span` record, which costs about 1 us to make (frozen dataclass)."""
    (sr, sc), (er, ec) = node.start_point, node.end_point
    return (sr + 1, sc, er + 1, ec)


def dotted_name(src: bytes, node: tree_sitter.Node | None) -> str:
    """Dotted text of a name chain (``a.b.c``, ``super().m``), "" for anything else."""
    if node is None:
        return ""
    if node.kind_id == _IDENTIFIER:  # most name chains
        return src[node.start_byte:node.end_byte].decode("utf-8", "replace")
    parts: list[str] = []
    while node is not None:
        t = node.type
        if t == "identifier":
            parts.append(node_text(src, node))
            break
        if t == "attribute":
            children = node.named_children
            if len(children) == 2:  # object, attribute (a comment in between makes three)
                node, attribute = children
                parts.append(node_text(src, attribute))
            else:
                parts.append(node_text(src, node.child_by_field_name("attribute")))
                node = node.child_by_field_name("object")
            continue
        if t == "call":
            func = node.child_by_field_name("function")
            if func is not None and func.type == "identifier" and node_text(src, func) == "super":
                parts.append("super()")
                break
        if t == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
            continue
        literal = literal_type(src, node)
        if literal and parts:
            parts.append(literal)
            break
        return ""
    return ".".join(reversed(parts))


#: Binary operators -> the dunder they call on the left operand.
BINARY_DUNDERS = {
    "+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__", "//": "__floordiv__",
    "%": "__mod__", "**": "__pow__", "@": "__matmul__", "&": "__and__", "|": "__or__", "^": "__xor__",
    "<<": "__lshift__", ">>": "__rshift__",
}
COMPARE_DUNDERS = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
UNARY_DUNDERS = {"-": "__neg__", "+": "__pos__", "~": "__invert__"}

#: How deep `expr_of` encodes nested expressions.
MAX_EXPR_DEPTH = 6


def literal_key(src: bytes, node: tree_sitter.Node | None) -> str:
    """The text of a constant subscript/dict key (``"a"`` -> ``'a'``, ``0`` -> ``0``), "" otherwise."""
    if node is None:
        return ""
    if node.type == "integer":
        return node_text(src, node)
    if node.type == "unary_operator" and node.named_child_count == 1 and node.named_children[0].type == "integer" \
            and node_text(src, node).startswith("-"):
        return "-" + node_text(src, node.named_children[0])
    if node.type == "string" and node.named_child_count <= 3:
        text = node_text(src, node)
        if text[:1] in "'\"" and "{" not in text:
            return "'" + text.strip("'\"") + "'"
    return ""


def subscript_key(src: bytes, node: tree_sitter.Node) -> str:
    """The key of ``x[key]`` as `literal_key` gives it; a slice as ``start:stop:step`` with each
    part an integer literal, empty when left out, ``?`` otherwise (``1:3``, ``:-1``, ``i:`` -> ``?:``)."""
    subs = node.children_by_field_name("subscript")
    if len(subs) != 1:
        return ""
    sub = subs[0]
    if sub.type != "slice":
        return literal_key(src, sub)
    parts = [""]
    for child in sub.children:
        if child.type == ":":
            parts.append("")
        else:
            parts[-1] = literal_key(src, child) if child.type in ("integer", "unary_operator") else ""
            parts[-1] = parts[-1] or "?"
    return ":".join(parts)


def expr_of(src: bytes, node: tree_sitter.Node | None, depth: int = 0):
    """The resolver's view of an expression (see `astrepo.model.Expr`), None when it says nothing."""
    if node is None or depth > MAX_EXPR_DEPTH:
        return None
    if node.kind_id == _IDENTIFIER:
        name = src[node.start_byte:node.end_byte].decode("utf-8", "replace")
        return ("n", name) if name else None
    t = node.type
    if t == "string" or t == "integer":  # (common; the same as the literal case at the end)
        return ("n", literal_type(src, node))
    if t == "attribute":
        dotted = dotted_name(src, node)
        if dotted:
            return ("n", dotted)
        inner = expr_of(src, node.child_by_field_name("object"), depth + 1)
        return ("a", inner, node_text(src, node.child_by_field_name("attribute"))) if inner else None
    if t == "call":
        return ("c", node.end_byte)
    if t == "lambda":
        return ("f", node.start_byte)
    if t in ("list", "tuple", "set", "expression_list"):
        items = tuple(e for e in (expr_of(src, c, depth + 1) for c in node.named_children) if e is not None)
        return ("l", items)
    if t == "dictionary":
        pairs = []
        for c in node.named_children:
            if c.type == "pair":
                value = expr_of(src, c.child_by_field_name("value"), depth + 1)
                if value is not None:
                    pairs.append((literal_key(src, c.child_by_field_name("key")), value))
        return ("m", tuple(pairs))
    if t == "subscript":
        inner = expr_of(src, node.child_by_field_name("value"), depth + 1)
        return ("s", inner, subscript_key(src, node)) if inner else None
    if t in ("list_comprehension", "generator_expression", "dictionary_comprehension"):
        # a comprehension holds what its body gives (its loop variables flow in the enclosing scope)
        body = node.child_by_field_name("body")
        if t == "dictionary_comprehension":
            value = expr_of(src, body.child_by_field_name("value"), depth + 1) if body is not None else None
            return ("m", (("", value),)) if value is not None else ("n", "<dict>")
        inner = expr_of(src, body, depth + 1)
        return ("l", (inner,)) if inner is not None else ("n", "<list>") if t == "list_comprehension" else None
    if t == "parenthesized_expression" or t == "await":
        return expr_of(src, node.named_children[0], depth) if node.named_child_count else None
    if t == "boolean_operator":
        items = tuple(e for e in (expr_of(src, node.child_by_field_name(f), depth + 1) for f in ("left", "right"))
                      if e is not None)
        return ("o", items) if items else None
    if t == "conditional_expression":
        branches = node.named_children[:1] + node.named_children[2:3]
        items = tuple(e for e in (expr_of(src, c, depth + 1) for c in branches)
                      if e is not None)
        return ("o", items) if items else None
    if t == "named_expression":
        return expr_of(src, node.child_by_field_name("value"), depth)
    if t == "binary_operator":
        op = node.child_by_field_name("operator")
        dunder = BINARY_DUNDERS.get(node_text(src, op)) if op is not None else None
        left = expr_of(src, node.child_by_field_name("left"), depth + 1) if dunder else None
        return ("p", dunder, left) if left is not None else None
    literal = literal_type(src, node)
    if literal:
        return ("n", literal)
    return None


def docstring(src: bytes, body: tree_sitter.Node | None) -> str:
    if body is None:
        return ""
    for child in body.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1:
            inner = child.named_children[0]
            if inner.type in ("string", "concatenated_string"):
                text = node_text(src, inner)
                value = _plain_string_value(text)
                if value is not None:
                    return value
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    return ""
                return value if isinstance(value, str) else ""
        return ""
    return ""


def _plain_string_value(text: str) -> str | None:
    """The value of a string literal without prefix or backslash (most docstrings), which is its text
    between the quotes; None for any other literal (`ast.literal_eval` reads those, ~10 us each).

    Left to `ast.literal_eval`: prefixes, escapes, carriage returns (Python reads ``\\r\\n`` in source
    as ``\\n``), NUL characters (an error there), quotes next to the closing ones.
    """
    quote = text[:3] if text[:3] in ('"""', "'''") else text[:1]
    n = len(quote)
    if quote not in ('"""', "'''", '"', "'") or len(text) < 2 * n or not text.endswith(quote):
        return None
    body = text[n:-n]
    if "\\" in body or "\r" in body or "\0" in body or body.endswith(quote[0]) \
            or (quote in body if n == 3 else quote in body or "\n" in body):
        return None
    return body


def module_exports(src: bytes, module: tree_sitter.Node) -> list[str]:
    """The names a module's top-level ``__all__ = [...]`` / ``__all__ += (...)`` lists, as string literals.

    Names built at run time (``__all__ = a.__all__ + b.__all__``) are not known statically and are left out.
    """
    names: list[str] = []
    for child in module.named_children:
        if child.type != "expression_statement" or child.named_child_count != 1:
            continue
        node = child.named_children[0]
        if node.type not in ("assignment", "augmented_assignment"):
            continue
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.type != "identifier" or node_text(src, left) != "__all__":
            continue
        if node.type == "assignment":
            names.clear()
        if right.type in ("list", "tuple"):
            for item in right.named_children:
                if item.type == "string":
                    try:
                        value = ast.literal_eval(node_text(src, item))
                    except (ValueError, SyntaxError, MemoryError, RecursionError):
                        continue
                    if isinstance(value, str) and value not in names:
                        names.append(value)
    return names


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def misparsed_type_call(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """For ``type(x).a = v`` read as a type alias: the ``(x)`` after ``type``, else None."""
    left = node.named_children[0] if node.named_child_count else None
    expr = left.named_children[0] if left is not None and left.type == "type" and left.named_child_count else None
    while expr is not None and expr.type in ("attribute", "subscript"):
        expr = expr.named_children[0] if expr.named_child_count else None
    if expr is not None and expr.type == "parenthesized_expression" and expr.start_byte == node.children[0].end_byte:
        return expr
    return None


def receiver(src: bytes, node: tree_sitter.Node | None):
    """The receiver of an implied dunder call, when it is worth resolving (a name or a call)."""
    if node is None or node.type not in ("identifier", "attribute", "call", "parenthesized_expression"):
        return None
    return expr_of(src, node)


def first_identifier(node: tree_sitter.Node) -> tree_sitter.Node | None:
    for child in node.named_children:
        if child.type == "identifier":
            return child
    return None
