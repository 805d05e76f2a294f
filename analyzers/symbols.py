"""The project-wide symbol table call resolution reads: every file's scopes, calls and imports,
indexed (modules by name, scopes by ID, calls by position, lambdas by start, value flows into
names and into ``self.attr`` fields, stores into containers)."""

from __future__ import annotations

from typing import NamedTuple

from astrepo.ids import NodeId
from astrepo.model import BindingKind, CallFact, Expr, ImportFact, ScopeFacts


class ModuleInputs(NamedTuple):
    """What resolution needs of one file (a projection of its `FileFacts`)."""

    path: str
    module: str
    is_package: bool
    scopes: tuple[ScopeFacts, ...]
    calls: tuple[CallFact, ...]
    imports: tuple[ImportFact, ...]


#: Methods of builtin containers that store an argument: name -> (operation, argument position).
_CONTAINER_STORES = {"append": ("add", 0), "add": ("add", 0), "insert": ("add", 1), "setdefault": ("add", 1),
                     "extend": ("extend", 0), "update": ("update", 0)}


class Project:
    """The symbol table of all files."""

    def __init__(self, inputs: list[ModuleInputs]) -> None:
        self.modules: dict[str, ScopeFacts] = {}
        self.module_files: dict[str, ModuleInputs] = {}
        self.scopes: dict[NodeId, ScopeFacts] = {}
        self.star_imports: dict[str, list[str]] = {}
        self.packages: set[str] = set()
        self.module_of_scope: dict[str, str] = {}
        #: (module, end byte) -> the call there and its scope
        self.calls_at: dict[tuple[str, int], tuple[CallFact, ScopeFacts]] = {}
        #: (module, start byte) -> lambda scope ID
        self.lambda_at: dict[tuple[str, int], str] = {}
        #: scope ID -> name -> expressions flowing into it
        self.flows: dict[str, dict[str, list]] = {}
        #: class ID -> attribute -> [(method scope, expression)] from ``self.attr = ...``
        self.fields: dict[str, dict[str, list]] = {}
        #: attribute -> [(scope, object text, expression)] from ``obj.attr = ...`` on other objects
        #: (``Cls.attr = f``, ``handler.callback = f``): fields of the classes obj may be or be an instance of
        self.attr_stores: dict[str, list] = {}
        #: names of properties and of dunder methods defined anywhere (prefilters implicit calls)
        self.property_names: set[str] = set()
        #: class ID -> its ``metaclass=`` expression
        self.metaclass: dict[str, Expr] = {}
        self.dunders: set[str] = set()
        #: stores into containers: (scope, container text, operation, key, expression), the
        #: operation "item" (``c[key] = e``), "add" (``c.append(e)``, ``c.add(e)``, ``c.insert(i, e)``,
        #: ``c.setdefault(k, e)``), "extend" (``c.extend(e)``) or "update" (``c.update(e)``)
        self.item_stores: list[tuple[ScopeFacts, str, str, str, Expr]] = []
        #: (function ID, bound) -> `signature`, filled on demand
        self._signatures: dict[tuple[str, bool], tuple | None] = {}
        for mod in inputs:
            if not mod.scopes:
                continue
            for scope in mod.scopes:
                self.scopes[scope.id] = scope
                self.module_of_scope[scope.id] = mod.module
                if scope.kind == "lambda":
                    self.lambda_at[(mod.module, scope.start)] = scope.id
                elif scope.kind == "class" and scope.implicit:
                    for protocol, expr in scope.implicit:
                        if protocol == "metaclass":
                            self.metaclass[scope.id] = expr
                self._index_flows(scope)
            by_id = {scope.id: scope for scope in mod.scopes}
            for call in mod.calls:
                scope = by_id.get(call.scope)
                if scope is not None:
                    self.calls_at[(mod.module, call.end)] = (call, scope)
                    if "." in call.callee and (call.args or call.kwargs):
                        self._index_container_call(call, scope)
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
        #: IDs of the classes among ``scopes``
        self.class_ids: frozenset[str] = frozenset(sid for sid, scope in self.scopes.items() if scope.kind == "class")
        #: attribute names that may hold a descriptor (see `_descriptor_names`)
        self.descriptor_names: set[str] = self._descriptor_names() if "__get__" in self.dunders else set()
        #: scope ID -> attribute reads that may run a property getter or a descriptor's ``__get__``:
        #: [(object expression, attribute)]
        self.property_reads: dict[str, list[tuple[Expr, str]]] = {}
        if self.property_names or self.descriptor_names:
            self._index_property_reads(inputs)

    def _descriptor_names(self) -> set[str]:
        """Names of class attributes that may hold a descriptor, by spelling: bound in a class body
        (``x = D(...)``, ``@D def x``) or stored on an object (``Cls.x = D(...)``) where D is named
        like a class defining ``__get__`` or a subclass of one (a prefilter: resolution decides)."""
        classes = {s.qualname.rsplit(".", 1)[-1] for s in self.scopes.values()
                   if s.kind == "class" and "__get__" in s.bindings}
        grew = True
        while grew:  # subclasses, by the last name of their bases
            grew = False
            for s in self.scopes.values():
                if s.kind == "class" and s.bases and any(b.rsplit(".", 1)[-1] in classes for b in s.bases):
                    name = s.qualname.rsplit(".", 1)[-1]
                    if name not in classes:
                        classes.add(name)
                        grew = True
        names: set[str] = set()
        for s in self.scopes.values():
            if s.kind != "class":
                continue
            for name, b in s.bindings.items():
                if b.kind is BindingKind.INSTANCE and b.target.rsplit(".", 1)[-1] in classes:
                    names.add(name)
                elif b.kind is BindingKind.DEF:
                    f = self.scopes.get(b.target)
                    if f is not None and any(d.split("(", 1)[0].rsplit(".", 1)[-1] in classes for d in f.decorators):
                        names.add(name)
        for attr, stores in self.attr_stores.items():
            for scope, _, expr in stores:
                if expr[0] == "c":
                    found = self.calls_at.get((self.module_of_scope.get(scope.id, ""), expr[1]))
                    if found is not None and found[0].callee.rsplit(".", 1)[-1] in classes:
                        names.add(attr)
                        break
        return names

    def _index_property_reads(self, inputs: list[ModuleInputs]) -> None:
        """Every read ``obj.attr`` of an attribute named like a property somewhere: in assigned,
        returned, yielded and tested values, operands, arguments and called names (``obj.prop.m()``
        and ``obj.prop()`` read ``obj.prop``). Which are property reads is decided when resolving."""
        names = self.property_names | self.descriptor_names
        reads: dict[str, dict] = {}

        def walk(expr, out: dict) -> None:
            while expr is not None:
                k = expr[0]
                if k == "n":
                    text = expr[1]
                    if "." in text:
                        parts = text.split(".")
                        for i in range(1, len(parts)):
                            if parts[i] in names:
                                out[(("n", ".".join(parts[:i])), parts[i])] = None
                    return
                if k == "a":
                    if expr[2] in names:
                        out[(expr[1], expr[2])] = None
                    expr = expr[1]
                elif k in ("s", "i", "e", "u"):
                    expr = expr[1]
                elif k == "p":
                    expr = expr[2]
                elif k in ("l", "o"):
                    for e in expr[1]:
                        walk(e, out)
                    return
                elif k == "m":
                    for _, e in expr[1]:
                        walk(e, out)
                    return
                else:
                    return

        for scope in self.scopes.values():
            if scope.flows or scope.returns or scope.yields or scope.implicit:
                out = reads.setdefault(scope.id, {})
                for _, e in scope.flows:
                    walk(e, out)
                for e in scope.returns:
                    walk(e, out)
                for e in scope.yields:
                    walk(e, out)
                for _, e in scope.implicit:
                    walk(e, out)
        for mod in inputs:
            for call in mod.calls:
                out = reads.setdefault(call.scope, {})
                if call.callee and "." in call.callee:
                    walk(("n", call.callee), out)
                if call.func is not None:
                    walk(call.func, out)
                # most arguments are simple names, which read no attribute: not walked
                for e in call.args:
                    if e is not None and (e[0] != "n" or "." in e[1]):
                        walk(e[1] if e[0] == "*" else e, out)
                for _, e in call.kwargs:
                    if e is not None and (e[0] != "n" or "." in e[1]):
                        walk(e, out)
        self.property_reads = {k: list(v) for k, v in reads.items() if v}

    def _index_flows(self, scope: ScopeFacts) -> None:
        parent = None
        if scope.kind == "function" and scope.parent:
            parent = next((s for s in [self.scopes.get(scope.parent)] if s is not None and s.kind == "class"), None)
            name = scope.qualname.rsplit(".", 1)[-1]
            if parent is not None:
                if "property" in scope.decorators:
                    self.property_names.add(name)
                if name.startswith("__"):
                    self.dunders.add(name)
        if not scope.flows:
            return
        by_name: dict[str, list] = {}
        self_name = scope.params[0] if parent is not None and scope.params else ""
        for target, expr in scope.flows:
            if target.endswith("]"):
                container, _, key = target[:-1].partition("[")
                self.item_stores.append((scope, container, "item", key, expr))
            elif "." not in target:
                by_name.setdefault(target, []).append(expr)
            elif self_name and target.count(".") == 1 and target.startswith(self_name + "."):
                attrs = self.fields.setdefault(parent.id, {})
                attrs.setdefault(target.split(".", 1)[1], []).append((scope, expr))
            else:
                head, attr = target.rsplit(".", 1)
                self.attr_stores.setdefault(attr, []).append((scope, head, expr))
        self.flows[scope.id] = by_name

    def _index_container_call(self, call: CallFact, scope: ScopeFacts) -> None:
        container, method = call.callee.rsplit(".", 1)
        operation, position = _CONTAINER_STORES.get(method, ("", 0))
        if operation and position < len(call.args) and call.args[position] is not None \
                and call.args[position][0] != "*":
            self.item_stores.append((scope, container, operation, "", call.args[position]))
        if method == "update":  # d.update(key=value): stores under 'key'
            for name, expr in call.kwargs:
                if expr is not None:
                    self.item_stores.append((scope, container, "item", f"'{name}'", expr))

    def signature(self, fid: str, bound: bool) -> tuple | None:
        """How a call of function ``fid`` maps arguments (``bound``: its first parameter takes the
        receiver): (receiver parameter or None, positional parameters, ``*args`` name or None,
        ``**kwargs`` name or None, names a keyword argument binds); None when not a function."""
        key = (fid, bound)
        found = self._signatures.get(key, False)
        if found is not False:
            return found
        fscope = self.scopes.get(fid)
        if fscope is None or fscope.kind not in ("function", "lambda"):
            found = None
        else:
            params = fscope.params
            kinds = fscope.param_kinds if len(fscope.param_kinds) == len(params) else "p" * len(params)
            first = None
            if bound and params:
                first, params, kinds = params[0], params[1:], kinds[1:]
            pairs = list(zip(params, kinds))
            kind_of: dict[str, str] = {}
            for name, kind in pairs:
                kind_of.setdefault(name, kind)
            found = (first, [name for name, kind in pairs if kind == "p"],
                     next((name for name, kind in pairs if kind == "v"), None),
                     next((name for name, kind in pairs if kind == "w"), None),
                     frozenset(name for name, kind in kind_of.items() if kind in "pk"))
        self._signatures[key] = found
        return found

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
