"""The per-file stage in worker processes: same graph as in-process, clear failure, cache reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrepo.discover import SourceFile, discover_files
from astrepo.graph import perfile
from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.dump import dump_graph
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout

pytestmark = pytest.mark.integration


def many_modules(root: Path, count: int) -> Path:
    """A package of ``count`` modules calling each other (more than MIN_FILES_FOR_POOL)."""
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .m0 import f0\n")
    for i in range(count):
        body = [f"from .m{(i + 1) % count} import f{(i + 1) % count}\n" if i + 1 < count else "",
                f"\n\nclass C{i}(Exception):\n    def run(self, x):\n        return x[0]\n",
                f"\n\ndef f{i}(n):\n    if n:\n        raise C{i}()\n"]
        if i + 1 < count:
            body.append(f"    return f{i + 1}(n - 1) + " + "1" * (i % 7 + 1) + "\n")
        (pkg / f"m{i}.py").write_text("".join(body))
    return root


def dump(db_dir: Path) -> list[str]:
    db = GraphStore(Layout(db_dir)).open_read()
    try:
        return dump_graph(db)
    finally:
        db.close()


def test_workers_give_the_graph_of_one_process(tmp_path: Path) -> None:
    root = many_modules(tmp_path / "src", perfile.MIN_FILES_FOR_POOL + 12)
    pooled = build_index(IndexConfig(root=root, db_dir=tmp_path / "pooled", jobs=2))
    alone = build_index(IndexConfig(root=root, db_dir=tmp_path / "alone", jobs=1))
    assert pooled.files == alone.files == perfile.MIN_FILES_FOR_POOL + 13
    assert pooled.edge_counts["CALLS"] > 0 and pooled.edge_counts.get("MAY_RAISE", 0) > 0
    assert dump(tmp_path / "pooled") == dump(tmp_path / "alone")
    # A second full run takes every file's facts and analysis from the per-file cache: same graph.
    again = build_index(IndexConfig(root=root, db_dir=tmp_path / "pooled", jobs=2, rebuild=True))
    assert again.nodes == pooled.nodes
    assert dump(tmp_path / "pooled") == dump(tmp_path / "alone")


def test_trees_not_kept_are_parsed_again(tmp_path: Path, monkeypatch) -> None:
    root = many_modules(tmp_path / "src", perfile.MIN_FILES_FOR_POOL + 2)
    alone = build_index(IndexConfig(root=root, db_dir=tmp_path / "alone", jobs=1))
    monkeypatch.setattr(perfile, "HELD_SOURCE_BYTES", 0)  # the forked workers keep no tree
    pooled = build_index(IndexConfig(root=root, db_dir=tmp_path / "pooled", jobs=2))
    assert pooled.nodes == alone.nodes
    assert dump(tmp_path / "pooled") == dump(tmp_path / "alone")


def test_a_failing_worker_fails_the_run_and_keeps_the_graph(tmp_path: Path, monkeypatch) -> None:
    root = many_modules(tmp_path / "src", perfile.MIN_FILES_FOR_POOL + 4)
    db_dir = tmp_path / "db"
    build_index(IndexConfig(root=root, db_dir=db_dir, jobs=2))
    before = dump(db_dir)

    def broken(self, batch):  # runs in the forked workers, which inherit the patch
        raise ValueError("analysis exploded")

    monkeypatch.setattr(perfile._Worker, "rows", broken)
    with pytest.raises(RuntimeError, match="analysis exploded"):
        build_index(IndexConfig(root=root, db_dir=db_dir, jobs=2, rebuild=True))
    assert dump(db_dir) == before


def test_deal_balances_bytes_and_keeps_every_file(tmp_path: Path) -> None:
    for i, size in enumerate([900, 500, 400, 300, 200, 100, 100, 50]):
        (tmp_path / f"m{i}.py").write_text("x = 1\n" * size)
    files: list[SourceFile] = discover_files(tmp_path)
    shares = perfile.deal(files, 2)
    dealt = [f.path for share in shares for batch in share for f in batch]
    assert sorted(dealt) == sorted(f.path for f in files)
    loads = [sum(Path(f.abspath).stat().st_size for batch in share for f in batch) for share in shares]
    assert abs(loads[0] - loads[1]) <= max(loads) * 0.25



@pytest.mark.parametrize("step", ["resolve_modules", "analyze_modules"])
def test_an_interrupted_run_drops_the_generation_it_began(tmp_path: Path, monkeypatch, step: str) -> None:
    """While names are resolved, a thread waits for the workers' rows to begin the new generation
    (resolve_modules: the workers are still running); during the project-wide analyses it is loading
    or has loaded them (analyze_modules). Either way an interrupt leaves the old graph alone."""
    from astrepo.graph import build

    root = many_modules(tmp_path / "src", perfile.MIN_FILES_FOR_POOL + 4)
    db_dir = tmp_path / "db"
    build_index(IndexConfig(root=root, db_dir=db_dir, jobs=2))
    before = dump(db_dir)
    generations = sorted(p.name for p in Layout(db_dir).graph_dir.iterdir())

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_index(IndexConfig(root=root, db_dir=db_dir, jobs=2, rebuild=True))
    assert sorted(p.name for p in Layout(db_dir).graph_dir.iterdir()) == generations
    assert dump(db_dir) == before
