"""Cross-file resolution: inline ``# calls:`` annotations and a golden dump."""

from __future__ import annotations

import re
from pathlib import Path


from astrepo.discover import discover_files
from astrepo.facts import facts_for_file
from astrepo.ids import NodeId
from astrepo.model import EdgeKind, NodeKind
from astrepo.parse import SourceParser
from astrepo.analyzers.callgraph import ModuleInputs, resolve_project

PROJECT = Path(__file__).parent.parent / "golden" / "callgraph" / "proj"
ANNOTATION = re.compile(r"#\s*calls:\s*(.+)$")


def resolve(root: Path):
    parser = SourceParser()
    all_facts = [facts_for_file(f, parser) for f in discover_files(root)]
    inputs = [ModuleInputs(f.path, f.module, f.path.endswith("__init__.py"), tuple(f.scopes), tuple(f.calls),
                           tuple(f.imports)) for f in all_facts]
    return all_facts, resolve_project(inputs)


def target_names(all_facts, resolution) -> dict[NodeId, str]:
    names = {n.id: n.name for f in all_facts for n in f.nodes}
    names.update({n.id: n.name for n in resolution.externals})
    return names


def test_inline_annotations() -> None:
    all_facts, resolution = resolve(PROJECT)
    names = target_names(all_facts, resolution)
    calls_at: dict[tuple[str, int], set[str]] = {}
    sites = {n.id: n for f in all_facts for n in f.nodes if n.kind is NodeKind.CALLSITE}
    for e in resolution.edges:
        if e.kind is EdgeKind.CALLS and e.src_kind is NodeKind.CALLSITE:
            site = sites[e.src]
            calls_at.setdefault((site.file, site.span.start_line), set()).add(names[e.dst])
    missing, unexpected = [], []
    for path in sorted(PROJECT.rglob("*.py")):
        rel = path.relative_to(PROJECT).as_posix()
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = ANNOTATION.search(line)
            if not m:
                continue
            expected = set(m.group(1).split())
            got = calls_at.get((rel, lineno), set())
            missing.extend(f"{rel}:{lineno}: missing {x}" for x in sorted(expected - got))
            unexpected.extend(f"{rel}:{lineno}: unexpected {x}" for x in sorted(got - expected))
    assert not missing, "\n".join(missing)
    assert not unexpected, "\n".join(unexpected)


def test_unresolved_calls_are_counted_with_a_reason() -> None:
    _, resolution = resolve(PROJECT)
    assert resolution.unresolved["undefined name"] == 1  # unknown_thing()


def test_golden(golden) -> None:
    all_facts, resolution = resolve(PROJECT)
    names = target_names(all_facts, resolution)
    lines = sorted(
        f"{e.kind.value} {names.get(e.src, e.src)} -> {names.get(e.dst, e.dst)} {dict(e.attrs)}"
        for e in resolution.edges if not (e.kind is EdgeKind.CALLS and e.src_kind is NodeKind.CALLSITE)
    )
    golden(PROJECT.parent / "proj.callgraph.txt", "\n".join(lines) + "\n")


def resolve_source(tmp_path: Path, source: str):
    (tmp_path / "main.py").write_text(source)
    return resolve_scope_calls(tmp_path)


def resolve_scope_calls(root: Path):
    """The resolution of the project at ``root`` and its scope-level calls, by qualified name."""
    all_facts, resolution = resolve(root)
    names = target_names(all_facts, resolution)
    scope_calls: dict[str, set[str]] = {}
    for e in resolution.edges:
        if e.kind is EdgeKind.CALLS and e.src_kind is not NodeKind.CALLSITE:
            scope_calls.setdefault(names[e.src], set()).add(names[e.dst])
    return resolution, scope_calls


def test_unknown_attributes_of_external_objects_do_not_grow_names(tmp_path: Path) -> None:
    # ``self.conn`` is not defined in the project: an attribute of the external base, of unknown
    # type. It is callable by its name, but ``self.conn.cursor`` names nothing.
    resolution, calls = resolve_source(tmp_path, (
        "import somelib\n\n\n"
        "class Repo(somelib.Base):\n"
        "    def save(self, row):\n"
        "        self.conn.cursor().execute(row)\n"
        "        self.flush()\n"
        "        return self.conn()\n"))
    assert calls["main.Repo.save"] == {"somelib.Base.flush", "somelib.Base.conn"}
    # ``.cursor()`` and the ``.execute()`` on its result
    assert resolution.unresolved["attribute of an external object"] == 2


