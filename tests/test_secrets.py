"""No API key, Bearer token or OAuth token in anything the project keeps or writes.

Scanned: every tracked file, every cassette, every notebook output, and every file `cookbook run` writes
for a run that had a key and an OAuth token in its environment. (Record mode is proven to scrub headers,
JSON bodies and query strings in test_record.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cookbook import _cassette

ROOT = Path(__file__).resolve().parent.parent

# Built from parts, so that this file does not match its own patterns.
SECRET_PATTERNS = {
    "Bearer token": re.compile("Bearer" + r"\s+(?!\$\{|<)[A-Za-z0-9._~+/=-]{16,}"),
    "sk- key": re.compile("s" + r"k-[A-Za-z0-9]{20,}"),
    "Google OAuth token": re.compile("ya" + r"29\.[0-9A-Za-z_-]{16,}"),
    "Google API key": re.compile("AI" + r"za[0-9A-Za-z_-]{35}"),
    "GitHub token": re.compile("gh" + r"[pousr]_[A-Za-z0-9]{36}"),
    "JWT": re.compile("ey" + r"J[A-Za-z0-9_-]{10,}\.ey" + r"J[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
    "API key assignment": re.compile(r"(?i)(mistral_api_key|api_key)\s*[=:]\s*['\"]?[A-Za-z0-9]{24,}"),
}


def find_secrets(text: str) -> list[str]:
    return [f"{name}: {match.group(0)[:24]}…" for name, pattern in SECRET_PATTERNS.items()
            for match in pattern.finditer(text)]


def test_the_patterns_find_what_they_look_for():
    samples = ["Authorization: " + "Bearer " + "abcdefghijklmnop0123456789",
               "s" + "k-" + "a" * 24, "ya" + "29." + "b" * 30, "MISTRAL_API_KEY=" + "c" * 32]
    for sample in samples:
        assert find_secrets(sample), sample
    assert not find_secrets('-H "Authorization: Bearer ${MISTRAL_API_KEY}"')
    assert not find_secrets('"value": "<your-oauth-token>"')


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("git is needed to list the tracked files")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_holds_a_secret():
    found = {}
    for path in tracked_files():
        if path.is_file():
            hits = find_secrets(path.read_text(encoding="utf-8", errors="replace"))
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    assert not found


def test_no_cassette_holds_a_secret_or_a_real_authorization():
    for name in _cassette.bundled_names():
        text = (_cassette.BUNDLED_DIR / f"{name}.yaml").read_text()
        assert not find_secrets(text), name
        data = _cassette.loads(text)
        for item in data["interactions"]:
            headers = {k.lower(): v for k, v in (item["request"].get("headers") or {}).items()}
            assert headers.get("authorization") in (None, _cassette.PLACEHOLDER), name
            body = item["request"].get("json")
            assert _cassette.Secrets().json(body) == body, name  # scrubbing a stored request changes nothing


def test_no_notebook_output_holds_a_secret():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        outputs = "\n".join(str(o) for cell in nb.cells for o in cell.get("outputs", []))
        assert not find_secrets(outputs), path.name
        assert "replay-mode-needs-no" not in outputs, path.name


def test_a_cookbook_run_writes_no_secret_it_was_given(tmp_path):
    key = "cookbook-test-api-key-0123456789abcdef"
    token = "cookbook-test-oauth-token-0123456789abcdef"
    env = {**os.environ, "COOKBOOK_MODE": "replay", "MISTRAL_API_KEY": key, "GOOGLE_OAUTH_TOKEN": token}
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "cookbook", "run", "07", "--out", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in written) and any(p.suffix == ".html" for p in written)
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert key not in text and token not in text, path.name
        assert not find_secrets(text), path.name
    assert key not in result.stdout + result.stderr and token not in result.stdout + result.stderr
