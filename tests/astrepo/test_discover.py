"""File discovery: ignores, virtual environments, symlinks, globs, module names."""

from __future__ import annotations

import os
from pathlib import Path

from astrepo.discover import discover_files, module_name_for


def make(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def paths(root: Path, **kw) -> list[str]:
    return [f.path for f in discover_files(root, **kw)]


def test_skips_vcs_caches_venvs_build_and_gitignored(tmp_path: Path) -> None:
    make(tmp_path, ["pkg/__init__.py", "pkg/a.py", ".git/hooks/x.py", "pkg/__pycache__/a.py",
                    "env/lib/site.py", "node_modules/m/x.py", "build/lib/pkg/a.py", "dist/x.py",
                    "gen/out.py", "pkg/keep.py", "pkg/secret_gen.py", ".astrepo/x.py"])
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("gen/\n*_gen.py\n")
    assert paths(tmp_path) == ["pkg/__init__.py", "pkg/a.py", "pkg/keep.py"]


def test_nested_gitignore_and_negation(tmp_path: Path) -> None:
    make(tmp_path, ["a/x.py", "a/y.py", "a/z.py"])
    (tmp_path / "a" / ".gitignore").write_text("*.py\n!y.py\n")
    assert paths(tmp_path) == ["a/y.py"]


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    make(tmp_path, ["src/app/a.py", "src/app/b.py", "tests/test_a.py"])
    assert paths(tmp_path, exclude=("tests/",)) == ["src/app/a.py", "src/app/b.py"]
    assert paths(tmp_path, include=("**/b.py",)) == ["src/app/b.py"]


def test_symlinks_never_leave_the_root_or_loop(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    make(root, ["pkg/a.py"])
    make(outside, ["evil.py"])
    os.symlink(outside, root / "pkg" / "link_out")
    os.symlink(root / "pkg", root / "pkg" / "loop")
    os.symlink(outside / "evil.py", root / "evil_link.py")
    assert paths(root) == ["pkg/a.py"]


def test_module_names() -> None:
    assert module_name_for("pkg/mod.py") == "pkg.mod"
    assert module_name_for("pkg/__init__.py") == "pkg"
    assert module_name_for("src/pkg/mod.py", frozenset({"src"})) == "pkg.mod"
    assert module_name_for("mod.py", prefix="json") == "json.mod"
    assert module_name_for("__init__.py", prefix="json") == "json"


def test_root_that_is_a_package_names_its_modules(tmp_path: Path) -> None:
    make(tmp_path, ["json/__init__.py", "json/decoder.py"])
    assert [f.module for f in discover_files(tmp_path / "json")] == ["json", "json.decoder"]
