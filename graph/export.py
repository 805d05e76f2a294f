"""Exporting the call graph in other tools' formats (PyCG's JSON for now).

PyCG's conventions: every module and function of the project is a key
(module-level code under the module's dotted name), mapping to the sorted
list of what it calls; instantiating a class is an edge to ``Cls.__init__``
when the class or one of its project bases defines one, else to an external
base's (``ext.Base.__init__``, builtins excepted), else no edge; calls in a
class body belong to the enclosing function or module; builtins are
``<builtin>.name`` and external names are as imported.
"""

from __future__ import annotations

from collections import defaultdict

from astrepo.graph.db import GraphDB


def pycg_callgraph(db: GraphDB) -> dict[str, list[str]]:
    """The project's call graph as PyCG prints it: caller -> sorted callees."""
    _, functions = db.execute("MATCH (f:Function) RETURN f.id, f.name, f.scope")
    _, modules = db.execute("MATCH (m:Module) RETURN m.id, m.name")
    _, classes = db.execute("MATCH (c:Class) RETURN c.id, c.name, c.scope")
    names = {i: n for i, n, _ in functions} | {i: n for i, n in modules} | {i: n for i, n, _ in classes}
    class_scope = {i: s for i, _, s in classes}

    def owner(node_id: str) -> str:
        """Class bodies run in their enclosing function or module."""
        seen = 0
        while node_id in class_scope and seen < 64:
            node_id, seen = class_scope[node_id], seen + 1
        return node_id

    _, inits = db.execute("MATCH (c:Class)-[:DEFINES]->(f:Function) WHERE f.short_name = '__init__' RETURN c.id, f.name")
    init_of = {c: n for c, n in inits}
    _, bases = db.execute("MATCH (c:Class)-[r:INHERITS]->(b:Class) RETURN c.id, b.id, r.position")
    _, external_bases = db.execute("MATCH (c:Class)-[r:INHERITS]->(b:External) RETURN c.id, b.name, r.position")
    bases_of: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    for c, b, position in bases:
        bases_of[c].append((position, b, False))
    for c, name, position in external_bases:
        bases_of[c].append((position, name, True))
    for entries in bases_of.values():
        entries.sort()

    def constructor(class_id: str) -> str | None:
        """The ``__init__`` instantiating a class runs: the first along its bases (breadth first);
        an external base's own (``ext.Base.__init__``) when no project class before it has one."""
        queue, seen = [(class_id, False)], set()
        while queue:
            cid, external = queue.pop(0)
            if external:
                if not cid.startswith("<builtin>."):
                    return f"{cid}.__init__"
                continue
            if cid in seen:
                continue
            seen.add(cid)
            if cid in init_of:
                return init_of[cid]
            queue.extend((base, ext) for _, base, ext in bases_of.get(cid, ()))
        return None

    graph: dict[str, set[str]] = {names[i]: set() for i, _, _ in functions}
    graph.update({n: set() for _, n in modules})
    _, edges = db.execute(
        "MATCH (a:Function:Module:Class)-[r:CALLS]->(b) RETURN a.id, b.id, label(b), b.name")
    for src, dst, label, dst_name in edges:
        caller = names.get(owner(src))
        if caller is None:
            continue
        if label == "External":
            if dst_name in _PYCG_SKIPPED:
                continue
            target = pycg_external_name(dst_name)
        elif label == "Class":
            target = constructor(dst)
            if target is None:
                continue
        else:
            target = dst_name
        graph.setdefault(caller, set()).add(target)
        graph.setdefault(target, set())
    return {k: sorted(v) for k, v in sorted(graph.items())}


#: Builtins PyCG does not list as callees: ``super()`` only builds a proxy.
_PYCG_SKIPPED = frozenset(("<builtin>.super",))

#: PyCG's names for builtin types' methods.
_PYCG_TYPES = {"str": "PyStr", "bytes": "PyBytes", "list": "PyList", "dict": "PyDict", "set": "PySet",
               "tuple": "PyTuple", "int": "PyInt", "float": "PyFloat", "frozenset": "PyFrozenSet"}


def pycg_external_name(name: str) -> str:
    """``<builtin>.str.join`` -> ``<**PyStr**>.join``; other names unchanged."""
    if name.startswith("<builtin>."):
        parts = name.split(".")
        if len(parts) == 3 and parts[1] in _PYCG_TYPES:
            return f"<**{_PYCG_TYPES[parts[1]]}**>.{parts[2]}"
    return name
