"""Per-statement facts shared by the CFG, data-flow, exception and metrics analyzers.

Approach: one iterative walk over a file's tree-sitter tree visits every
statement of every module/class/function body and, inside each statement,
only its *own* expressions (the header of a compound statement: the ``if``
condition, the ``for`` target and iterable, ``with`` items, ``except`` type,
decorators, defaults and bases of a ``def``/``class``), never the nested
bodies, which are statements of their own. For each statement it records the
names it reads and binds, the calls it makes, the operations that may raise
implicitly, whether it yields or awaits, and the targets it mutates. Every
statement is keyed to its graph node by (start line, start column, end line,
end column) of the extractor's Stmt rows; ``def``/``class`` statements map
to their Function/Class node.

The analyzers take the resulting `StatementIndex` as an optional argument, so
a per-file pipeline walks the tree once however many analyzers run. The index
holds tree-sitter nodes and is *not* meant to be pickled; the analyzers'
outputs are.

Invariants:
* ``StatementIndex.stmts`` is in source order (a statement before the
  statements nested in it); ``by_tree_id`` maps the tree-sitter node ID of every
  statement node (and of each ``def``/``class``) to its `StmtInfo`;
* names bound by comprehension ``for`` clauses and lambda parameters are
  local to those expressions and appear neither as uses nor as definitions;
  a walrus inside a comprehension binds in the enclosing function, as Python does.

Known limits: statements inside ERROR regions of a file with syntax errors
have no Stmt node and are skipped; a lambda's or comprehension's reads of
enclosing names count as reads by the statement holding it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate
from operator import add

import tree_sitter

from astrepo.ids import NodeId
from astrepo.model import FileFacts, NodeKind
from astrepo.parse import KIND_NAMES, kind_table

#: Key of a syntax node: (start byte, end byte). Unique per node table.
SpanKey = tuple[int, int]

#: Flags of a statement (bit set in `StmtInfo.flags`).
YIELDS = 1  #: contains ``yield`` / ``yield from`` (in its own expressions)
AWAITS = 2  #: contains ``await`` (or is ``async for`` / ``async with``)
CALLS = 4  #: contains a call

#: Statement node types (tree-sitter) and the canonical kind they get here.
STMT_NODE_KINDS: dict[str, str] = {
    "expression_statement": "expr", "return_statement": "return", "delete_statement": "delete",
    "pass_statement": "pass", "break_statement": "break", "continue_statement": "continue",
    "raise_statement": "raise", "assert_statement": "assert", "import_statement": "import",
    "import_from_statement": "import", "future_import_statement": "import",
    "global_statement": "global", "nonlocal_statement": "nonlocal", "if_statement": "if",
    "elif_clause": "if", "for_statement": "for", "while_statement": "while", "try_statement": "try",
    "with_statement": "with", "match_statement": "match", "type_alias_statement": "typealias",
    "except_clause": "except", "except_group_clause": "except", "case_clause": "case",
    "print_statement": "expr", "exec_statement": "expr",
    "function_definition": "def", "class_definition": "class", "decorated_definition": "def",
}

#: Whether a node kind ID (`astrepo.parse.KIND_NAMES`) is one of `STMT_NODE_KINDS`.
_IS_STATEMENT = kind_table(dict.fromkeys(STMT_NODE_KINDS, True), False)

#: Methods that mutate their receiver (lists, dicts, sets, bytearrays, deques).
MUTATING_METHODS = frozenset((
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
    "add", "discard", "sort", "reverse", "appendleft", "extendleft", "popleft", "rotate",
    "difference_update", "intersection_update", "symmetric_difference_update", "__setitem__",
    "__delitem__", "write", "writelines",
))

#: Builtin calls (by bare name) and methods (by ``.name``) that raise on bad input.
IMPLICIT_CALL_RAISES: dict[str, tuple[str, ...]] = {
    "int": ("ValueError",), "float": ("ValueError",), "complex": ("ValueError",),
    "next": ("StopIteration",), "open": ("OSError",), "getattr": ("AttributeError",),
    "chr": ("ValueError",), "ord": ("TypeError",), "iter": ("TypeError",),
    "divmod": ("ZeroDivisionError",), "pow": ("ZeroDivisionError",),
    ".index": ("ValueError",), ".remove": ("ValueError",), ".pop": ("KeyError", "IndexError"),
    ".decode": ("UnicodeDecodeError",), ".encode": ("UnicodeEncodeError",),
    "json.loads": ("ValueError",), "json.load": ("ValueError",),
}

_SKIP = frozenset((
    "integer", "float", "string_start", "string_end", "string_content", "escape_sequence", "true",
    "false", "none", "comment", "ellipsis", "type_conversion", "format_specifier",
    "import_prefix", "line_continuation",
))
_COMPREHENSIONS = frozenset(("list_comprehension", "set_comprehension", "dictionary_comprehension",
                             "generator_expression"))
_TARGET_CONTAINERS = frozenset(("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list",
                                "list_splat_pattern", "parenthesized_expression", "expression_list",
                                "as_pattern_target"))
_DIVISION = frozenset((b"/", b"//", b"%"))

# What the expression walk (`_Indexer._expressions`) does with a node, by node kind ID (other kinds:
# walk the children).
(_X_OTHER, _X_IDENTIFIER, _X_SKIP, _X_ATTRIBUTE, _X_SUBSCRIPT, _X_CALL, _X_STRING, _X_KEYWORD_ARGUMENT,
 _X_ASSIGNMENT, _X_AUGMENTED, _X_BINARY, _X_BOOLEAN, _X_CONDITIONAL, _X_YIELD, _X_AWAIT, _X_NAMED, _X_LAMBDA,
 _X_COMPREHENSION) = range(18)
_EXPR_ACTIONS_BY_TYPE = {
    "identifier": _X_IDENTIFIER, **dict.fromkeys(_SKIP, _X_SKIP), "attribute": _X_ATTRIBUTE,
    "subscript": _X_SUBSCRIPT, "call": _X_CALL, "string": _X_STRING, "keyword_argument": _X_KEYWORD_ARGUMENT,
    "assignment": _X_ASSIGNMENT, "augmented_assignment": _X_AUGMENTED, "binary_operator": _X_BINARY,
    "boolean_operator": _X_BOOLEAN, "conditional_expression": _X_CONDITIONAL, "yield": _X_YIELD,
    "await": _X_AWAIT, "named_expression": _X_NAMED, "lambda": _X_LAMBDA,
    **dict.fromkeys(_COMPREHENSIONS, _X_COMPREHENSION),
}
_EXPR_ACTIONS = kind_table(_EXPR_ACTIONS_BY_TYPE, _X_OTHER)

# Expression-walk modes.
# _STORE_OBJ: the object part of an assignment target (``a`` in ``a.b.c = v``):
# read, and mutated.
_USE, _DEF, _STORE_OBJ = 0, 1, 2


def span_key(node: tree_sitter.Node) -> SpanKey:
    """The (start byte, end byte) key of a tree-sitter node."""
    return (node.start_byte, node.end_byte)


def line_starts(root: tree_sitter.Node, source: bytes) -> list[int]:
    """Byte offset of the start of each line of the file (index 0 is line 1), for the lines from
    ``root``'s on, given ``root.text`` (``source``); tree-sitter splits lines at ``\\n``.

    The module node starts at the first token, after any leading blank lines, so its
    text is not the whole file: offsets are made absolute from its start. Lines before it hold no
    node; their entries are 0.
    """
    row, column = root.start_point
    base = root.start_byte
    starts = [0] * row + [base - column]
    # the k-th newline (from 0) ends a piece of the text: the next line starts at the pieces' lengths so far + k + 1
    pieces = source.split(b"\n")
    starts.extend(map(add, accumulate(map(len, pieces[:-1])), range(base + 1, base + len(pieces))))
    return starts


def table_keys(facts: FileFacts, kind: NodeKind, starts: list[int]) -> dict[SpanKey, NodeId]:
    """(start byte, end byte) -> node ID for one node table of ``facts``.

    The extractor stores spans as (1-based line, byte column); ``starts``
    (from `line_starts`) converts them back to byte offsets.
    """
    table = facts.node_tables.get(kind)
    if table is None:
        return {}
    sl, sc, el, ec = table.spans
    return {(starts[a - 1] + b, starts[c - 1] + d): NodeId(i)
            for i, a, b, c, d in zip(table.ids, sl, sc, el, ec)}


@dataclass(slots=True, eq=False)
class StmtInfo:
    """What one statement does, as far as its own expressions show."""

    id: NodeId  #: Stmt node (Function/Class node for def/class statements)
    table: NodeKind  #: NodeKind.STMT, FUNCTION or CLASS
    kind: str  #: canonical statement kind, or "def" / "class"
    node: tree_sitter.Node  #: the statement node (function/class_definition for defs)
    scope: NodeId  #: enclosing module/class/function scope
    line: int  #: 1-based first line
    uses: list[str] = field(default_factory=list)  #: names read, in source order
    defs: list[str] = field(default_factory=list)  #: names bound, in source order
    calls: list[NodeId] = field(default_factory=list)  #: CallSite nodes in its own expressions
    #: (CallSite node, its argument_list node) for calls with a graph node
    call_args: list[tuple[NodeId, tree_sitter.Node]] = field(default_factory=list)
    #: (exception type, operation) of operations that may raise implicitly
    implicit: set[tuple[str, str]] = field(default_factory=set)
    #: (name, how): ``name.attr = ...``/``name[k] = ...``/``name.append(...)`` (how: attr|item|method name)
    mutations: list[tuple[str, str]] = field(default_factory=list)
    flags: int = 0
    bool_ops: int = 0  #: sequences of like boolean operators (``a and b and c`` counts 1)
    bool_nodes: int = 0  #: boolean operators (``a and b and c`` counts 2)
    ternaries: int = 0  #: conditional expressions
    comp_ifs: int = 0  #: comprehension ``for``/``if`` clauses


@dataclass(slots=True)
class ScopeBody:
    """A module, class or function body."""

    id: NodeId
    kind: str  #: "module" | "class" | "function"
    node: tree_sitter.Node  #: the module root, or the function/class_definition
    body: list[tree_sitter.Node]  #: its statements, in order
    params: list[tuple[str, NodeId]] = field(default_factory=list)  #: (name, Parameter node)
    declared_global: set[str] = field(default_factory=set)  #: names in ``global``/``nonlocal``


@dataclass(slots=True)
class StatementIndex:
    """Every statement of a file with its facts, and every scope body."""

    path: str
    scopes: list[ScopeBody]
    stmts: list[StmtInfo]
    scope_by_id: dict[NodeId, ScopeBody]
    #: tree-sitter node ID (``Node.id``) of every statement node, and of each ``decorated_definition``
    #: around a def/class -> its `StmtInfo` (the analyzers look statements up ~600k times on Django)
    by_tree_id: dict[int, StmtInfo] = field(default_factory=dict)
    #: scope ID -> (CFG entry, CFG exit) node IDs, once computed (`astrepo.analyzers.cfg.cfg_ids`)
    cfg_ids: dict[NodeId, tuple[NodeId, NodeId]] = field(default_factory=dict)

    def info(self, node: tree_sitter.Node) -> StmtInfo | None:
        """The facts of a statement node (``decorated_definition`` maps to its definition)."""
        return self.by_tree_id.get(node.id)


def block_statements(block: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    """The statements of a block (or module), comments and stray nodes left out."""
    if block is None:
        return []
    is_statement = _IS_STATEMENT
    return [c for c in block.named_children if is_statement[c.kind_id]]


def clause_body(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """Statements of the block inside a clause (else/finally/except/case/elif/if body)."""
    for child in node.named_children:
        if child.type == "block":
            return block_statements(child)
    return []


def index_statements(tree: tree_sitter.Tree, facts: FileFacts) -> StatementIndex:
    """Walk ``tree`` once and collect the facts of every statement of ``facts``' file."""
    root = tree.root_node
    text = root.text or b""
    # the file's bytes up to the end of the module node, those before it (blank lines) as zeros: node
    # texts are slices at their byte offsets (cheaper than reading ``Node.text``)
    src = bytes(root.start_byte) + text if root.start_byte else text
    return _Indexer(facts, line_starts(root, text), src).run(root)


