"""Shared fixtures: a network guard, a local HTTP server that imitates the Mistral API, and the notebook runs."""

from __future__ import annotations

import fcntl
import json
import os
import shutil

import pytest
from executions import execute_all
from fake_api import FakeMistralAPI
from netguard import refuse_network

# Modules that take tens of seconds, run first: with pytest-xdist (--no-loadscope-reorder keeps this order) they
# start together on different workers and the quick tests fill in around them, instead of one of them starting last.
# (Order only: each test stands alone.)
SLOW_FIRST = ("tests/test_live_runs.py", "tests/test_binder.py", "tests/test_cli.py", "tests/test_browser.py",
              "tests/test_notebooks.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each module is kept


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    refuse_network(monkeypatch)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No key, no mode and no .env file reachable from the working directory."""
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("COOKBOOK_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_api():
    server = FakeMistralAPI()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory) -> dict:
    """The notebook runs of tests/executions.py, executed together once a session (once across pytest-xdist workers:
    the first to ask runs them, the others wait here for its results). ``{"cli": {name: {out, code, stdout, stderr}},
    "papermill": [[slug, variant, notebook path, error or None], ...]}``."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    results = base / "notebook-runs.json"
    with open(base / "notebook-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait here while the first one runs everything
        if not results.is_file():
            work = base / "notebook-runs"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            results.write_text(json.dumps(execute_all(work)))
    return json.loads(results.read_text())
