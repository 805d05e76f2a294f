"""One scope of a file as the extractor walks it: the `Scope` state it fills (bindings, value flows,
implied calls, ordinals for IDs) and what statements put there.

The functions here read one statement's or expression's tree-sitter nodes and record into a
`Scope`: the names an assignment, ``for`` target, ``with ... as``, ``except ... as`` or import
binds (`Binding`, the strongest kind kept per name), the values flowing into them (`astrepo.model.Expr`),
and the dunder/protocol calls operators, loops and truth tests imply. The walk itself, node IDs and
graph rows are `astrepo.extract`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter

from astrepo.ids import NodeId, join_scope, lambda_segment, node_id_for
from astrepo.model import Binding, BindingKind, ImportFact, NodeKind, ScopeFacts, new_record
from astrepo.syntax import (
    BINARY_DUNDERS,
    COMPARE_DUNDERS,
    LITERAL_TYPES,
    UNARY_DUNDERS,
    dotted_name,
    expr_of,
    literal_type,
    node_text,
    receiver,
    subscript_key,
)

_BINDING_RANK = {
    BindingKind.LOCAL: 0,
    BindingKind.PARAM: 1,
    BindingKind.ALIAS: 2,
    BindingKind.INSTANCE: 3,
    BindingKind.IMPORT: 4,
    BindingKind.IMPORT_FROM: 4,
    BindingKind.DEF: 5,
}


@dataclass(slots=True)
class Scope:
    """Walk state of one module/class/function/lambda scope."""

    id: NodeId
    kind: str
    path: str  #: scope path for IDs
    qualname: str
    node_kind: NodeKind
    parent: Scope | None
    bindings: dict[str, Binding] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    def_names: dict[str, int] = field(default_factory=dict)
    lambdas: int = 0
    bases: tuple[str, ...] = ()
    decorators: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    param_kinds: str = ""
    start: int = -1
    flows: list = field(default_factory=list)
    returns: list = field(default_factory=list)
    yields: list = field(default_factory=list)
    decorated_by: tuple = ()
    implicit: dict = field(default_factory=dict)  #: insertion-ordered set

    def flow(self, target: str, value) -> None:
        if value is not None:
            self.flows.append((target, value))

    def implied(self, protocol: str, receiver) -> None:
        if receiver is not None:
            self.implicit[(protocol, receiver)] = None

    def next_ordinal(self, kind: str) -> int:
        n = self.counters.get(kind, 0)
        self.counters[kind] = n + 1
        return n

    def bind(self, name: str, kind: BindingKind, target: str, line: int) -> None:
        old = self.bindings.get(name)
        if old is None or _BINDING_RANK[kind] > _BINDING_RANK[old[0]]:  # (old.kind)
            self.bindings[name] = new_record(Binding, (kind, target, line))

    def facts(self) -> ScopeFacts:
        # (in the field order of ScopeFacts)
        return new_record(ScopeFacts, (
            self.id, self.kind, self.qualname, self.parent.id if self.parent else None, self.bindings,
            self.bases, self.decorators, self.params, self.start, tuple(self.flows), tuple(self.returns),
            tuple(self.yields), self.decorated_by, tuple(self.implicit), self.param_kinds,
        ))


def resolve_relative(module: str, is_package: bool, level: int, name: str) -> str:
    """Absolute module for ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
    prefix = ".".join(base)
    if prefix and name:
        return f"{prefix}.{name}"
    return prefix or name


def bind_assignment(src: bytes, node: tree_sitter.Node, scope: Scope, path: str) -> None:
    """Bind the targets of an assignment in ``path`` and record the value flowing into them."""
    # ``a = b = value`` nests as assignment(a, assignment(b, value)): collect
    # every target of the chain, then bind each to the final value.
    targets: list[tree_sitter.Node] = []
    right: tree_sitter.Node | None = node
    while right is not None and right.type == "assignment":
        left = right.child_by_field_name("left")
        if left is not None:
            targets.append(left)
        right = right.child_by_field_name("right")
    line = node.start_point[0] + 1
    kind, target = BindingKind.LOCAL, ""
    if right is not None and right.type == "lambda":
        # The walk numbers this lambda next in the scope (targets hold no lambdas).
        segment = lambda_segment(scope.lambdas + 1)
        kind, target = BindingKind.DEF, node_id_for(path, join_scope(scope.path, segment), "lambda")
    elif right is not None and right.type in LITERAL_TYPES:
        kind, target = BindingKind.INSTANCE, literal_type(src, right) or ""
    elif right is not None and right.type == "call":
        callee = dotted_name(src, right.child_by_field_name("function"))
        if callee:
            kind, target = BindingKind.INSTANCE, callee
    elif right is not None and right.type in ("identifier", "attribute"):
        dotted = dotted_name(src, right)
        if dotted:
            kind, target = BindingKind.ALIAS, dotted
    value = expr_of(src, right)
    if value is None and node.child_by_field_name("type") is not None:
        annotation = dotted_name(src, node.child_by_field_name("type").named_children[0]
                                 if node.child_by_field_name("type").named_child_count else None)
        value = ("t", annotation) if annotation else None
    for left in targets:
        if left.type == "identifier":
            scope.bind(node_text(src, left), kind, target, line)
        else:
            bind_targets(src, left, scope)
        flow_targets(src, left, value, scope)


