"""Make any attempt to open a network connection fail the test (used once a test's own server is stopped)."""

from __future__ import annotations

import socket


def refuse_network(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
