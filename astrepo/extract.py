"""From a tree-sitter syntax tree to graph nodes, intra-file edges and resolution facts.

One iterative walk over the tree (no recursion: deeply nested expressions
must not hit Python's recursion limit) assigns every addressable node its
stable ID (see `astrepo.ids`), records definitions, parameters, call sites
and statements, the ``CONTAINS``/``DEFINES`` edges between them, and the
per-scope name bindings (`astrepo.scopes`) and call facts that cross-file resolution needs.

Invariants:
* the walk visits the nodes of one scope in source order, so the per-kind
  ordinals equal a sort by (start, outer-first) - the order the capture
  runtime uses on ``ast`` trees;
* decorators, defaults, annotations and base classes are attributed to the
  enclosing scope, bodies and parameter names to the definition.

Known limits: a file with syntax errors is indexed as far as tree-sitter
could parse it; nodes inside ERROR regions are still walked, but what they
mean may be off. Python 2 only syntax is not understood.
"""

from __future__ import annotations

import tree_sitter

from astrepo.syntax import (
    BINARY_DUNDERS,
    docstring,
    dotted_name,
    expr_of,
    first_identifier,
    literal_key,
    misparsed_type_call,
    module_exports,
    node_position,
    node_text,
    one_line,
    receiver,
)
from astrepo.parse import KIND_NAMES, kind_table
from astrepo.ids import NodeId, join_scope, lambda_segment, node_id_for, scope_segment
from astrepo.model import BindingKind, CallFact, EdgeKind, FileFacts, NodeColumns, NodeKind, new_record
from astrepo.scopes import (
    Scope,
    bind_assignment,
    bind_except,
    bind_import,
    bind_targets,
    bind_with,
    flow_targets,
    truth_tested,
    visit_implicit,
)

#: tree-sitter statement types -> canonical statement kinds (see ids.STMT_KINDS).
STMT_TYPES: dict[str, str] = {
    "return_statement": "return",
    "delete_statement": "delete",
    "pass_statement": "pass",
    "break_statement": "break",
    "continue_statement": "continue",
    "raise_statement": "raise",
    "assert_statement": "assert",
    "import_statement": "import",
    "import_from_statement": "import",
    "future_import_statement": "import",
    "global_statement": "global",
    "nonlocal_statement": "nonlocal",
    "if_statement": "if",
    "elif_clause": "if",
    "for_statement": "for",
    "while_statement": "while",
    "try_statement": "try",
    "with_statement": "with",
    "match_statement": "match",
    "type_alias_statement": "typealias",
    "except_clause": "except",
    "except_group_clause": "except",
    "case_clause": "case",
    "print_statement": "expr",
    "exec_statement": "expr",
}

#: Expression types that imply calls (dunders) or bind names outside statements.
IMPLICIT_TYPES = frozenset((
    "binary_operator", "comparison_operator", "unary_operator", "subscript", "for_in_clause",
    "yield", "named_expression", "not_operator", "boolean_operator", "conditional_expression", "if_clause",
))

# What the walk does with a node, by type (other types: walk the children).
_WALK, _SKIP, _CALL, _STMT, _IMPLICIT, _FUNCTION, _CLASS, _LAMBDA, _STRING = range(9)
_WALK_ACTIONS: dict[str, int] = {
    **dict.fromkeys(STMT_TYPES, _STMT), "expression_statement": _STMT, **dict.fromkeys(IMPLICIT_TYPES, _IMPLICIT),
    "call": _CALL, "function_definition": _FUNCTION, "class_definition": _CLASS, "lambda": _LAMBDA,
    "string": _STRING,
    # nothing inside to visit: leaves, and names (identifiers only)
    **dict.fromkeys(("identifier", "comment", "integer", "float", "true", "false", "none", "ellipsis",
                     "dotted_name", "string_start", "string_content", "string_end", "escape_sequence",
                     "import_prefix", "wildcard_import", "keyword_separator", "positional_separator"), _SKIP),
}
#: `_WALK_ACTIONS` by node kind ID (`astrepo.parse.KIND_NAMES`).
_ACTIONS_BY_KIND = kind_table(_WALK_ACTIONS, _WALK)
# Kind IDs of a call's parts.
_ARGUMENT_LIST, _KEYWORD_ARGUMENT, _LIST_SPLAT, _DICTIONARY_SPLAT, _COMMENT = map(
    KIND_NAMES.index, ("argument_list", "keyword_argument", "list_splat", "dictionary_splat", "comment"))