def bind_targets(src: bytes, node: tree_sitter.Node | None, scope: Scope) -> None:
    if node is None:
        return
    line = node.start_point[0] + 1
    stack = [node]
    while stack:
        n = stack.pop()
        t = n.type
        if t == "identifier":
            scope.bind(node_text(src, n), BindingKind.LOCAL, "", line)
        elif t in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list",
                   "list_splat_pattern", "parenthesized_expression", "expression_list"):
            stack.extend(n.named_children)


def flow_targets(src: bytes, node: tree_sitter.Node | None, value, scope: Scope) -> None:
    """Record ``value`` flowing into the names (and ``obj.attr`` targets) of an assignment target."""
    if node is None or value is None:
        return
    t = node.type
    if t == "identifier":
        scope.flow(node_text(src, node), value)
    elif t == "attribute":
        dotted = dotted_name(src, node)
        if dotted:
            scope.flow(dotted, value)
    elif t == "subscript":  # an item store: ``registry[key] = value`` flows into the container
        dotted = dotted_name(src, node.child_by_field_name("value"))
        if dotted:
            scope.flow(f"{dotted}[{subscript_key(src, node)}]", value)
    elif t in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"):
        children = node.named_children
        # ``a, b = value``: item i of the value, ("u", value, i); after a starred target, counted
        # from the end (i - n); the starred one, ``*rest``, takes items (i, n - i - 1) (from i, up to
        # that many before the end)
        n = len(children)
        star = next((i for i, c in enumerate(children) if c.type in ("list_splat_pattern", "list_splat")), n)
        for i, child in enumerate(children):
            index = i if i < star else (i, n - i - 1) if i == star else i - n
            flow_targets(src, child, ("u", value, index), scope)
    elif t == "parenthesized_expression" and node.named_child_count == 1:
        flow_targets(src, node.named_children[0], value, scope)
    elif t in ("list_splat_pattern", "list_splat") and node.named_child_count == 1:
        # ``first, *rest = value``: rest is a list of some of value's items
        flow_targets(src, node.named_children[0], ("l", (value,)), scope)


def bind_with(src: bytes, node: tree_sitter.Node, scope: Scope) -> None:
    for clause in node.named_children:
        if clause.type != "with_clause":
            continue
        for item in clause.named_children:
            value = item.child_by_field_name("value")
            if value is not None and value.type == "as_pattern":
                manager = value.named_children[0] if value.named_child_count else None
                scope.implied("with", receiver(src, manager))
                alias = value.child_by_field_name("alias")
                if alias is not None:
                    alias_target = alias.named_children[0] if alias.named_child_count else alias
                    bind_targets(src, alias_target, scope)
                    entered = expr_of(src, manager)
                    flow_targets(src, alias_target, ("e", entered) if entered is not None else None, scope)
            elif value is not None:
                scope.implied("with", receiver(src, value))


def bind_except(src: bytes, node: tree_sitter.Node, scope: Scope) -> None:
    for child in node.named_children:
        if child.type == "as_pattern":
            alias = child.child_by_field_name("alias")
            if alias is not None:
                target = alias.named_children[0] if alias.named_child_count else alias
                bind_targets(src, target, scope)
                # ``except (A, B) as e``: e holds an instance of one of the caught classes
                caught = child.named_children[0] if child.named_child_count else None
                types = caught.named_children if caught is not None and caught.type == "tuple" else [caught]
                names = [dotted_name(src, t) for t in types if t is not None]
                items = tuple(("t", n) for n in names if n)
                if items:
                    flow_targets(src, target, items[0] if len(items) == 1 else ("o", items), scope)


