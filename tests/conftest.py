"""Shared fixtures: golden-file comparison, fixture projects, running the real CLI."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
EXAMPLE = REPO / "examples" / "shop"
ACTUAL = TESTS / "actual"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite golden files from the current output (inspect the diff carefully!).")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden(path, text)``: compare ``text`` with the golden file, or rewrite it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(path: Path, text: str) -> None:
        if update or not path.exists():
            if not update:
                pytest.fail(f"missing golden file {path}; run pytest --update-golden")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        expected = path.read_text()
        if text != expected:
            actual = ACTUAL / path.relative_to(TESTS)
            actual.parent.mkdir(parents=True, exist_ok=True)
            actual.write_text(text)
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                str(path), str(actual)))
            pytest.fail(f"output differs from {path} (actual written to {actual}):\n{diff}")

    return check


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A fresh copy of the example project."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".astrepo", ".pytest_cache"))
    return target


def run_astrepo(*args: str, cwd: Path | None = None, env: dict | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real ``astrepo`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "astrepo.cli.app", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def astrepo_cli():
    return run_astrepo
