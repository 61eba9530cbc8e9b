"""The source tree passes ruff and the package mypy, with the rules `pyproject.toml` sets
(`[tool.ruff]`, `[tool.mypy]`)."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_tree_passes_ruff():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet",
                           str(ROOT)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


@pytest.mark.slow
def test_the_package_passes_mypy():
    """mypy with `[tool.mypy]` of `pyproject.toml` (every function body checked), without a
    cache (`--cache-dir /dev/null`), so that the tree is read afresh and nothing is written."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir",
                           "/dev/null"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
