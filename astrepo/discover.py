"""Finding the Python files of a project, and naming their modules.

Walks the tree below the root without following symlinks out of it or into
loops, honours ``.gitignore`` files (nested ones too), and skips what is
never the project's own source: VCS folders, our own ``.astrepo``, virtual
environments (any folder holding ``pyvenv.cfg``), caches, ``node_modules``
and build output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

#: Folder names that are never walked into.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".astrepo", "__pycache__", "node_modules",
    "build", "dist", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".eggs", "site-packages",
})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A discovered file."""

    path: str  #: POSIX path relative to the root
    abspath: str  #: absolute path to read it from
    module: str  #: dotted module name


def module_name_for(relpath: str, src_roots: frozenset[str] = frozenset(), prefix: str = "") -> str:
    """Dotted module name of a repo-relative path (``pkg/__init__.py`` -> ``pkg``).

    A leading folder in ``src_roots`` (a ``src/`` layout) is not part of the
    name; ``prefix`` is the package the root itself belongs to, if any.
    """
    parts = relpath.split("/")
    if len(parts) > 1 and parts[0] in src_roots:
        parts = parts[1:]
    if prefix:
        parts = prefix.split(".") + parts
    last = parts[-1]
    stem = last[:-3] if last.endswith(".py") else last
    if stem == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    else:
        parts[-1] = stem
    return ".".join(parts)


def _gitignore_spec(directory: str) -> pathspec.PathSpec | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def _compile_globs(globs: tuple[str, ...]) -> pathspec.PathSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(globs) if globs else None


def discover_files(
    root: str | Path,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> list[SourceFile]:
    """List the project's ``*.py`` files below ``root``, sorted by path.

    Args:
        root: the project root.
        include: gitignore-style globs; when given, only matching files are kept.
        exclude: gitignore-style globs of files or folders to leave out.
    """
    root_real = os.path.realpath(root)
    include_spec = _compile_globs(include)
    exclude_spec = _compile_globs(exclude)
    src_roots = frozenset(
        name for name in ("src", "lib")
        if os.path.isdir(os.path.join(root_real, name))
        and not os.path.exists(os.path.join(root_real, name, "__init__.py"))
    )
    prefix = root_package(root_real)
    found: list[SourceFile] = []
    seen_real: set[str] = set()
    visited_dirs: set[str] = {root_real}
    # (real directory, its path relative to the root, gitignore specs in force)
    stack: list[tuple[str, str, tuple[tuple[str, pathspec.PathSpec], ...]]] = [(root_real, "", ())]
    while stack:
        directory, rel_dir, specs = stack.pop()
        spec = _gitignore_spec(directory)
        if spec is not None:
            specs = specs + ((rel_dir, spec),)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if _ignored(rel + "/", specs) or (exclude_spec and exclude_spec.match_file(rel + "/")):
                    continue
                real = os.path.realpath(entry.path) if is_link else os.path.join(directory, entry.name)
                if is_link and not _inside(real, root_real):
                    continue
                if real in visited_dirs:
                    continue
                if os.path.exists(os.path.join(real, "pyvenv.cfg")):
                    continue
                visited_dirs.add(real)
                stack.append((real, rel, specs))
            elif is_file and entry.name.endswith(".py"):
                if _ignored(rel, specs):
                    continue
                if exclude_spec and exclude_spec.match_file(rel):
                    continue
                if include_spec and not include_spec.match_file(rel):
                    continue
                real = os.path.realpath(entry.path) if is_link else os.path.join(directory, entry.name)
                if is_link and not _inside(real, root_real):
                    continue
                if real in seen_real:
                    continue
                seen_real.add(real)
                found.append(SourceFile(rel, real, module_name_for(rel, src_roots, prefix)))
    found.sort(key=lambda f: f.path)
    return found


def root_package(root: str) -> str:
    """Dotted package name of the root folder when it is itself a package, else ""."""
    names: list[str] = []
    directory = root
    while os.path.exists(os.path.join(directory, "__init__.py")):
        names.append(os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(reversed(names))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _ignored(rel: str, specs: tuple[tuple[str, pathspec.PathSpec], ...]) -> bool:
    ignored = False
    for base, spec in specs:
        if base:
            if not rel.startswith(base + "/"):
                continue
            sub = rel[len(base) + 1:]
        else:
            sub = rel
        result = spec.check_file(sub)
        if result.include is not None:
            ignored = bool(result.include)
    return ignored
