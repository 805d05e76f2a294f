"""Fixtures for tests on real Django code: Django 5.1.4's source (from PyPI, cached where the
benchmarks cache it), a sub-package of it indexed with the real CLI, and the `ast` helpers
that compute expected answers independently of astrepo."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]

#: The Django release the tests read (its sdist also carries Django's own tests).
DJANGO = ("django", "5.1.4")

#: What the tests index: small enough to index in a few seconds, real enough to have
#: classes, decorators, exceptions, lambdas and tests calling the code.
DJANGO_SUBSET = (
    "django/__init__.py",
    "django/core/__init__.py",
    "django/core/exceptions.py",
    "django/core/signing.py",
    "django/dispatch",
    "django/utils",
    "tests/signing",
    "tests/dispatch",
    "tests/utils_tests/__init__.py",
    "tests/utils_tests/test_text.py",
)


#: A script in the project root, traced for the runtime questions: django.utils helpers that need
#: no settings, one exception caught at module level, one propagated through two functions.
USE_UTILS = '''\
"""Exercise a few django.utils helpers."""
import time

from django.utils.datastructures import MultiValueDict, MultiValueDictKeyError
from django.utils.hashable import make_hashable


class Unhashable:
    __hash__ = None


def freeze(value):
    return make_hashable(value)


def pause():
    time.sleep(0.05)


data = MultiValueDict({"name": ["Adrian", "Simon"], "position": ["Developer"]})
for _ in range(5):
    data.getlist("name")
try:
    data["missing"]  # MultiValueDict.__getitem__ raises MultiValueDictKeyError (a KeyError)
except MultiValueDictKeyError:
    pass
freeze({"a": [1, 2, {"b": 3}]})
try:
    freeze([Unhashable()])  # the inner make_hashable re-raises TypeError through the outer one and freeze
except TypeError:
    pass
pause()
'''


def _load(path: Path) -> ModuleType:
    """Import a helper module by path (neither tests/ nor bench/ is a package)."""
    name = f"_astrepo_tests_{path.parent.name}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def django_source() -> Path:
    """The unpacked Django sdist, downloaded once into bench/.cache by bench/index_bench.py's fetch."""
    fetch = _load(REPO / "bench" / "index_bench.py").fetch
    try:
        return fetch(*DJANGO)
    except Exception as err:  # pip's failure, with its output, is the useful part
        detail = getattr(err, "stderr", b"") or b""
        pytest.fail(f"cannot fetch {DJANGO[0]}=={DJANGO[1]} from PyPI into bench/.cache: {err} "
                    f"{detail.decode(errors='replace')[-500:] if isinstance(detail, bytes) else detail}")


@pytest.fixture(scope="session")
def django_facts() -> ModuleType:
    """The `ast` helpers of tests/graph/django_facts.py."""
    return _load(HERE / "django_facts.py")


@pytest.fixture(scope="session")
def django_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(project root, index folder): DJANGO_SUBSET copied out of the sdist, plus USE_UTILS, indexed
    by ``astrepo index`` in a subprocess."""
    run_astrepo = _load(REPO / "tests" / "conftest.py").run_astrepo
    source = django_source()
    root = tmp_path_factory.mktemp("django") / "project"
    for rel in DJANGO_SUBSET:
        src, dst = source / rel, root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    (root / "use_utils.py").write_text(USE_UTILS)
    db = root.parent / "index"
    done = run_astrepo("index", str(root), "--db", str(db), "--no-embed", "-q", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["errors"] == []
    return root, db