class _Indexer:
    def __init__(self, facts: FileFacts, starts: list[int], src: bytes) -> None:
        self.facts = facts
        self.src = src
        self.stmt_rows = table_keys(facts, NodeKind.STMT, starts)
        self.func_rows = table_keys(facts, NodeKind.FUNCTION, starts)
        self.class_rows = table_keys(facts, NodeKind.CLASS, starts)
        self.call_rows = table_keys(facts, NodeKind.CALLSITE, starts)
        self.params: dict[str, list[tuple[str, NodeId]]] = {}
        ptable = facts.node_tables.get(NodeKind.PARAMETER)
        if ptable is not None:
            for pid, name, owner in zip(ptable.ids, ptable.attrs["short_name"], ptable.attrs["function"]):
                self.params.setdefault(owner, []).append((name, NodeId(pid)))

    def run(self, root: tree_sitter.Node) -> StatementIndex:
        module_id = self.facts.module_id or NodeId("")
        module = ScopeBody(module_id, "module", root, block_statements(root))
        scopes = [module]
        stmts: list[StmtInfo] = []
        by_tree_id: dict[int, StmtInfo] = {}
        # (statement node, scope body)
        stack = [(s, module) for s in reversed(module.body)]
        names = KIND_NAMES
        while stack:
            node, scope = stack.pop()
            t = names[node.kind_id]
            outer = None
            if t == "decorated_definition":
                inner = node.child_by_field_name("definition")
                if inner is None:
                    continue
                decorators = [c for c in node.named_children if c.type == "decorator"]
                outer, node, t = node, inner, names[inner.kind_id]
            else:
                decorators = []
            key = (node.start_byte, node.end_byte)  # (span_key)
            if t == "function_definition" or t == "class_definition":
                is_func = t == "function_definition"
                node_id = (self.func_rows if is_func else self.class_rows).get(key)
                if node_id is None:
                    continue
                info = StmtInfo(node_id, NodeKind.FUNCTION if is_func else NodeKind.CLASS,
                                "def" if is_func else "class", node, scope.id, node.start_point[0] + 1)
                self._definition(node, info, decorators, is_func)
                body = block_statements(node.child_by_field_name("body"))
                inner_scope = ScopeBody(node_id, "function" if is_func else "class", node, body,
                                        self.params.get(node_id, []) if is_func else [])
                scopes.append(inner_scope)
                stmts.append(info)
                by_tree_id[node.id] = info
                if outer is not None:
                    by_tree_id[outer.id] = info
                for s in reversed(body):
                    stack.append((s, inner_scope))
                continue
            stmt_id = self.stmt_rows.get(key)
            if stmt_id is None:
                continue
            info = StmtInfo(stmt_id, NodeKind.STMT, STMT_NODE_KINDS[t], node, scope.id, node.start_point[0] + 1)
            stmts.append(info)
            by_tree_id[node.id] = info
            nested = self._statement(node, t, info, scope)
            for s in reversed(nested):
                stack.append((s, scope))
        return StatementIndex(self.facts.path, scopes, stmts, {s.id: s for s in scopes}, by_tree_id)

    # -- statements --------------------------------------------------------
    def _statement(self, node: tree_sitter.Node, t: str, info: StmtInfo, scope: ScopeBody) -> list[tree_sitter.Node]:
        """Collect a statement's own facts; return its nested statements in order."""
        nested: list[tree_sitter.Node] = []
        exprs: list[tuple[tree_sitter.Node, int]] = []
        if t == "expression_statement" or t in ("return_statement", "raise_statement", "assert_statement",
                                                 "delete_statement", "print_statement", "exec_statement",
                                                 "type_alias_statement"):
            exprs = [(c, _USE) for c in node.named_children]
            if t == "expression_statement" and node.named_child_count:
                first = node.named_children[0].type
                info.kind = "assign" if first == "assignment" else "augassign" if first == "augmented_assignment" else "expr"
        elif t in ("import_statement", "import_from_statement", "future_import_statement"):
            self._import(node, t, info)
        elif t in ("global_statement", "nonlocal_statement"):
            for c in node.named_children:
                if c.type == "identifier":
                    scope.declared_global.add(c.text.decode())
        elif t in ("if_statement", "elif_clause", "while_statement"):
            cond = node.child_by_field_name("condition")
            if cond is not None:
                exprs.append((cond, _USE))
            nested.extend(block_statements(node.child_by_field_name("consequence") or node.child_by_field_name("body")))
            for alt in node.children_by_field_name("alternative"):
                if alt.type == "elif_clause":
                    nested.append(alt)
                else:
                    nested.extend(clause_body(alt))
        elif t == "for_statement":
            if node.children and node.children[0].type == "async":
                info.flags |= AWAITS
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None:
                exprs.append((left, _DEF))
            if right is not None:
                exprs.append((right, _USE))
            nested.extend(block_statements(node.child_by_field_name("body")))
            alt = node.child_by_field_name("alternative")
            if alt is not None:
                nested.extend(clause_body(alt))
        elif t == "try_statement":
            nested.extend(block_statements(node.child_by_field_name("body")))
            for c in node.named_children:
                ct = c.type
                if ct in ("except_clause", "except_group_clause"):
                    nested.append(c)
                elif ct in ("else_clause", "finally_clause"):
                    nested.extend(clause_body(c))
        elif t in ("except_clause", "except_group_clause"):
            for c in node.named_children:
                ct = c.type
                if ct == "block":
                    nested.extend(block_statements(c))
                elif ct == "as_pattern":
                    self._as_pattern(c, exprs)
                else:
                    exprs.append((c, _USE))
        elif t == "with_statement":
            if node.children and node.children[0].type == "async":
                info.flags |= AWAITS
            for c in node.named_children:
                if c.type == "with_clause":
                    for item in c.named_children:
                        value = item.child_by_field_name("value") if item.type == "with_item" else item
                        if value is None:
                            continue
                        if value.type == "as_pattern":
                            self._as_pattern(value, exprs)
                        else:
                            exprs.append((value, _USE))
            nested.extend(block_statements(node.child_by_field_name("body")))
        elif t == "match_statement":
            for c in node.children_by_field_name("subject"):
                exprs.append((c, _USE))
            body = node.child_by_field_name("body")
            if body is not None:
                nested.extend(c for c in body.named_children if c.type == "case_clause")
        elif t == "case_clause":
            for c in node.named_children:
                ct = c.type
                if ct == "case_pattern":
                    self._pattern(c, info)
                elif ct == "if_clause":
                    exprs.extend((g, _USE) for g in c.named_children)
                elif ct == "block":
                    nested.extend(block_statements(c))
        if exprs:
            self._expressions(exprs, info)
        return nested

    def _definition(self, node: tree_sitter.Node, info: StmtInfo, decorators: list, is_func: bool) -> None:
        exprs: list[tuple[tree_sitter.Node, int]] = [(d, _USE) for d in decorators]
        if is_func:
            params = node.child_by_field_name("parameters")
            if params is not None:
                for p in params.named_children:
                    for fname in ("type", "value"):
                        sub = p.child_by_field_name(fname)
                        if sub is not None:
                            exprs.append((sub, _USE))
            ret = node.child_by_field_name("return_type")
            if ret is not None:
                exprs.append((ret, _USE))
        else:
            supers = node.child_by_field_name("superclasses")
            if supers is not None:
                exprs.append((supers, _USE))
        name = node.child_by_field_name("name")
        if name is not None:
            info.defs.append(name.text.decode())
        if exprs:
            self._expressions(exprs, info)

    def _import(self, node: tree_sitter.Node, t: str, info: StmtInfo) -> None:
        if t == "future_import_statement":
            return
        names = node.named_children if t == "import_statement" else node.children_by_field_name("name")
        for child in names:
            if child.type == "dotted_name":
                text = child.text.decode()
                info.defs.append(text.split(".", 1)[0] if t == "import_statement" else text)
            elif child.type == "aliased_import":
                alias = child.child_by_field_name("alias")
                if alias is not None:
                    info.defs.append(alias.text.decode())

    @staticmethod
    def _as_pattern(node: tree_sitter.Node, exprs: list) -> None:
        for c in node.named_children:
            if c.type == "as_pattern_target":
                exprs.append((c, _DEF))
            else:
                exprs.append((c, _USE))

    def _pattern(self, pattern: tree_sitter.Node, info: StmtInfo) -> None:
        """Capture names of a ``case`` pattern are definitions; dotted value patterns are uses."""
        stack = [pattern]
        while stack:
            n = stack.pop()
            t = n.type
            if t == "dotted_name":
                ids = n.named_children
                parent = n.parent
                if len(ids) == 1 and parent is not None and parent.type != "class_pattern":
                    name = ids[0].text.decode()
                    if name != "_":
                        info.defs.append(name)
                elif ids:
                    info.uses.append(ids[0].text.decode())
            elif t == "identifier":
                parent = n.parent
                if parent is not None and parent.type == "keyword_pattern" and parent.named_children[0] == n:
                    continue
                info.defs.append(n.text.decode())
            elif t not in _SKIP:
                stack.extend(reversed(n.named_children))

    # -- expressions ---------------------------------------------------------
    def _expressions(self, roots: list[tuple[tree_sitter.Node, int]], info: StmtInfo) -> None:
        """Walk a statement's own expressions (no recursion: deep expressions are fine).

        The stack holds tree nodes, plus ``(mode, local names)`` markers that
        switch the walk's context: a subtree to be walked in another context
        is pushed as ``[restore marker, subtree, set marker]``. Nodes are not
        wrapped in tuples, which keeps this hot loop cheap. Order of the
        collected names within a statement is not significant.
        """
        uses, defs, implicit, mutations = info.uses, info.defs, info.implicit, info.mutations
        call_rows, calls = self.call_rows, info.calls
        src = self.src
        actions = _EXPR_ACTIONS
        empty: frozenset[str] = frozenset()
        mode, local = _USE, empty
        stack: list = []
        push, extend, pop = stack.append, stack.extend, stack.pop
        for node, m in roots:
            if m == _USE:
                push(node)
            else:
                push((_USE, empty))
                push(node)
                push((m, empty))
        flags = 0
        while stack:
            node = pop()
            if node.__class__ is tuple:
                mode, local = node
                continue
            kind_id = node.kind_id
            action = actions[kind_id]
            if action == _X_IDENTIFIER:
                name = src[node.start_byte:node.end_byte].decode()
                if mode == _DEF:
                    defs.append(name)
                elif name not in local:
                    uses.append(name)
                continue
            if action == _X_SKIP:
                continue
            if action == _X_ATTRIBUTE or action == _X_SUBSCRIPT:
                children = node.named_children
                if not children:
                    continue
                obj = children[0]
                if action == _X_ATTRIBUTE:
                    implicit.add(("AttributeError", "attribute"))
                else:
                    # A slice never raises a lookup error; a store ``x[k] = v`` raises IndexError
                    # (lists), not KeyError (dicts); reads and ``del x[k]`` may raise either.
                    if not all(c.type == "slice" for c in children[1:]):
                        if mode != _DEF:
                            implicit.add(("KeyError", "subscript"))
                        implicit.add(("IndexError", "subscript"))
                    if mode != _USE:
                        push((mode, local))
                        extend(children[1:])
                        push((_USE, local))
                    else:
                        extend(children[1:])
                if mode == _USE:
                    push(obj)
                    continue
                ot = obj.type
                if ot == "identifier":
                    mutations.append((obj.text.decode(), "attr" if action == _X_ATTRIBUTE else "item"))
                    push((mode, local))
                    push(obj)
                    push((_USE, local))
                elif ot == "attribute" or ot == "subscript":
                    push((mode, local))
                    push(obj)
                    push((_STORE_OBJ, local))
                else:
                    push((mode, local))
                    push(obj)
                    push((_USE, local))
                continue
            if mode != _USE:
                if mode == _DEF and KIND_NAMES[kind_id] in _TARGET_CONTAINERS:
                    extend(node.named_children)
                    continue
                # anything else inside a target (a call, a slice...) is read
                push((mode, local))
                push(node)
                push((_USE, local))
                continue
            if action == _X_OTHER:
                extend(node.named_children)
                continue
            if action == _X_CALL:
                row = call_rows.get((node.start_byte, node.end_byte))
                children = node.named_children
                if row is not None:
                    calls.append(row)
                    if len(children) == 2 and children[1].type == "argument_list":
                        info.call_args.append((row, children[1]))
                flags |= CALLS
                func = children[0]
                ft = func.type
                if ft == "identifier":
                    raises = IMPLICIT_CALL_RAISES.get(func.text.decode())
                    if raises:
                        for r in raises:
                            implicit.add((r, func.text.decode() + "()"))
                elif ft == "attribute":
                    fc = func.named_children
                    if len(fc) == 2:
                        obj, attr = fc
                        aname = src[attr.start_byte:attr.end_byte].decode()
                        raises = IMPLICIT_CALL_RAISES.get("." + aname)
                        if raises:
                            for r in raises:
                                implicit.add((r, f".{aname}()"))
                        if obj.type == "identifier":
                            oname = src[obj.start_byte:obj.end_byte].decode()
                            if aname in MUTATING_METHODS:
                                mutations.append((oname, aname))
                            raises = IMPLICIT_CALL_RAISES.get(f"{oname}.{aname}")
                            if raises:
                                for r in raises:
                                    implicit.add((r, f"{oname}.{aname}()"))
                extend(children)
                continue
            if action == _X_STRING:
                n = node.named_child_count
                if n > 3 or (n == 3 and node.named_children[1].type == "interpolation"):
                    extend(node.named_children)
                continue
            if action == _X_KEYWORD_ARGUMENT:
                children = node.named_children
                if len(children) == 2:
                    push(children[1])
                continue
            if action == _X_ASSIGNMENT or action == _X_AUGMENTED:
                children = node.named_children
                left = children[0]
                if action == _X_AUGMENTED:
                    op = node.children[1].text if node.child_count > 2 else b""
                    if op in (b"/=", b"//=", b"%="):
                        implicit.add(("ZeroDivisionError", "division"))
                    if left.type == "subscript" and not all(c.type == "slice" for c in left.named_children[1:]):
                        implicit.add(("KeyError", "subscript"))  # ``d[k] += 1`` reads d[k] first
                    extend(children[1:])
                    if left.type == "identifier":
                        name = left.text.decode()
                        defs.append(name)
                        if name not in local:
                            uses.append(name)
                        continue
                    defines = True
                else:
                    # ``x: T`` alone binds nothing; ``x = v`` and ``x: T = v`` do.
                    extend(children[1:])
                    defines = len(children) == 3 or (len(children) == 2 and node.children[1].type == "=")
                if defines:
                    push((_USE, local))
                    push(left)
                    push((_DEF, local))
                continue
            if action == _X_BINARY:
                if node.child_count == 3 and node.children[1].text in _DIVISION:
                    implicit.add(("ZeroDivisionError", "division"))
            elif action == _X_BOOLEAN:
                # ``a and b and c`` nests as ((a and b) and c): count one per run of one operator
                op = node.children[1].type if node.child_count == 3 else ""
                left = node.children[0]
                info.bool_ops += 1
                info.bool_nodes += 1
                if left.type == "boolean_operator" and left.child_count == 3 and left.children[1].type == op:
                    info.bool_ops -= 1
            elif action == _X_CONDITIONAL:
                info.ternaries += 1
            elif action == _X_YIELD:
                flags |= YIELDS
            elif action == _X_AWAIT:
                flags |= AWAITS
            elif action == _X_NAMED:
                children = node.named_children
                if len(children) == 2:
                    defs.append(children[0].text.decode())
                    push(children[1])
                continue
            elif action == _X_LAMBDA:
                names = set(local)
                body = None
                for c in node.named_children:
                    ct = c.type
                    if ct == "lambda_parameters":
                        for p in c.named_children:
                            if p.type == "identifier":
                                names.add(p.text.decode())
                                continue
                            pc = p.named_children
                            if pc and pc[0].type == "identifier":
                                names.add(pc[0].text.decode())
                            if len(pc) == 2 and p.type == "default_parameter":
                                push(pc[1])
                    else:
                        body = c
                if body is not None:
                    push((mode, local))
                    push(body)
                    push((_USE, frozenset(names)))
                continue
            else:  # a comprehension
                names = set(local)
                children = node.named_children
                for c in children:
                    if c.type == "for_in_clause":
                        left = c.child_by_field_name("left")
                        if left is not None:
                            _collect_names(left, names)
                # The first iterable is evaluated in the enclosing scope: walk it
                # after the restore marker (stack order), in the outer context.
                first = True
                for c in children:
                    if c.type == "for_in_clause":
                        extend(c.children_by_field_name("right"))
                        break
                push((mode, local))
                for c in children:
                    ct = c.type
                    if ct == "for_in_clause":
                        info.comp_ifs += 1
                        if c.children and c.children[0].type == "async":
                            flags |= AWAITS
                        if first:
                            first = False
                        else:
                            extend(c.children_by_field_name("right"))
                    elif ct == "if_clause":
                        info.comp_ifs += 1
                        push(c)
                    else:
                        push(c)
                push((_USE, frozenset(names)))
                continue
            extend(node.named_children)
        info.flags |= flags


def _collect_names(node: tree_sitter.Node, out: set[str]) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.add(n.text.decode())
        elif n.type in _TARGET_CONTAINERS:
            stack.extend(n.named_children)
