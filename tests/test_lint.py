"""The README's test command lints: ``ruff check .`` (pyproject.toml's [tool.ruff]: the package, the tests, the
notebooks, bootstrap.py) must find nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"ruff check . (exit status {result.returncode}):\n{result.stdout}{result.stderr}", pytrace=False)