def test_external_classes_give_instances_named_after_them(tmp_path: Path) -> None:
    _, calls = resolve_source(tmp_path, (
        "from somelib import Client, connect\n\n\n"
        "def use(c: Client):\n"
        "    c.close()\n\n\n"
        "def main():\n"
        "    Client().send()\n"
        "    connect().send()\n"))
    assert calls["main.use"] == {"somelib.Client.close"}
    # a lowercase callable's result is unknown: no ``somelib.connect.send``
    assert calls["main.main"] == {"somelib.Client", "somelib.Client.send", "somelib.connect"}


def test_attributes_of_builtins_are_checked(tmp_path: Path) -> None:
    _, calls = resolve_source(tmp_path, (
        "def f(v):\n"
        "    return v.decode(), v.hex(), v.nothing()\n\n\n"
        "f(b'x')\n"
        "f('y')\n"))
    assert calls["main.f"] == {"<builtin>.bytes.decode", "<builtin>.bytes.hex"}


#: A child process's script: resolves the project in argv[1] into ``r`` (the caller appends what to print).
_RESOLVE_IN_CHILD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from astrepo.discover import discover_files\n"
    "from astrepo.facts import facts_for_file\n"
    "from astrepo.parse import SourceParser\n"
    "from astrepo.analyzers.callgraph import ModuleInputs, resolve_project\n"
    "parser = SourceParser()\n"
    "facts = [facts_for_file(f, parser) for f in discover_files(Path(sys.argv[1]))]\n"
    "r = resolve_project([ModuleInputs(f.path, f.module, f.path.endswith('__init__.py'), tuple(f.scopes),"
    " tuple(f.calls), tuple(f.imports)) for f in facts])\n"
)


def test_result_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = _RESOLVE_IN_CHILD + "print(repr([e.key() for e in r.edges]))\n"
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", script, str(PROJECT)], capture_output=True, text=True,
                              env=env, check=True)
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_result_does_not_depend_on_the_order_of_the_inputs() -> None:
    # An index hands resolution its files in the order of its state; the result must not care.
    all_facts, resolution = resolve(PROJECT)
    inputs = [ModuleInputs(f.path, f.module, f.path.endswith("__init__.py"), tuple(f.scopes), tuple(f.calls),
                           tuple(f.imports)) for f in all_facts]
    again = resolve_project(list(reversed(inputs)))
    assert [e.key() for e in again.edges] == [e.key() for e in resolution.edges]
    assert again.unresolved == resolution.unresolved


#: Values that depend on each other round a cycle, in several ways: mutual recursion, aliases assigned
#: from each other, fields and parameters fed back, a decorator decorated by itself, star imports of each
#: other, callbacks handed round a recursive pair.
_CYCLES = {
    "lib.py": ("from other import *\n\n\n"
               "def f():\n    pass\n\n\ndef g():\n    pass\n\n\ndef h():\n    pass\n\n\n"
               "def a():\n    return b() or f\n\n\ndef b():\n    return c() or g\n\n\n"
               "def c():\n    return a() or b()\n\n\n"
               "x = f\ny = x\nx = y\nx = g\n\n\n"
               "def walk(cb, n):\n    cb()\n    return hop(cb, n) or cb\n\n\n"
               "def hop(cb, n):\n    return walk(cb, n - 1)\n\n\n"
               "class Node:\n    def __init__(self, nxt=None):\n        self.next = nxt or Node(self)\n"
               "        self.fn = self.next.fn if nxt else h\n\n"
               "    def run(self):\n        return self.next.run() or self.fn\n\n\n"
               "def deco(fn):\n    return deco(fn) if fn is None else fn\n\n\n"
               "@deco\ndef decorated():\n    return a()\n"),
    "other.py": "from lib import *\n\n\ndef k():\n    return lib_name()\n\n\nlib_name = k\n",
    "use.py": ("from lib import a, b, c, x, y, walk, Node, decorated, f, g\nfrom other import k\n\n"
               "a()()\nb()()\nc()()\nx()\ny()\nwalk(f, 3)()\nwalk(g, 2)\nNode().run()()\n"
               "decorated()()\nk()\n"),
}


