"""Record mode: real HTTP to a local server, scrubbed and atomic writes, then replay with the server gone."""

from __future__ import annotations

import asyncio
import os

import pytest
import yaml

from cookbook import _cassette, make_client
from cookbook._http import httpx
from cookbook._transport import LiveTransport

API_KEY = "sk-test-Secret-Api-Key-0123456789abcdef"
OAUTH = "fake-oauth-token-for-record-tests-0123"
QUERY_KEY = "query-secret-key-987654321"
PROMPT = "What is the capital of France?"
GMAIL = {"type": "connector", "connector_id": "gmail", "authorization": {"type": "oauth2-token", "value": OAUTH}}


def _ask(client, **kw):
    return client.beta.conversations.start(model="mistral-small-latest",
                                           inputs=[{"role": "user", "content": PROMPT}], **kw)


def test_record_then_replay_with_the_server_stopped(fake_api, clean_env, tmp_path, monkeypatch):
    path = tmp_path / "01_recorded.yaml"
    recorder = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    assert recorder.cookbook.mode == "record"
    live_answer = _ask(recorder).outputs[0].content
    streamed = [e.event for e in recorder.beta.conversations.start_stream(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}])]

    async def both():
        return await recorder.beta.conversations.start_async(
            model="mistral-small-latest", inputs=[{"role": "user", "content": "Async?"}])

    asyncio.run(both())
    assert [r["method"] for r in fake_api.requests] == ["POST"] * 3
    assert fake_api.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"  # the real key went out
    fake_api.stop()

    doc = yaml.safe_load(path.read_text())
    assert doc["provenance"] == "recorded" and doc["recipe"] == "01_recorded"
    assert doc["sdk"].startswith("mistralai 3.") and doc["date"]
    assert len(doc["interactions"]) == 3
    assert doc["interactions"][1]["response"]["sse"][0]["event"] == "conversation.response.started"

    import socket

    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("replay opened a socket"))
    replayer = make_client("replay", cassette=str(path))
    assert _ask(replayer).outputs[0].content == live_answer
    assert [e.event for e in replayer.beta.conversations.start_stream(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}])] == streamed


def test_secrets_never_reach_the_cassette(fake_api, clean_env, tmp_path):
    path = tmp_path / "07_secrets.yaml"
    client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    _ask(client, tools=[GMAIL])
    assert fake_api.requests[0]["json"]["tools"][0]["authorization"]["value"] == OAUTH  # sent for real

    # A key in a query string and in a custom header, through the same transport.
    with httpx.Client(transport=client.cookbook.transport) as raw:
        raw.get(f"{fake_api.url}/v1/connectors", params={"api_key": QUERY_KEY, "page_size": 2},
                headers={"x-api-key": QUERY_KEY, "Authorization": f"Bearer {API_KEY}"})

    text = path.read_text()
    for secret in (API_KEY, OAUTH, QUERY_KEY, "server-cookie-value"):
        assert secret not in text, f"{secret[:12]}… reached the cassette"
    doc = yaml.safe_load(text)
    tool = doc["interactions"][0]["request"]["json"]["tools"][0]
    assert tool["authorization"] == {"type": "oauth2-token", "value": _cassette.PLACEHOLDER}
    assert "api_key=REDACTED" in doc["interactions"][1]["request"]["uri"]

    # The scrubbed recording still answers a request that carries a different token.
    replay = make_client("replay", cassette=str(path))
    other = {**GMAIL, "authorization": {"type": "oauth2-token", "value": "another-token"}}
    assert _ask(replay, tools=[other]).outputs[0].content == fake_api.answer


def test_a_crash_while_saving_keeps_the_previous_cassette_whole(fake_api, clean_env, tmp_path, monkeypatch):
    path = tmp_path / "01_atomic.yaml"
    client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    _ask(client)
    before = path.read_text()

    def crash(fd):
        raise OSError("disk vanished mid-write")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="mid-write"):
        client.beta.conversations.start(model="mistral-small-latest",
                                        inputs=[{"role": "user", "content": "A second question"}])
    assert path.read_text() == before
    assert yaml.safe_load(before)["interactions"]  # still a valid cassette
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == ["01_atomic.yaml"]  # no temp file


def test_rerecording_replaces_matching_exchanges_and_keeps_the_others(fake_api, clean_env, tmp_path):
    path = tmp_path / "02_rerecord.yaml"
    client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    _ask(client)
    client.beta.conversations.start(model="mistral-small-latest",
                                    inputs=[{"role": "user", "content": "Other"}])
    fake_api.answer = "Paris (re-recorded)."
    again = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    _ask(again)
    doc = yaml.safe_load(path.read_text())
    contents = [i["response"]["json"]["outputs"][0]["content"] for i in doc["interactions"]]
    assert sorted(contents) == ["Paris (re-recorded).", "The capital of France is Paris."]
    assert len(doc["interactions"]) == 2


def test_record_transport_writes_after_every_exchange(fake_api, clean_env, tmp_path):
    path = tmp_path / "03_each.yaml"
    transport = LiveTransport(_cassette.Secrets(), path)
    with httpx.Client(transport=transport) as raw:
        raw.get(f"{fake_api.url}/v1/connectors")
        assert len(yaml.safe_load(path.read_text())["interactions"]) == 1
        raw.get(f"{fake_api.url}/v1/connectors", params={"page_size": 5})
        assert len(yaml.safe_load(path.read_text())["interactions"]) == 2
