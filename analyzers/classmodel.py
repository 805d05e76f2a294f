"""Classes in the points-to resolution: bases, MRO, members, attributes, dunders and metaclasses.

A class's members are looked up along its C3 method resolution order over its project bases; an
attribute of a class or instance adds the fields assigned in its methods and the values stored
from outside (``obj.attr = v``), reads properties and descriptors (``__get__``), binds methods to
their instance; ``super()`` continues along the receiver's MRO. `ClassModel` is mixed into
`astrepo.analyzers.pointsto.Resolver`, whose memo and `values` it uses.
"""

from __future__ import annotations

from astrepo.analyzers.containers import SEQUENCE_TYPES
from astrepo.analyzers.targets import EMPTY, Target, Vals, make_target, order_key, ordered, value_set
from astrepo.model import BindingKind, ScopeFacts

#: Operators that give a builtin sequence of the type of their left operand.
_SAME_TYPE_OPERATORS = frozenset(("__add__", "__mul__", "__mod__"))


class ClassModel:
    """Class hierarchies and attributes (a mixin of `Resolver`)."""

    def is_class(self, node_id) -> bool:
        return node_id.__class__ is str and node_id in self.p.class_ids

    def enclosing_method(self, scope: ScopeFacts) -> ScopeFacts | None:
        s: ScopeFacts | None = scope
        while s is not None:
            parent = self.p.scopes.get(s.parent) if s.parent else None
            if s.kind == "function" and parent is not None and parent.kind == "class":
                return s
            s = parent
        return None

    def enclosing_class(self, scope: ScopeFacts) -> ScopeFacts | None:
        method = self.enclosing_method(scope)
        return self.p.scopes.get(method.parent) if method is not None and method.parent else None

    def bases(self, cls: ScopeFacts) -> list[Target | str]:
        """Each base class expression resolved to one target (the first value), or the reason."""
        result = self._memoized(("bases", cls.id), lambda: self._bases(cls), [])
        return result if isinstance(result, list) else []

    def _bases(self, cls: ScopeFacts) -> list[Target | str]:
        parent = self.p.scopes.get(cls.parent) if cls.parent else None
        if parent is None:
            return []
        out: list[Target | str] = []
        for base in cls.bases:
            vals, why = self.dotted(base, parent)
            defs = sorted((v if v.kind != "member" else make_target(("external", v.value, v.how))
                           for v in vals if v.kind in ("def", "external", "member")), key=order_key)
            out.append(defs[0] if defs else (why or f"base {base!r} not understood"))
        return out

    def mro(self, class_id: str) -> list[str]:
        """C3 linearization of a project class (its project bases only), as node IDs."""
        # a cyclic hierarchy (invalid Python) starts from the class alone
        return self._memoized(("mro", class_id), lambda: self._mro(class_id), [class_id])

    def _mro(self, class_id: str) -> list[str]:
        cls = self.p.scopes.get(class_id)
        bases = [b.value for b in self.bases(cls) if isinstance(b, Target) and b.kind == "def"
                 and self.is_class(b.value)] if cls is not None else []
        return [class_id] + _c3([self.mro(b) for b in bases] + [bases])

    def is_metaclass(self, class_id: str) -> bool:
        """Whether a project class derives from ``type``."""
        return self.external_base(class_id) == "<builtin>.type"

    def metaclass_methods(self, class_id: str, name: str) -> list[Target]:
        """The project methods ``name`` of the metaclass of a class (declared on it or on a base),
        as def targets: ``__call__`` runs when the class is called, ``__init__`` / ``__new__``
        when its class statement runs."""
        if not self.p.metaclass:
            return []
        return self._memoized(("metaclass", class_id, name), lambda: ordered(self._metaclass_methods(class_id, name)), [])

    def _metaclass_methods(self, class_id: str, name: str) -> set[Target]:
        out: set = set()
        for cid in self.mro(class_id):
            expr = self.p.metaclass.get(cid)
            cls = self.p.scopes.get(cid)
            outer = self.p.scopes.get(cls.parent) if cls is not None and cls.parent else None
            if expr is None or outer is None:
                continue
            for m in ordered(self.values(expr, outer)[0]):
                if m.kind == "def" and self.is_class(m.value):
                    out.update(v for v in self.class_member(m.value, name)[0]
                               if v.kind == "def" and not self.is_class(v.value))
            break
        return out

    def external_base(self, class_id: str) -> str:
        return self._memoized(("external base", class_id), lambda: self._external_base(class_id))

    def _external_base(self, class_id: str) -> str:
        for cid in self.mro(class_id):
            cls = self.p.scopes.get(cid)
            if cls is None:
                continue
            for base in self.bases(cls):
                if isinstance(base, Target) and base.kind == "external":
                    return base.value
        return ""

    def class_member(self, class_id: str, attr: str) -> Vals:
        """`member_in` the MRO of a project class (memoized)."""
        return self._memoized(("member", class_id, attr),
                           lambda: self.member_in(self.mro(class_id), attr))

    def member_in(self, mro: list[str], attr: str) -> Vals:
        for cid in mro:
            cls = self.p.scopes.get(cid)
            if cls is None:
                continue
            binding = cls.bindings.get(attr)
            if binding is not None:
                if binding.kind is BindingKind.DEF:
                    return self.binding_target(attr, binding, cls)
                return self.name_values(attr, binding, cls)
        return (EMPTY, f"class has no attribute {attr!r}")

    def class_attribute(self, class_id: str, attr: str, instance: Target | None) -> Vals:
        """``attr`` on a class (instance None) or an instance of it: members along the MRO and fields."""
        return self._memoized(("attribute", class_id, attr, instance is None),
                           lambda: self._class_attribute(class_id, attr, instance))

    def _class_attribute(self, class_id: str, attr: str, instance: Target | None) -> Vals:
        mro = self.mro(class_id)
        member = self.class_member(class_id, attr)
        out: set = set()
        descriptor = attr in self.p.descriptor_names
        for v in ordered(member[0]):
            if descriptor and v.kind == "instance":
                getters = self.protocol_methods(v, "__get__")
                if getters:  # reading a descriptor gives what its __get__ returns
                    out.update(self._union([self.callee_results(g) for g in getters])[0])
                    continue
            if instance is not None:
                fscope = self.p.scopes.get(v.value) if v.kind == "def" else None
                if fscope is not None and fscope.kind == "function" and "property" in fscope.decorators:
                    out.update(self.returns_of(v.value))
                    continue
                out.add(self.bind_method(v, instance, v.how))
            else:
                out.add(v)
        for cid in mro:
            for scope, expr in self.p.fields.get(cid, {}).get(attr, ()):
                out.update(self.values(expr, scope)[0])
        if attr in self.p.attr_stores:
            for v in ordered(self.stored_attribute(class_id, attr)):
                getters = self.protocol_methods(v, "__get__") if descriptor and v.kind == "instance" else ()
                if getters:
                    out.update(self._union([self.callee_results(g) for g in getters])[0])
                else:
                    out.add(v)
        if not out:
            ext = self.external_base(class_id)
            if ext:
                if ext.startswith("<builtin>."):
                    return self.external_attribute(ext, attr, "external")
                return value_set([make_target(("member", f"{ext}.{attr}", "external"))])
        return value_set(out, member[1] or f"class has no attribute {attr!r}")

    def stored_attribute(self, class_id: str, attr: str) -> frozenset:
        """What ``obj.attr = value`` statements (other than ``self.attr = ...`` in its methods) store
        where obj is the class, one of its bases, or an instance of one of them (memoized)."""
        def compute() -> dict:
            by_class: dict = {}
            for scope, head, expr in self.p.attr_stores[attr]:
                classes = {h.value for h in self.values(("n", head), scope)[0]
                           if h.kind in ("def", "instance") and h.value.__class__ is str}
                if classes:
                    vals = self.values(expr, scope)[0]
                    for cid in sorted(classes):
                        by_class.setdefault(cid, set()).update(vals)
            return by_class

        by_class = self._memoized(("stored", attr), compute, {})
        if by_class.__class__ is not dict:  # cut short (recursive)
            return EMPTY
        out: set = set()
        for cid in self.mro(class_id):
            found = by_class.get(cid)
            if found:
                out.update(found)
        return frozenset(out)

    def bind_method(self, v: Target, instance: Target, how: str) -> Target:
        """A method looked up on an instance becomes a bound method (its self is the instance)."""
        if v.kind == "def":
            fscope = self.p.scopes.get(v.value)
            if fscope is not None and fscope.kind == "function" and "staticmethod" not in fscope.decorators:
                parent = self.p.scopes.get(fscope.parent) if fscope.parent else None
                if parent is not None and parent.kind == "class":
                    return make_target(("bound", (v.value, instance.value), how))
        return make_target((v.kind, v.value, how))

    def super_member(self, parts: list[str], scope: ScopeFacts) -> Vals:
        cls = self.enclosing_class(scope)
        if cls is None:
            return (EMPTY, "super() outside a method")
        if len(parts) < 2:
            return (EMPTY, "bare super()")
        # The MRO of the receiver's class after ``cls`` (diamonds), else of ``cls``.
        method = self.enclosing_method(scope)
        receivers = [cls.id]
        if method is not None and method.params:
            inflow = self.inflow_of(method.id, method.params[0])
            receivers = sorted({v.value for v in inflow if v.kind == "instance"}) or receivers
        out: set = set()
        for rid in receivers:
            mro = self.mro(rid)
            if cls.id not in mro:
                mro = self.mro(cls.id)
            after = mro[mro.index(cls.id) + 1:]
            member = self.member_in(after, parts[1])
            for v in ordered(member[0]):
                out.add(self.bind_method(v, make_target(("instance", rid, "super")), "super"))
            if not member[0]:
                ext = self.external_base(cls.id)
                if ext:
                    out.add(make_target(("external", f"{ext}.{parts[1]}", "super")))
                if ext == "<builtin>.type" and parts[1] == "__call__" and method is not None and method.params:
                    # type.__call__(cls) in a metaclass's __call__ makes the instance: cls's __init__ runs
                    for v in ordered(self.inflow_of(method.id, method.params[0])):
                        if v.kind == "def" and self.is_class(v.value):
                            instance = make_target(("instance", v.value, "super"))
                            out.update(self.bind_method(m, instance, "super")
                                       for m in self.class_member(v.value, "__init__")[0])
        return value_set(out, f"super().{parts[1]} not found in the bases of {cls.qualname}")

    def protocol_methods(self, target: Target, dunder: str) -> list[Target]:
        """The methods a dunder resolves to on an instance (bound), [] when none is defined."""
        if target.kind != "instance" or not self.is_class(target.value):
            return []
        # bind_method reads only the instance's class: one answer per class and dunder
        return self._memoized(("protocol", target.value, dunder), lambda: [
            self.bind_method(v, target, "implicit") for v in ordered(self.class_member(target.value, dunder)[0])], [])

    def protocol_results(self, target: Target, dunder: str) -> Vals:
        if dunder in _SAME_TYPE_OPERATORS and (target.kind == "seq" or (
                target.kind == "external" and target.value in SEQUENCE_TYPES)):
            return value_set([target])  # ``b"<" + raw``, ``"%s" % x``, ``[f] * 2``: the same type (with its items)
        return self._union([self.callee_results(m) for m in self.protocol_methods(target, dunder)])


def _c3(seqs: list[list[str]]) -> list[str]:
    """Merge step of the C3 linearization; falls back to depth-first order on inconsistent hierarchies."""
    seqs = [list(s) for s in seqs if s]
    out: list[str] = []
    while seqs:
        for seq in seqs:
            head = seq[0]
            if not any(head in s[1:] for s in seqs):
                break
        else:  # inconsistent: take the first head anyway
            head = seqs[0][0]
        out.append(head)
        seqs = [[c for c in s if c != head] for s in seqs]
        seqs = [s for s in seqs if s]
    return out
