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