def _permuted(inputs: list[ModuleInputs], rng) -> list[ModuleInputs]:
    """The same inputs in another order: the files, and each file's scopes (the module's first)."""
    return [m._replace(scopes=(m.scopes[0], *rng.sample(m.scopes[1:], len(m.scopes) - 1)))
            for m in rng.sample(inputs, len(inputs))]


def test_result_does_not_depend_on_evaluation_order(tmp_path: Path, monkeypatch) -> None:
    # Call sites resolved in another order (their results kept in theirs, as bench/resolve_bench.py
    # --order-check does), files and scopes permuted: values are first asked for in another order and
    # cycles entered elsewhere; the edges, unresolved reasons and partial flag must stay the same.
    import random

    from astrepo.analyzers import callgraph

    one_round = callgraph._resolve_round
    rng = random.Random(7)
    orders = []  #: per resolution: call sites -> the order to resolve them in

    def reordered_round(project, resolver, calls, items, changed):
        one_round(project, resolver, orders[-1](calls), items, changed)
        found, scope_edges, pending = [], [], []
        keys = [call.id for call, _ in calls]
        for scope in project.scopes.values():
            keys += [("implicit", scope.id), ("decorated", scope.id)]
        for key in keys:
            if key in items:
                f, e, p = items[key][0]
                found += f
                scope_edges += e
                pending += p
        return found, scope_edges, pending

    for name, text in _CYCLES.items():
        (tmp_path / name).write_text(text)
    for root in (PROJECT, tmp_path):
        facts = [facts_for_file(f, SourceParser()) for f in discover_files(root)]
        inputs = [ModuleInputs(f.path, f.module, f.path.endswith("__init__.py"), tuple(f.scopes), tuple(f.calls),
                               tuple(f.imports)) for f in facts]
        expected = resolve_project(inputs)
        monkeypatch.setattr(callgraph, "_resolve_round", reordered_round)
        count = sum(len(m.calls) for m in inputs)
        # every call site resolved first once (small project), else a few shuffles
        firsts = range(count) if root == tmp_path else ()
        orders[:] = [lambda calls, i=i: calls[i:] + calls[:i] for i in firsts]
        orders += [lambda calls: rng.sample(calls, len(calls)) for _ in range(4)]
        for _ in range(len(orders)):
            again = resolve_project(_permuted(inputs, rng))
            orders.pop()
            assert sorted(e.key() for e in again.edges) == sorted(e.key() for e in expected.edges)
            assert (again.unresolved, again.partial) == (expected.unresolved, expected.partial)
        monkeypatch.setattr(callgraph, "_resolve_round", one_round)


def test_signature_maps_arguments_onto_parameters(tmp_path: Path) -> None:
    from astrepo.analyzers.symbols import Project

    (tmp_path / "main.py").write_text(
        "class C:\n"
        "    def m(self, a, b=1, *rest, key, **extra):\n"
        "        pass\n\n\n"
        "def f(x, *, y):\n"
        "    pass\n")
    parser = SourceParser()
    facts = [facts_for_file(f, parser) for f in discover_files(tmp_path)]
    project = Project([ModuleInputs(f.path, f.module, False, tuple(f.scopes), tuple(f.calls), tuple(f.imports))
                       for f in facts])
    ids = {s.qualname: s.id for s in facts[0].scopes}
    assert project.signature(ids["main.C.m"], True) == ("self", ["a", "b"], "rest", "extra",
                                                         frozenset({"a", "b", "key"}))
    assert project.signature(ids["main.C.m"], False) == (None, ["self", "a", "b"], "rest", "extra",
                                                    frozenset({"self", "a", "b", "key"}))
    assert project.signature(ids["main.f"], False) == (None, ["x"], None, None, frozenset({"x", "y"}))
    assert project.signature(ids["main.C"], False) is None  # a class is not called through its signature


def test_mutually_recursive_returns_do_not_depend_on_which_call_is_resolved_first(tmp_path: Path) -> None:
    lib = ("def f():\n    pass\n\n\ndef g():\n    pass\n\n\n"
           "def a():\n    return b() or f\n\n\n"
           "def b():\n    return a() or g\n")
    results = []
    for first, second in (("a", "b"), ("b", "a")):  # the same code, the files' names (their order) swapped
        root = tmp_path / first
        root.mkdir()
        (root / "lib.py").write_text(lib)
        (root / "first.py").write_text(f"from lib import {first}\n\n{first}()()\n")
        (root / "second.py").write_text(f"from lib import {second}\n\n{second}()()\n")
        _, calls = resolve_scope_calls(root)
        results.append({name: calls[module] - {f"lib.{name}"} for module, name in (("first", first),
                                                                                 ("second", second))})
    # a() returns b() or f, b() returns a() or g: both return f or g
    assert results == [{"a": {"lib.f", "lib.g"}, "b": {"lib.f", "lib.g"}}] * 2


