"""Cross-file name resolution: CALLS, IMPORTS and INHERITS edges, external symbols.

Approach: every file's scopes, bindings, imports and call sites (extracted
per file) form a project-wide symbol table. A dotted callee such as
``self.store.get`` is resolved by looking its first name up through the
lexical scopes (function, enclosing functions, module, builtins; class scopes
are skipped from nested functions, as Python does), then walking attributes:
a module's members (following re-exports and star imports), a class's
members along its bases in declaration order, an instance's class members.

What resolves: module-level functions and classes of the same module; names
brought in by ``import``/``from ... import`` (aliases, relative imports,
package ``__init__`` re-exports, implicit script-folder siblings); methods
on ``self``/``cls`` (first parameter of a method) and ``super()``; class
instantiation (edge to the class); ``x = C()`` then ``x.m()``; parameters
annotated with a project class; builtins and external libraries as named
external targets (``<builtin>.len``, ``json.dumps``).

Invariants: the result is a pure function of the inputs, sorted, so an
incremental index equals a full one. Known limits: no flow sensitivity
(the highest-ranked binding of a name in a scope wins), no return types,
no attributes assigned in ``__init__``, no decorators' effects; those calls
are reported unresolved with the reason.
"""

from __future__ import annotations

import builtins
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from astrepo.ids import NodeId, external_id
from astrepo.model import Binding, BindingKind, CallFact, Edge, EdgeKind, ImportFact, Node, NodeKind, NO_SPAN, ScopeFacts

#: How many alias / re-export hops one name may take before we give up
#: (cycles such as ``a = b; b = a`` or mutual re-exports end here).
MAX_RESOLVE_DEPTH = 16

BUILTIN_NAMES = frozenset(dir(builtins))

#: Heads the extractor gives literals (``", ".join`` is ``<str>.join``).
LITERAL_HEADS = {f"<{t}>": f"<builtin>.{t}" for t in ("str", "list", "dict", "set", "tuple", "int", "float")}

#: Builtin classes whose instances' methods we name (``<builtin>.str.join``).
BUILTIN_TYPES = frozenset(f"<builtin>.{t}" for t in (
    "str", "bytes", "list", "dict", "set", "frozenset", "tuple", "int", "float", "bytearray"))

_SCOPE_TABLES = {"module": NodeKind.MODULE, "class": NodeKind.CLASS, "function": NodeKind.FUNCTION,
                 "lambda": NodeKind.FUNCTION}


