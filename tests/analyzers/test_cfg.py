"""CFG: compact edge notation per construct, plus golden dumps.

Notation (like coverage.py's arcz): one token per edge, ``src-dst`` plus a
label letter; nodes are named by their statement's first line, ``.`` is the
scope's entry and ``$`` its exit. Letters: none = next, t = true, f = false,
l = loop, b = break, c = continue, r = return, x = exception, y = finally.
Only the edges of the innermost function named ``f`` (or of the module body
when there is none) are compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.analyzers.cfg import LABELS, build_cfg, cfg_entry_id, cfg_exit_id, synthetic_nodes

GOLDEN = Path(__file__).parent.parent / "golden" / "cfg"
LETTER = {"next": "", "true": "t", "false": "f", "loop": "l", "break": "b", "continue": "c",
          "return": "r", "exception": "x", "finally": "y"}


def arcs(analyze, source: str, scope_name: str = "f") -> set[str]:
    tree, facts, index = analyze(source)
    scopes = {s.qualname.rsplit(".", 1)[-1]: s.id for s in facts.scopes}
    scope = scopes.get(scope_name, facts.module_id)
    lines = {info.id: str(info.line) for info in index.stmts}
    lines[cfg_entry_id(facts.path, scope)] = "."
    lines[cfg_exit_id(facts.path, scope)] = "$"
    return {f"{lines[e.src]}-{lines[e.dst]}{LETTER[e.label]}" for e in build_cfg(tree, facts, index) if e.scope == scope}


CASES = {
    "sequence": ("""\
        def f(a):
            x = a
            return x
        """, ".-2 2-3 3-$r"),
    "if_elif_else": ("""\
        def f(a):
            if a:
                b = 1
            elif a > 1:
                b = 2
            else:
                b = 3
            return b
        """, ".-2 2-3t 2-4f 4-5t 4-7f 3-8 5-8 7-8 8-$r"),
    "if_without_else": ("""\
        def f(a):
            if a:
                a = 1
            pass
        """, ".-2 2-3t 2-4f 3-4 4-$"),
    "while_else_break_continue": ("""\
        def f(a):
            while a:
                if a > 3:
                    break
                if a > 2:
                    continue
                a -= 1
            else:
                a = 0
            return a
        """, ".-2 2-3t 3-4t 3-5f 4-10b 5-6t 5-7f 6-2c 7-2l 2-9f 9-10 10-$r"),
    "while_true": ("""\
        def f():
            while True:
                if g():
                    return 1
        """, ".-2 2-3t 3-4t 3-2l 4-$r"),
    "for_else": ("""\
        def f(xs):
            for x in xs:
                g(x)
            else:
                h()
        """, ".-2 2-3t 3-2l 2-5f 5-$"),
    "try_except_else_finally": ("""\
        def f():
            try:
                a = g()
            except KeyError as e:
                a = 1
            except ValueError:
                raise
            else:
                a = 2
            finally:
                h()
            return a
        """, ".-2 2-3 3-4x 3-9 4-5t 4-6f 5-11y 5-11 6-7t 6-11y 7-11y 9-11y 9-11 11-12 11-$x 12-$r"),
    "bare_except_catches_all": ("""\
        def f():
            try:
                g()
            except:
                pass
        """, ".-2 2-3 3-4x 4-5t 3-$ 5-$"),
    "return_through_finally": ("""\
        def f():
            try:
                return g()
            finally:
                h()
        """, ".-2 2-3 3-5y 5-$r 5-$x"),
    "return_inside_finally_swallows": ("""\
        def f():
            try:
                g()
            finally:
                return 1
        """, ".-2 2-3 3-5y 3-5 5-$r"),
    "break_through_finally": ("""\
        def f(xs):
            for x in xs:
                try:
                    break
                finally:
                    h()
        """, ".-2 2-3t 3-4 4-6y 6-$b 2-$f"),
    "raise_outside_try": ("""\
        def f(a):
            if a:
                raise ValueError(a)
            return a
        """, ".-2 2-3t 2-4f 3-$x 4-$r"),
    "raise_from": ("""\
        def f(a):
            try:
                a()
            except KeyError as e:
                raise ValueError() from e
        """, ".-2 2-3 3-4x 4-5t 4-$x 5-$x 3-$"),
    "with_and_async_with": ("""\
        async def f(a):
            with a as b:
                g(b)
            async with a:
                h()
        """, ".-2 2-3 3-4 4-5 4-$x 5-$"),
    "generator_and_await": ("""\
        async def f(a):
            x = 1
            await a
            yield x
        """, ".-2 2-3 3-4 3-$x 4-$x 4-$"),
    "match": ("""\
        def f(p):
            match p:
                case 1:
                    return 1
                case [x, *_] if x:
                    return 2
                case _:
                    pass
        """, ".-2 2-3 3-4t 3-5f 5-6t 5-7f 7-8t 4-$r 6-$r 8-$"),
    "assert": ("""\
        def f(a):
            assert a
            return a
        """, ".-2 2-3 2-$x 3-$r"),
    "nested_def_is_one_statement": ("""\
        def f():
            def g():
                return 1
            return g
        """, ".-2 2-4 4-$r"),
    "decorated_nested_def_is_one_statement": ("""\
        def f():
            @staticmethod
            def g():
                return 1
            x = g
            return x
        """, ".-3 3-5 5-6 6-$r"),
    "module_body": ("""\
        import os
        if __name__ == "__main__":
            os.exit(0)
        """, ".-1 1-2 2-3t 2-$f 3-$"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cfg_edges(name: str, analyze) -> None:
    source, expected = CASES[name]
    scope = "f" if "def f" in source else "<module>"
    got = arcs(analyze, source, scope)
    want = set(expected.split())
    assert sorted(want - got) == [] and sorted(got - want) == [], f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"


def test_labels_are_known_and_edges_unique(analyze) -> None:
    source = (GOLDEN / "case_constructs.py").read_text()
    tree, facts, index = analyze(source, dedent=False)
    edges = build_cfg(tree, facts, index)
    assert {e.label for e in edges} <= set(LABELS)
    assert len(edges) == len(set(edges))
    # every scope's entry has one successor
    entries = {n.id for n in synthetic_nodes(index) if n.kind == "entry"}
    out_of_entry = [e.src for e in edges if e.src in entries]
    assert sorted(out_of_entry) == sorted(set(out_of_entry))


def dump_cfg(analyze, node_labels, source: str) -> str:
    tree, facts, index = analyze(source, dedent=False)
    labels = node_labels(facts, index)
    for n in synthetic_nodes(index):
        labels[n.id] = n.kind
    scope_names = {s.id: s.qualname for s in facts.scopes}
    rows = sorted((scope_names[e.scope], labels[e.src], labels[e.dst], e.label) for e in build_cfg(tree, facts, index))
    return "".join(f"{scope} | {src} -> {dst} [{label}]\n" for scope, src, dst, label in rows)


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("case_*.py")))
def test_golden(case: str, golden, analyze, labels) -> None:
    path = GOLDEN / case
    golden(path.with_suffix(".cfg.txt"), dump_cfg(analyze, labels, path.read_text()))