def bind_import(src: bytes, node: tree_sitter.Node, t: str, scope: Scope, module: str, is_package: bool,
                imports: list[ImportFact]) -> None:
    """Bind the names an import statement of ``module`` imports; record it in ``imports``."""
    line = node.start_point[0] + 1
    if t == "import_statement":
        for child in node.named_children:
            if child.type == "dotted_name":
                module = node_text(src, child)
                top = module.split(".", 1)[0]
                scope.bind(top, BindingKind.IMPORT, top, line)
                imports.append(ImportFact(scope.id, module, (), line))
            elif child.type == "aliased_import":
                module = node_text(src, child.child_by_field_name("name"))
                alias = node_text(src, child.child_by_field_name("alias"))
                scope.bind(alias, BindingKind.IMPORT, module, line)
                imports.append(ImportFact(scope.id, module, (), line))
        return
    if t == "future_import_statement":
        return
    module_node = node.child_by_field_name("module_name")
    level = 0
    name = ""
    if module_node is not None and module_node.type == "relative_import":
        for part in module_node.children:
            if part.type == "import_prefix":
                level = node_text(src, part).count(".")
            elif part.type == "dotted_name":
                name = node_text(src, part)
    else:
        name = node_text(src, module_node)
    absolute = resolve_relative(module, is_package, level, name)
    names: list[str] = []
    star = False
    for child in node.children_by_field_name("name"):
        if child.type == "dotted_name":
            imported = node_text(src, child)
            scope.bind(imported, BindingKind.IMPORT_FROM, f"{absolute}.{imported}", line)
            names.append(imported)
        elif child.type == "aliased_import":
            imported = node_text(src, child.child_by_field_name("name"))
            alias = node_text(src, child.child_by_field_name("alias"))
            scope.bind(alias, BindingKind.IMPORT_FROM, f"{absolute}.{imported}", line)
            names.append(imported)
    if any(c.type == "wildcard_import" for c in node.named_children):
        star = True
    imports.append(ImportFact(scope.id, absolute, tuple(names), line, level, star))


def visit_implicit(src: bytes, node: tree_sitter.Node, t: str, scope: Scope) -> None:
    """Record what an expression of type ``t`` (`astrepo.extract.IMPLICIT_TYPES`) implies: dunder and
    protocol calls, truth tests, comprehension and walrus bindings."""
    if t == "binary_operator" or t == "unary_operator":  # the dunder of the (left) operand
        binary = t == "binary_operator"
        op = node.child_by_field_name("operator")
        dunder = (BINARY_DUNDERS if binary else UNARY_DUNDERS).get(node_text(src, op)) if op is not None else None
        if dunder:
            scope.implied(dunder, receiver(src, node.child_by_field_name("left" if binary else "argument")))
    elif t == "comparison_operator":
        ops = node.children_by_field_name("operators")
        if len(ops) == 1 and node.named_child_count == 2:
            op = node_text(src, ops[0])
            left, right = node.named_children
            if op == "in":
                scope.implied("__contains__", receiver(src, right))
            elif op in COMPARE_DUNDERS:
                scope.implied(COMPARE_DUNDERS[op], receiver(src, left))
    elif t == "subscript":
        parent = node.parent
        store = parent is not None and parent.type in ("assignment", "augmented_assignment") and \
            parent.child_by_field_name("left") == node
        scope.implied("__setitem__" if store else "__getitem__", receiver(src, node.child_by_field_name("value")))
    elif t == "for_in_clause":
        right = node.child_by_field_name("right")
        value = expr_of(src, right)
        left = node.child_by_field_name("left")
        bind_targets(src, left, scope)
        flow_targets(src, left, ("i", value) if value is not None else None, scope)
        scope.implied("iter", receiver(src, right))
    elif t == "yield":
        value = expr_of(src, node.named_children[0]) if node.named_child_count else None
        if value is not None:  # ``yield from g``: what iterating g gives
            scope.yields.append(("i", value) if any(c.type == "from" for c in node.children) else value)
    elif t == "not_operator":
        truth_tested(src, node.child_by_field_name("argument"), scope)
    elif t == "boolean_operator":  # the left operand is always tested, the right one where the whole is
        truth_tested(src, node.child_by_field_name("left"), scope)
    elif t == "conditional_expression":
        if node.named_child_count >= 2:
            truth_tested(src, node.named_children[1], scope)
    elif t == "if_clause":
        if node.named_child_count:
            truth_tested(src, node.named_children[0], scope)
    elif t == "named_expression":
        name = node.child_by_field_name("name")
        if name is not None:
            scope.bind(node_text(src, name), BindingKind.LOCAL, "", node.start_point[0] + 1)
            scope.flow(node_text(src, name), expr_of(src, node.child_by_field_name("value")))


def truth_tested(src: bytes, node: tree_sitter.Node | None, scope: Scope) -> None:
    """A value tested for truth (``if x``, ``not x``, ``x and y``) implies ``type(x).__bool__``
    (or ``__len__``): recorded as the implicit protocol ``__bool__``."""
    while node is not None and node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    if node is None:
        return
    if node.type == "boolean_operator":
        truth_tested(src, node.child_by_field_name("left"), scope)
        truth_tested(src, node.child_by_field_name("right"), scope)
    elif node.type == "not_operator":
        truth_tested(src, node.child_by_field_name("argument"), scope)
    else:
        scope.implied("__bool__", receiver(src, node))