def test_builtin_constants_reaching_a_call_are_not_callees(tmp_path: Path) -> None:
    _, calls = resolve_source(tmp_path, "def f(x=NotImplemented, y=len):\n    x()\n    y()\n\n\nf()\n")
    assert calls["main.f"] == {"<builtin>.len"}


def test_attributes_stored_from_outside_and_read_by_getattr(tmp_path: Path) -> None:
    _, calls = resolve_source(tmp_path, (
        "class Shell:\n    pass\n\n\ndef leave():\n    pass\n\n\n"
        "Shell.do_quit = leave\ngetattr(Shell(), 'do_quit', None)()\n"))
    assert "main.leave" in calls["main"]


def test_a_partial_of_itself_is_one_partial_of_the_function(tmp_path: Path) -> None:
    # flow-insensitive, ``out`` holds the function and partials of ``out``: one level, not a cycle that grows
    resolution, calls = resolve_source(tmp_path, (
        "from functools import partial\n\n\ndef out(func, cpl=False):\n    pass\n\n\n"
        "out = partial(out, cpl=True)\nout = partial(out, cpl=False)\nout(len)\n"))
    assert "main.out" in calls["main"]
    assert not resolution.partial


def test_a_decorator_returning_its_argument_gives_each_decorated_class_itself(tmp_path: Path) -> None:
    # ``klass`` holds every class the decorator is applied to (context-insensitive); what a decorated
    # name holds is its own class, not all of them
    _, calls = resolve_source(tmp_path, (
        "def register(klass):\n    klass.registered = True\n    return klass\n\n\n"
        "@register\nclass A:\n    pass\n\n\n@register\nclass B:\n    pass\n\n\n"
        "def make_a():\n    return A()\n\n\ndef make_b():\n    return B()\n"))
    assert calls["main.make_a"] == {"main.A"}
    assert calls["main.make_b"] == {"main.B"}


def test_long_chains_of_values_resolve_without_crashing(tmp_path: Path) -> None:
    """No depth budget: a chain of 30,000 aliases is followed to its end on the resolver's own large
    stack (run in a child: too small a stack is a segmentation fault, as it was when the stack size
    was reset before the resolver's thread started)."""
    import subprocess
    import sys

    lines = ["def f0():\n    return 1\n", "x0 = f0\n"]
    lines += [f"x{i} = x{i - 1}\n" for i in range(1, 30_000)]
    lines += ["x29999()\n"]
    (tmp_path / "deep.py").write_text("".join(lines))
    script = _RESOLVE_IN_CHILD + "print(r.resolved_calls, sum(r.unresolved.values()))\n"
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.split() == ["1", "0"], proc.stdout  # x29999() -> f0


def test_calls_through_parameters_take_a_round_per_level(tmp_path: Path, monkeypatch) -> None:
    # ``f(x)`` resolves once ``call``'s parameters have their inflow (round 2), ``g(...)`` once ``p``'s
    # has (round 3), ``h()`` in round 4. A resolution that runs out of rounds is partial; the last
    # round stops settling its arguments at the first change (the result is the same), and one that
    # settles in its last round is not partial.
    from astrepo.analyzers import callgraph

    source = ("def call(f, x):\n    f(x)\n\n\ndef p(g):\n    g(leaf)\n\n\ndef q(h):\n    h()\n\n\n"
              "def leaf():\n    pass\n\n\ncall(p, q)\n")
    results = {}
    for rounds in (3, 4, 5):
        monkeypatch.setattr(callgraph, "MAX_FLOW_ROUNDS", rounds)
        root = tmp_path / str(rounds)
        root.mkdir()
        resolution, calls = resolve_source(root, source)
        results[rounds] = (resolution.partial, calls.get("main.q", set()), sorted(e.key() for e in resolution.edges))
    assert results[3][:2] == (True, set())
    assert results[4][:2] == (False, {"main.leaf"})
    assert results[4] == results[5]