_ARGUMENTS_KINDS = frozenset(map(KIND_NAMES.index, ("argument_list", "generator_expression")))

#: Attribute columns of the node tables the extractor writes, in column order.
_NODE_COLUMNS: dict[NodeKind, tuple[str, ...]] = {
    NodeKind.MODULE: ("short_name", "is_package", "docstring", "exports"),
    NodeKind.STMT: ("kind", "scope"),
    NodeKind.CALLSITE: ("callee", "n_args", "caller"),
    NodeKind.FUNCTION: ("short_name", "kind", "is_async", "decorators", "signature", "docstring", "n_params",
                        "returns", "scope"),
    NodeKind.CLASS: ("short_name", "bases", "decorators", "docstring", "scope"),
    NodeKind.PARAMETER: ("short_name", "position", "kind", "annotation", "default_value", "function"),
}

#: `ScopeFacts.param_kinds` letters.
_PARAM_KIND_LETTERS = {"positional": "p", "vararg": "v", "keyword_only": "k", "kwarg": "w"}


class _Extractor:
    """One file's walk; `run` returns the `FileFacts`."""

    def __init__(self, facts: FileFacts, is_package: bool, src: bytes) -> None:
        self.facts = facts
        self.src = src  #: the bytes the tree was parsed from
        self.path = facts.path
        self.module = facts.module
        self.is_package = is_package
        self.scopes: list[Scope] = []
        self.rows: dict[NodeKind, list[tuple]] = {}  #: node rows not yet in the facts' tables
        #: (kind, src, src kind, dst, dst kind): add an intra-file edge
        self._edge = facts.add_edge

    # -- helpers -------------------------------------------------------
    def _add_node(self, node_id: NodeId, table: NodeKind, name: str, span: tuple[int, int, int, int],
                  values: tuple) -> None:
        """Collect a node row; ``values`` in the order of `_NODE_COLUMNS` [table]. Rows go into the
        facts' column tables at the end of the walk (`_flush_rows`): one tuple per row here is
        cheaper than a keyword call appending to every column."""
        rows = self.rows.get(table)
        if rows is None:
            rows = self.rows[table] = []
        rows.append((node_id, name, span, values))

    def _flush_rows(self) -> None:
        """Write the collected node rows into the facts' column tables (in the order tables first got a row)."""
        facts = self.facts
        for kind, rows in self.rows.items():
            table = facts.node_tables.get(kind)
            if table is None:
                table = facts.node_tables[kind] = NodeColumns(kind)
            ids, names, spans, values = zip(*rows)
            table.ids.extend(ids)
            table.names.extend(names)
            table.files.extend([self.path] * len(ids))
            for column, part in zip(table.spans, zip(*spans)):
                column.extend(part)
            columns = table.attrs
            if not columns:
                for key in _NODE_COLUMNS[kind]:
                    columns[key] = []
            for column, part in zip(columns.values(), zip(*values)):
                column.extend(part)
        self.rows = {}

    def _new_scope(self, parent: Scope, kind: str, segment: str, name: str, node_kind: NodeKind) -> Scope:
        path = join_scope(parent.path, segment)
        scope = Scope(
            id=node_id_for(self.path, path, kind),
            kind=kind,
            path=path,
            qualname=f"{parent.qualname}.{name}",
            node_kind=node_kind,
            parent=parent,
        )
        self.scopes.append(scope)
        return scope

    # -- the walk ------------------------------------------------------
    def run(self, root: tree_sitter.Node) -> None:
        module_scope = Scope(
            id=node_id_for(self.path, "", "module"), kind="module", path="",
            qualname=self.module, node_kind=NodeKind.MODULE, parent=None,
        )
        self.scopes.append(module_scope)
        lines = self.facts.lines
        self._add_node(
            module_scope.id, NodeKind.MODULE, self.module, (1, 0, max(lines, 1), 0),
            (self.module.rsplit(".", 1)[-1], self.is_package, docstring(self.src, root),
             module_exports(self.src, root)),
        )
        file_id = node_id_for(self.path, "", "file")
        self._edge(EdgeKind.CONTAINS, file_id, NodeKind.FILE, module_scope.id, NodeKind.MODULE)

        # Frames of (iterator over sibling nodes, scope, container id, container kind); the walk takes the
        # next node of the top frame and, to descend, pushes a frame of its children (a depth-first walk
        # without a stack entry per node). Visitors push frames too: the last pushed is walked first.
        stack: list[tuple] = [(iter(root.named_children), module_scope, module_scope.id, NodeKind.MODULE)]
        push = stack.append
        actions, names = _ACTIONS_BY_KIND, KIND_NAMES
        while stack:
            frame = stack[-1]
            scope = frame[1]
            for node in frame[0]:
                kind_id = node.kind_id
                action = actions[kind_id]
                if action == _SKIP:
                    continue
                if action == _WALK:
                    cid, ckind = frame[2], frame[3]
                elif action == _CALL:
                    cid, children = self._visit_call(node, scope, frame[2], frame[3])
                    if children:
                        push((iter(children), scope, cid, NodeKind.CALLSITE))
                        break
                    continue
                elif action == _STMT:
                    cid, ckind = self._visit_stmt(node, names[kind_id], scope, frame[2], frame[3])
                elif action == _IMPLICIT:
                    visit_implicit(self.src, node, names[kind_id], scope)
                    cid, ckind = frame[2], frame[3]
                elif action == _STRING:
                    # Only an f-string's interpolations hold anything to visit (not its start, content, end).
                    n = node.named_child_count
                    if n < 3 or (n == 3 and node.named_children[1].type != "interpolation"):
                        continue
                    cid, ckind = frame[2], frame[3]
                elif action == _FUNCTION:
                    self._visit_function(node, scope, frame[2], frame[3], push)
                    break
                elif action == _CLASS:
                    self._visit_class(node, scope, frame[2], frame[3], push)
                    break
                else:  # a lambda
                    self._visit_lambda(node, scope, frame[2], frame[3], push)
                    break
                children = node.named_children
                if children:
                    push((iter(children), scope, cid, ckind))
                    break
            else:
                stack.pop()
        self.facts.scopes = [s.facts() for s in self.scopes]
        self._flush_rows()

    # -- visitors --------------------------------------------------------
    def _visit_stmt(self, node: tree_sitter.Node, t: str, scope: Scope, cid: NodeId, ckind: NodeKind) -> tuple[NodeId, NodeKind]:
        if t == "expression_statement":
            first = node.named_children[0] if node.named_child_count else None
            ft = first.type if first is not None else ""
            if ft == "assignment":
                kind = "annassign" if first.child_by_field_name("type") is not None else "assign"
                bind_assignment(self.src, first, scope, self.path)
            elif ft == "augmented_assignment":
                kind = "augassign"
                op = first.child_by_field_name("operator")
                dunder = BINARY_DUNDERS.get(node_text(self.src, op)[:-1]) if op is not None else None
                if dunder:
                    scope.implied("__i" + dunder[2:], receiver(self.src, first.child_by_field_name("left")))
            else:
                kind = "expr"
                if ft == "attribute":
                    scope.implied("get", expr_of(self.src, first))
        elif t == "type_alias_statement" and misparsed_type_call(node) is not None:
            # tree-sitter reads `type(x).attr = v` as a type alias; Python reads an
            # assignment whose target calls type(). Record what Python sees.
            kind = "assign"
            stmt_id = node_id_for(self.path, scope.path, kind, scope.next_ordinal(kind))
            self._add_node(stmt_id, NodeKind.STMT, kind, node_position(node), (kind, scope.id))
            self._edge(EdgeKind.CONTAINS, cid, ckind, stmt_id, NodeKind.STMT)
            paren = misparsed_type_call(node)
            (sr, sc), (er, ec) = node.start_point, paren.end_point
            call_id = node_id_for(self.path, scope.path, "call", scope.next_ordinal("call"))
            self._add_node(call_id, NodeKind.CALLSITE, "type", (sr + 1, sc, er + 1, ec), ("type", 1, scope.id))
            self._edge(EdgeKind.CONTAINS, stmt_id, NodeKind.STMT, call_id, NodeKind.CALLSITE)
            self.facts.calls.append(CallFact(call_id, scope.id, "type", sr + 1))
            return stmt_id, NodeKind.STMT
        else:
            kind = STMT_TYPES[t]
            if kind == "import":
                bind_import(self.src, node, t, scope, self.module, self.is_package, self.facts.imports)
            elif t == "for_statement":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                bind_targets(self.src, left, scope)
                value = expr_of(self.src, right)
                flow_targets(self.src, left, ("i", value) if value is not None else None, scope)
                scope.implied("iter", receiver(self.src, right))
            elif t in ("if_statement", "elif_clause", "while_statement"):
                truth_tested(self.src, node.child_by_field_name("condition"), scope)
            elif t == "assert_statement":
                truth_tested(self.src, node.named_children[0] if node.named_child_count else None, scope)
            elif kind == "return":
                if node.named_child_count:
                    value = expr_of(self.src, node.named_children[0])
                    if value is not None:
                        scope.returns.append(value)
            elif t == "with_statement":
                bind_with(self.src, node, scope)
            elif kind == "except":
                bind_except(self.src, node, scope)
        stmt_id = node_id_for(self.path, scope.path, kind, scope.next_ordinal(kind))
        self._add_node(stmt_id, NodeKind.STMT, kind, node_position(node), (kind, scope.id))
        self._edge(EdgeKind.CONTAINS, cid, ckind, stmt_id, NodeKind.STMT)
        return stmt_id, NodeKind.STMT

    def _visit_call(self, node: tree_sitter.Node, scope: Scope, cid: NodeId, ckind: NodeKind) -> tuple[NodeId, list]:
        """Record a call site; return its ID and the child nodes left to walk (a callee that is a plain
        name chain, ``a.b.c``, holds nothing to visit)."""
        src = self.src
        children = node.named_children
        if len(children) == 2 and children[1].kind_id in _ARGUMENTS_KINDS:
            func, args = children  # (comments between the two are named children too)
        else:
            func, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        arg_list = args.named_children if args is not None and args.kind_id == _ARGUMENT_LIST else None
        callee = dotted_name(src, func)
        counters = scope.counters  # (scope.next_ordinal("call"), inlined)
        ordinal = counters.get("call", 0)
        counters["call"] = ordinal + 1
        call_id = node_id_for(self.path, scope.path, "call", ordinal)
        (sr, sc), (er, ec) = node.start_point, node.end_point
        self._add_node(call_id, NodeKind.CALLSITE, callee or one_line(node_text(src, func), 80),
                       (sr + 1, sc, er + 1, ec), (callee, len(arg_list) if arg_list is not None else 1, scope.id))
        self._edge(EdgeKind.CONTAINS, cid, ckind, call_id, NodeKind.CALLSITE)
        positional: list = []
        keywords: list = []
        if arg_list is not None:
            for arg in arg_list:
                at = arg.kind_id
                if at == _KEYWORD_ARGUMENT:
                    keywords.append((node_text(src, arg.child_by_field_name("name")),
                                     expr_of(src, arg.child_by_field_name("value"))))
                elif at == _LIST_SPLAT:
                    inner = expr_of(src, arg.named_children[0]) if arg.named_child_count else None
                    positional.append(("*", inner) if inner is not None else None)
                elif at != _DICTIONARY_SPLAT and at != _COMMENT:
                    positional.append(expr_of(src, arg))
        elif args is not None:  # a bare generator expression argument
            positional.append(None)
        if callee == "getattr" and len(positional) >= 2 and positional[1] == ("n", "<str>"):
            second = [a for a in arg_list if a.type not in ("keyword_argument", "comment")][1]
            name = literal_key(src, second)[1:-1]
            if name.isidentifier():  # getattr(x, "name"): the name rides along with the literal's type
                positional[1] = ("n", "<str>", name)
        func_expr = None if callee else expr_of(src, func)
        if callee.startswith("<") and func.type == "attribute":
            # a method of a list/dict display (``{...}.items()``): the display itself, not just its type
            obj = func.child_by_field_name("object")
            if obj is not None and obj.type in ("list", "dictionary", "tuple", "set"):
                inner = expr_of(src, obj)
                func_expr = ("a", inner, node_text(src, func.child_by_field_name("attribute"))) if inner else None
        self.facts.calls.append(new_record(CallFact, (
            call_id, scope.id, callee, sr + 1, node.end_byte, func_expr, tuple(positional), tuple(keywords))))
        # Left to walk: the arguments (the argument list's own nodes, not the list), after the callee's
        # parts unless it is a plain name chain (not ``super().m`` nor ``"...".join``)
        if callee and callee[0] != "<" and "(" not in callee:
            return call_id, arg_list if arg_list is not None else [args] if args is not None else []
        if arg_list is None:
            return call_id, children
        walk: list = []
        for child in children:
            if child == args:
                walk += arg_list
            else:
                walk.append(child)
        return call_id, walk

    def _decorators(self, node: tree_sitter.Node) -> tuple[tuple[str, ...], tuple]:
        """A def's or class's decorators, top first: as text (dotted names, ``name()`` for a call of
        one) and as expressions."""
        parent = node.parent
        if parent is None or parent.type != "decorated_definition":
            return (), ()
        src = self.src
        texts = []
        exprs = []
        for child in parent.named_children:
            if child.type == "decorator":
                expr = child.named_children[0] if child.named_child_count else None
                if expr is not None and expr.type == "call":
                    name = dotted_name(src, expr.child_by_field_name("function"))
                    texts.append(f"{name}()" if name else one_line(node_text(src, expr), 80))
                else:
                    texts.append(dotted_name(src, expr) or one_line(node_text(src, expr), 80))
                exprs.append(expr_of(src, expr) if expr is not None else None)
        return tuple(texts), tuple(exprs)

    def _visit_function(self, node: tree_sitter.Node, scope: Scope, cid: NodeId, ckind: NodeKind, push) -> None:
        name = node_text(self.src, node.child_by_field_name("name")) or "<anonymous>"
        previous = scope.def_names.get(name, 0)
        scope.def_names[name] = previous + 1
        fscope = self._new_scope(scope, "function", scope_segment(name, previous), name, NodeKind.FUNCTION)
        decorators, fscope.decorated_by = self._decorators(node)
        fscope.decorators = decorators
        fscope.start = node.start_byte
        is_async = node.child_count > 0 and node.children[0].type == "async"
        params_node = node.child_by_field_name("parameters")
        returns = node.child_by_field_name("return_type")
        body = node.child_by_field_name("body")
        fkind = "method" if scope.kind == "class" else ("nested" if scope.kind in ("function", "lambda") else "function")
        n_params = self._visit_params(params_node, fscope, scope, param_ids := [])
        signature = one_line(node_text(self.src, params_node))
        if returns is not None:
            signature += f" -> {one_line(node_text(self.src, returns))}"
        span = node_position(node)
        self._add_node(
            fscope.id, NodeKind.FUNCTION, fscope.qualname, span,
            (name, fkind, is_async, list(decorators), signature, docstring(self.src, body), n_params,
             one_line(node_text(self.src, returns)), scope.id),
        )
        self._edge(EdgeKind.CONTAINS, cid, ckind, fscope.id, NodeKind.FUNCTION)
        self._edge(EdgeKind.DEFINES, scope.id, scope.node_kind, fscope.id, NodeKind.FUNCTION)
        for param_id in param_ids:
            self._edge(EdgeKind.DEFINES, fscope.id, NodeKind.FUNCTION, param_id, NodeKind.PARAMETER)
        scope.bind(name, BindingKind.DEF, fscope.id, span[0])
        # Body first onto the stack so the header's outer-scope parts are walked first.
        if body is not None:
            push((iter(body.named_children), fscope, fscope.id, NodeKind.FUNCTION))
        if returns is not None:
            push((iter((returns,)), scope, cid, ckind))
        push((iter(self._outer_param_parts(params_node)), scope, cid, ckind))

    def _visit_lambda(self, node: tree_sitter.Node, scope: Scope, cid: NodeId, ckind: NodeKind, push) -> None:
        scope.lambdas += 1
        segment = lambda_segment(scope.lambdas)
        lscope = self._new_scope(scope, "lambda", segment, segment, NodeKind.FUNCTION)
        lscope.start = node.start_byte
        body_expr = expr_of(self.src, node.child_by_field_name("body"))
        if body_expr is not None:
            lscope.returns.append(body_expr)
        params_node = node.child_by_field_name("parameters")
        body = node.child_by_field_name("body")
        n_params = self._visit_params(params_node, lscope, scope, param_ids := [])
        span = node_position(node)
        self._add_node(
            lscope.id, NodeKind.FUNCTION, lscope.qualname, span,
            (segment, "lambda", False, [], one_line(node_text(self.src, params_node)), "", n_params, "", scope.id),
        )
        self._edge(EdgeKind.CONTAINS, cid, ckind, lscope.id, NodeKind.FUNCTION)
        self._edge(EdgeKind.DEFINES, scope.id, scope.node_kind, lscope.id, NodeKind.FUNCTION)
        for param_id in param_ids:
            self._edge(EdgeKind.DEFINES, lscope.id, NodeKind.FUNCTION, param_id, NodeKind.PARAMETER)
        if body is not None:
            push((iter((body,)), lscope, lscope.id, NodeKind.FUNCTION))
        push((iter(self._outer_param_parts(params_node)), scope, cid, ckind))

    def _visit_class(self, node: tree_sitter.Node, scope: Scope, cid: NodeId, ckind: NodeKind, push) -> None:
        name = node_text(self.src, node.child_by_field_name("name")) or "<anonymous>"
        previous = scope.def_names.get(name, 0)
        scope.def_names[name] = previous + 1
        cscope = self._new_scope(scope, "class", scope_segment(name, previous), name, NodeKind.CLASS)
        supers = node.child_by_field_name("superclasses")
        bases: list[str] = []
        if supers is not None:
            for arg in supers.named_children:
                if arg.type == "keyword_argument" \
                        and node_text(self.src, arg.child_by_field_name("name")) == "metaclass":
                    # the class statement runs the metaclass's __init__, calling the class its __call__
                    cscope.implied("metaclass", expr_of(self.src, arg.child_by_field_name("value")))
                if arg.type in ("keyword_argument", "comment"):
                    continue
                bases.append(dotted_name(self.src, arg) or one_line(node_text(self.src, arg), 80))
        cscope.bases = tuple(bases)
        decorators, cscope.decorated_by = self._decorators(node)
        cscope.decorators = decorators
        body = node.child_by_field_name("body")
        span = node_position(node)
        self._add_node(
            cscope.id, NodeKind.CLASS, cscope.qualname, span,
            (name, bases, list(decorators), docstring(self.src, body), scope.id),
        )
        self._edge(EdgeKind.CONTAINS, cid, ckind, cscope.id, NodeKind.CLASS)
        self._edge(EdgeKind.DEFINES, scope.id, scope.node_kind, cscope.id, NodeKind.CLASS)
        scope.bind(name, BindingKind.DEF, cscope.id, span[0])
        if body is not None:
            push((iter(body.named_children), cscope, cscope.id, NodeKind.CLASS))
        tparams = node.child_by_field_name("type_parameters")
        if supers is not None:
            push((iter((supers,)), scope, cid, ckind))
        if tparams is not None:
            push((iter((tparams,)), scope, cid, ckind))

    # -- parameters ------------------------------------------------------
    @staticmethod
    def _outer_param_parts(params: tree_sitter.Node | None) -> list[tree_sitter.Node]:
        """Defaults and annotations of a parameter list: evaluated in the enclosing scope."""
        parts: list[tree_sitter.Node] = []
        if params is None:
            return parts
        for p in params.named_children:
            if p.type in ("default_parameter", "typed_default_parameter", "typed_parameter"):
                for fname in ("type", "value"):
                    sub = p.child_by_field_name(fname)
                    if sub is not None:
                        parts.append(sub)
        parts.sort(key=lambda n: n.start_byte)
        return parts

    def _visit_params(self, params: tree_sitter.Node | None, fscope: Scope, outer: Scope, ids_out: list[NodeId]) -> int:
        """Create Parameter nodes; returns how many parameters there are."""
        if params is None:
            return 0
        names: list[str] = []
        kinds: list[str] = []
        kind = "positional"
        for p in params.named_children:
            t = p.type
            annotation = ""
            default = ""
            pkind = kind
            if t == "identifier":
                name_node = p
            elif t in ("default_parameter", "typed_default_parameter"):
                name_node = p.child_by_field_name("name")
                annotation = one_line(node_text(self.src, p.child_by_field_name("type")), 120)
                default = one_line(node_text(self.src, p.child_by_field_name("value")), 120)
                fscope.flow(node_text(self.src, name_node), expr_of(self.src, p.child_by_field_name("value")))
            elif t == "typed_parameter":
                inner = p.named_children[0] if p.named_child_count else None
                annotation = one_line(node_text(self.src, p.child_by_field_name("type")), 120)
                if inner is not None and inner.type == "list_splat_pattern":
                    name_node, pkind, kind = first_identifier(inner), "vararg", "keyword_only"
                elif inner is not None and inner.type == "dictionary_splat_pattern":
                    name_node, pkind = first_identifier(inner), "kwarg"
                else:
                    name_node = inner
            elif t == "list_splat_pattern":
                name_node, pkind, kind = first_identifier(p), "vararg", "keyword_only"
            elif t == "dictionary_splat_pattern":
                name_node, pkind = first_identifier(p), "kwarg"
            elif t == "keyword_separator":
                kind = "keyword_only"
                continue
            elif t == "positional_separator":
                self._mark_positional_only(fscope, len(names))
                continue
            else:
                continue
            name = node_text(self.src, name_node)
            if not name or name in names:  # a repeated name is a syntax error; keep the first
                continue
            param_id = node_id_for(self.path, fscope.path, "param", name)
            self._add_node(
                param_id, NodeKind.PARAMETER, f"{fscope.qualname}.{name}", node_position(p),
                (name, len(names), pkind, annotation, default, fscope.id),
            )
            ids_out.append(param_id)
            names.append(name)
            kinds.append(_PARAM_KIND_LETTERS[pkind])
            fscope.bind(name, BindingKind.PARAM, annotation, p.start_point[0] + 1)
        fscope.params = tuple(names)
        fscope.param_kinds = "".join(kinds)
        return len(names)

    def _mark_positional_only(self, fscope: Scope, count: int) -> None:
        """Parameters before ``/`` are positional-only: rewrite their kind."""
        rows = self.rows.get(NodeKind.PARAMETER, ())
        for i in range(len(rows) - 1, -1, -1):
            node_id, name, span, (short_name, position, kind, annotation, default, owner) = rows[i]
            if owner != fscope.id:
                break
            if position < count and kind == "positional":
                rows[i] = (node_id, name, span, (short_name, position, "positional_only", annotation, default, owner))

def extract_facts(tree: tree_sitter.Tree, src: bytes, facts: FileFacts, is_package: bool) -> FileFacts:
    """Fill ``facts`` (path, module, hash already set) from a tree parsed from ``src`` (by a
    `astrepo.parse.SourceParser`)."""
    _Extractor(facts, is_package, src).run(tree.root_node)
    return facts
