"""Shared fixtures: a network guard and a local HTTP server that imitates the Mistral API."""

from __future__ import annotations

import pytest
from fake_api import FakeMistralAPI
from netguard import refuse_network


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