class ModuleInputs(NamedTuple):
    """What resolution needs of one file (a projection of its `FileFacts`)."""

    path: str
    module: str
    is_package: bool
    scopes: tuple[ScopeFacts, ...]
    calls: tuple[CallFact, ...]
    imports: tuple[ImportFact, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """What a name or expression evaluates to, as far as we know statically."""

    kind: str  #: module | def | instance | external
    value: str  #: module name, node ID, class node ID, or external dotted name
    how: str  #: provenance of the first name: local, import, self, super, builtin, external


@dataclass(slots=True)
class Resolution:
    """Result of resolving a whole project."""

    edges: list[Edge] = field(default_factory=list)
    externals: list[Node] = field(default_factory=list)
    #: reasons why calls stayed unresolved, counted
    unresolved: Counter = field(default_factory=Counter)
    resolved_calls: int = 0
    external_calls: int = 0


class _Project:
    """The symbol table of all files."""

    def __init__(self, inputs: list[ModuleInputs]) -> None:
        self.modules: dict[str, ScopeFacts] = {}
        self.module_files: dict[str, ModuleInputs] = {}
        self.scopes: dict[NodeId, ScopeFacts] = {}
        self.star_imports: dict[str, list[str]] = {}
        self.packages: set[str] = set()
        for mod in inputs:
            if not mod.scopes:
                continue
            if mod.module not in self.modules:  # first by path wins for duplicate names
                self.modules[mod.module] = mod.scopes[0]
                self.module_files[mod.module] = mod
            for scope in mod.scopes:
                self.scopes[scope.id] = scope
            for imp in mod.imports:
                if imp.star and imp.scope == mod.scopes[0].id:
                    self.star_imports.setdefault(mod.module, []).append(imp.module)
            parts = mod.module.split(".")
            for i in range(1, len(parts)):
                self.packages.add(".".join(parts[:i]))

    def is_module(self, name: str) -> bool:
        return name in self.modules or name in self.packages

    def find_module(self, name: str, importer: str) -> str | None:
        """A project module for an absolute name, or an implicit sibling of ``importer``."""
        if self.is_module(name):
            return name
        if "." in importer:
            sibling = importer.rsplit(".", 1)[0] + "." + name
            if self.is_module(sibling):
                return sibling
        return None


class _Resolver:
    def __init__(self, project: _Project) -> None:
        self.p = project
        self.memo: dict[tuple[NodeId, str], Target | str] = {}

    # -- names -------------------------------------------------------------
    def lookup(self, name: str, scope: ScopeFacts, depth: int) -> Target | str:
        """Resolve a bare name seen in ``scope``; a str result is the reason it failed."""
        s: ScopeFacts | None = scope
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = self.p.scopes.get(s.parent) if s.parent else None
                continue
            binding = s.bindings.get(name)
            if binding is not None:
                return self.binding_target(name, binding, s, depth)
            first = False
            s = self.p.scopes.get(s.parent) if s.parent else None
        if name in BUILTIN_NAMES:
            return Target("external", f"<builtin>.{name}", "builtin")
        if name in LITERAL_HEADS:
            return Target("external", LITERAL_HEADS[name], "literal")
        return f"undefined name {name!r}"

    def binding_target(self, name: str, b: Binding, scope: ScopeFacts, depth: int) -> Target | str:
        if depth > MAX_RESOLVE_DEPTH:
            return "resolution depth exceeded"
        kind = b.kind
        if kind is BindingKind.DEF:
            return Target("def", b.target, "local")
        if kind is BindingKind.IMPORT:
            module = self.module_of(scope)
            found = self.p.find_module(b.target, module)
            if found is not None:
                return Target("module", found, "import")
            return Target("external", b.target, "external")
        if kind is BindingKind.IMPORT_FROM:
            return self.qualified(b.target, self.module_of(scope), depth + 1)
        if kind is BindingKind.ALIAS:
            return self.expression(b.target, scope, depth + 1)
        if kind is BindingKind.INSTANCE:
            t = self.expression(b.target, scope, depth + 1)
            if isinstance(t, Target) and t.kind == "def" and self.is_class(t.value):
                return Target("instance", t.value, t.how)
            if isinstance(t, Target) and t.kind == "external" and t.value in BUILTIN_TYPES:
                return Target("external", t.value, t.how)  # x = "" / x = dict(): methods of the type
            return f"{name!r} holds the result of a call to {b.target!r}"
        if kind is BindingKind.PARAM:
            owner = scope
            if owner.params and owner.params[0] == name and owner.parent:
                parent = self.p.scopes.get(owner.parent)
                if parent is not None and parent.kind == "class":
                    decorators = owner.decorators
                    if "staticmethod" in decorators:
                        return f"{name!r} is a parameter of a staticmethod"
                    if "classmethod" in decorators or owner.qualname.rsplit(".", 1)[-1] in ("__new__", "__init_subclass__", "__class_getitem__"):
                        return Target("def", parent.id, "self")
                    return Target("instance", parent.id, "self")
            annotation = _annotation_name(b.target)
            if annotation:
                outer = self.p.scopes.get(scope.parent) if scope.parent else None
                t = self.expression(annotation, outer or scope, depth + 1)
                if isinstance(t, Target) and t.kind == "def" and self.is_class(t.value):
                    return Target("instance", t.value, "annotation")
            return f"{name!r} is a parameter"
        return f"{name!r} is a local variable"

    def module_of(self, scope: ScopeFacts) -> str:
        s = scope
        while s.parent is not None:
            parent = self.p.scopes.get(s.parent)
            if parent is None:
                break
            s = parent
        return s.qualname

    def is_class(self, node_id: str) -> bool:
        s = self.p.scopes.get(NodeId(node_id))
        return s is not None and s.kind == "class"

    # -- dotted expressions ---------------------------------------------------
    def expression(self, dotted: str, scope: ScopeFacts, depth: int = 0) -> Target | str:
        key = (scope.id, dotted)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        result = self._expression(dotted, scope, depth)
        self.memo[key] = result
        return result

    def _expression(self, dotted: str, scope: ScopeFacts, depth: int) -> Target | str:
        if depth > MAX_RESOLVE_DEPTH:
            return "resolution depth exceeded"
        parts = dotted.split(".")
        if parts[0] == "super()":
            cls = self.enclosing_class(scope)
            if cls is None:
                return "super() outside a method"
            if len(parts) < 2:
                return "bare super()"
            for base in self.bases(cls, depth):
                if isinstance(base, Target) and base.kind == "def":
                    member = self.class_member(base.value, parts[1], depth + 1)
                    if isinstance(member, Target):
                        return self.walk(Target(member.kind, member.value, "super"), parts[2:], depth)
                elif isinstance(base, Target) and base.kind == "external":
                    return self.walk(Target("external", f"{base.value}.{parts[1]}", "super"), parts[2:], depth)
            return f"super().{parts[1]} not found in the bases of {cls.qualname}"
        head = self.lookup(parts[0], scope, depth)
        if isinstance(head, str):
            return head
        return self.walk(head, parts[1:], depth)

    def walk(self, target: Target, attrs: list[str], depth: int) -> Target | str:
        for attr in attrs:
            nxt = self.attribute(target, attr, depth + 1)
            if isinstance(nxt, str):
                return nxt
            target = Target(nxt.kind, nxt.value, target.how)
        return target

    def attribute(self, target: Target, attr: str, depth: int) -> Target | str:
        kind = target.kind
        if kind == "external":
            return Target("external", f"{target.value}.{attr}", target.how)
        if kind == "module":
            return self.module_member(target.value, attr, depth)
        if kind in ("def", "instance"):
            if not self.is_class(target.value):
                return f"attribute {attr!r} of a function"
            member = self.class_member(target.value, attr, depth)
            return member
        return f"attribute {attr!r} of {kind}"

    def qualified(self, name: str, importer: str, depth: int) -> Target | str:
        """Resolve an absolute dotted name ``pkg.mod.attr`` (from an import)."""
        found = self.p.find_module(name, importer)
        if found is not None:
            return Target("module", found, "import")
        if "." not in name:
            return Target("external", name, "external")
        module, attr = name.rsplit(".", 1)
        found = self.p.find_module(module, importer)
        if found is None:
            return Target("external", name, "external")
        member = self.module_member(found, attr, depth)
        if isinstance(member, Target):
            return Target(member.kind, member.value, "import")
        return member

    def module_member(self, module: str, attr: str, depth: int) -> Target | str:
        if depth > MAX_RESOLVE_DEPTH:
            return "resolution depth exceeded"
        sub = f"{module}.{attr}"
        scope = self.p.modules.get(module)
        if scope is not None:
            binding = scope.bindings.get(attr)
            if binding is not None:
                return self.binding_target(attr, binding, scope, depth + 1)
        if self.p.is_module(sub):
            return Target("module", sub, "import")
        for star in self.p.star_imports.get(module, ()):
            found = self.p.find_module(star, module)
            if found is None:
                continue
            member = self.module_member(found, attr, depth + 1)
            if isinstance(member, Target):
                return member
        if scope is None:
            return f"module {module} has no source in the project"
        return f"module {module} has no attribute {attr!r}"

    # -- classes ---------------------------------------------------------------
    def enclosing_class(self, scope: ScopeFacts) -> ScopeFacts | None:
        s: ScopeFacts | None = scope
        while s is not None:
            parent = self.p.scopes.get(s.parent) if s.parent else None
            if s.kind == "function" and parent is not None and parent.kind == "class":
                return parent
            s = parent
        return None

    def bases(self, cls: ScopeFacts, depth: int) -> list[Target | str]:
        parent = self.p.scopes.get(cls.parent) if cls.parent else None
        if parent is None:
            return []
        return [self.expression(base, parent, depth + 1) for base in cls.bases]

    def class_member(self, class_id: str, attr: str, depth: int) -> Target | str:
        """Look ``attr`` up on a class and its bases (depth-first, left to right)."""
        seen: set[str] = set()
        stack = [class_id]
        external_base = ""
        while stack:
            cid = stack.pop(0)
            if cid in seen:
                continue
            seen.add(cid)
            cls = self.p.scopes.get(NodeId(cid))
            if cls is None or cls.kind != "class":
                continue
            binding = cls.bindings.get(attr)
            if binding is not None:
                if binding.kind is BindingKind.DEF:
                    return Target("def", binding.target, "local")
                return self.binding_target(attr, binding, cls, depth + 1)
            for base in self.bases(cls, depth):
                if isinstance(base, Target) and base.kind == "def":
                    stack.append(base.value)
                elif isinstance(base, Target) and base.kind == "external" and not external_base:
                    external_base = base.value
        if external_base:
            return Target("external", f"{external_base}.{attr}", "external")
        return f"class has no attribute {attr!r}"


def resolve_project(inputs: list[ModuleInputs]) -> Resolution:
    """Resolve every call, import and base class of a project."""
    project = _Project(inputs)
    resolver = _Resolver(project)
    out = Resolution()
    externals: dict[str, str] = {}
    calls_seen: set[tuple[str, str]] = set()
    imports_seen: dict[tuple[str, str], int] = {}

    def external(name: str, kind: str) -> NodeId:
        externals.setdefault(name, kind)
        return external_id(name)

    for mod in sorted(inputs, key=lambda m: m.path):
        if not mod.scopes:
            continue
        module_scope = mod.scopes[0]
        # IMPORTS: module -> module (project) or external module.
        for imp in mod.imports:
            targets = []
            found = project.find_module(imp.module, mod.module) if imp.module else None
            if found is not None:
                targets.append((found, True))
                for name in imp.names:
                    sub = project.find_module(f"{found}.{name}", mod.module)
                    if sub is not None:
                        targets.append((sub, True))
            elif imp.module:
                targets.append((imp.module, False))
            for target, internal in targets:
                if target == mod.module:
                    continue
                key = (module_scope.id, target)
                if key not in imports_seen:
                    imports_seen[key] = imp.line
                    if internal:
                        dst = project.modules.get(target)
                        if dst is None:
                            continue  # a namespace package without a file
                        out.edges.append(Edge(EdgeKind.IMPORTS, module_scope.id, NodeKind.MODULE, dst.id,
                                              NodeKind.MODULE, (("line", imp.line),)))
                    else:
                        out.edges.append(Edge(EdgeKind.IMPORTS, module_scope.id, NodeKind.MODULE,
                                              external(target, "module"), NodeKind.EXTERNAL, (("line", imp.line),)))
        # INHERITS: class -> class or external.
        for scope in mod.scopes:
            if scope.kind != "class":
                continue
            for position, base in enumerate(resolver.bases(scope, 0)):
                if isinstance(base, Target) and base.kind == "def" and resolver.is_class(base.value):
                    out.edges.append(Edge(EdgeKind.INHERITS, scope.id, NodeKind.CLASS, NodeId(base.value),
                                          NodeKind.CLASS, (("position", position),)))
                elif isinstance(base, Target) and base.kind == "external":
                    out.edges.append(Edge(EdgeKind.INHERITS, scope.id, NodeKind.CLASS,
                                          external(base.value, _external_kind(base.value)), NodeKind.EXTERNAL,
                                          (("position", position),)))
        # CALLS: call site -> callee, and the scope-level projection.
        for call in mod.calls:
            if not call.callee:
                out.unresolved["callee is not a name"] += 1
                continue
            scope = project.scopes.get(call.scope)
            if scope is None:
                continue
            target = resolver.expression(call.callee, scope)
            if isinstance(target, str):
                out.unresolved[_reason_class(target)] += 1
                continue
            if target.kind == "def":
                dst = project.scopes.get(NodeId(target.value))
                if dst is None:
                    continue
                dst_kind = NodeKind.CLASS if dst.kind == "class" else NodeKind.FUNCTION
                dst_id = dst.id
                out.resolved_calls += 1
            elif target.kind == "external":
                dst_id = external(target.value, _external_kind(target.value))
                dst_kind = NodeKind.EXTERNAL
                out.external_calls += 1
            else:
                out.unresolved[f"calling a {target.kind}"] += 1
                continue
            prov = (("provenance", target.how),)
            out.edges.append(Edge(EdgeKind.CALLS, call.id, NodeKind.CALLSITE, dst_id, dst_kind, prov))
            if (scope.id, dst_id) not in calls_seen:
                calls_seen.add((scope.id, dst_id))
                out.edges.append(Edge(EdgeKind.CALLS, scope.id, _SCOPE_TABLES[scope.kind], dst_id, dst_kind, prov))
    out.externals = [
        Node(external_id(name), NodeKind.EXTERNAL, name, "", NO_SPAN, {"kind": kind})
        for name, kind in sorted(externals.items())
    ]
    return out


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _annotation_name(annotation: str) -> str:
    """The class named by a simple annotation (``Foo``, ``"pkg.Foo"``), "" for anything else."""
    text = annotation.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text if _DOTTED.fullmatch(text) else ""


def _external_kind(name: str) -> str:
    return "builtin" if name.startswith("<builtin>.") else "symbol"


def _reason_class(reason: str) -> str:
    """Group unresolved reasons for the summary (drop the specific names)."""
    if reason.startswith("undefined name"):
        return "undefined name"
    if "holds the result of a call" in reason:
        return "result of a call"
    if "is a parameter" in reason:
        return "parameter"
    if "local variable" in reason:
        return "local variable"
    if "has no attribute" in reason:
        return "attribute not found"
    if "has no source" in reason:
        return "module not in project"
    return reason.split(" (")[0][:60]
