"""What the commands and the README's examples write by default stays out of git; the bundled cassettes stay in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITTEN = [
    ".venv/bin/python",  # bootstrap.py
    "cookbook-run/index.html",  # cookbook run
    "report/index.html",  # cookbook run --out report/ (README)
    "out.ipynb",  # papermill notebooks/02_web_search.ipynb out.ipynb (README)
    "artifacts/playground.png",
    "cookbook-record/01_hello_world.ipynb",  # cookbook record
    "cookbook-check/check.json",  # cookbook check --live
    "cassettes/01_hello_world.yaml",  # record mode writes ./cassettes/ by default
    "cassettes/.01_hello_world.yaml.lock",  # the lock held while merging into a cassette
    "cookbook/cassettes/.01_hello_world.yaml.lock",  # the same lock, recording into the bundled folder
]


def ignored(path: str) -> bool:
    """Whether .gitignore keeps ``path`` out, tracked or not (``--no-index``), whether it exists or not."""
    result = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


@pytest.fixture(autouse=True)
def _git_checkout():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")


def test_what_the_commands_write_is_ignored():
    assert [path for path in WRITTEN if not ignored(path)] == []


def test_the_bundled_cassettes_and_the_sources_are_not():
    bundled = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "cookbook" / "cassettes").glob("*.yaml"))
    assert bundled
    kept = [*bundled, "cookbook/_cli.py", "notebooks/01_hello_world.ipynb", "bootstrap.py", "tests/test_readme.py"]
    assert [path for path in kept if ignored(path)] == []
