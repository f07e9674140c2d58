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


# --------------------------------------------------------------------------- many writers, one cassette


def _prompts(tag: str, n: int) -> list[str]:
    return [f"Question {tag}-{i}?" for i in range(n)]


def _recorded_contents(path) -> list[str]:
    return [i["request"]["json"]["inputs"][0]["content"] for i in yaml.safe_load(path.read_text())["interactions"]]


def test_two_clients_in_one_process_keep_every_exchange(fake_api, clean_env, tmp_path):
    path = tmp_path / "05_two_clients.yaml"
    one = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url)
    two = make_client("record", cassette=str(path), api_key=API_KEY, server_url=fake_api.url,
                      check_requests=False)
    for first, second in zip(_prompts("a", 5), _prompts("b", 5), strict=True):
        one.beta.conversations.start(model="mistral-small-latest", inputs=[{"role": "user", "content": first}])
        two.beta.conversations.start(model="mistral-small-latest", inputs=[{"role": "user", "content": second}])
    assert sorted(_recorded_contents(path)) == sorted(_prompts("a", 5) + _prompts("b", 5))


RECORDER = """
import sys
from cookbook import make_client
path, url, tag = sys.argv[1:]
client = make_client("record", cassette=path, api_key="sk-process-key-0123456789", server_url=url)
for i in range(25):
    client.beta.conversations.start(model="mistral-small-latest",
                                    inputs=[{"role": "user", "content": f"Question {tag}-{i}?"}])
"""


def test_two_processes_recording_into_one_cassette_keep_all_fifty_exchanges(fake_api, clean_env, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "06_two_processes.yaml"
    procs = [subprocess.Popen([sys.executable, "-c", RECORDER, str(path), fake_api.url, tag], stderr=subprocess.PIPE,
                              text=True) for tag in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert len(fake_api.requests) == 50
    assert sorted(_recorded_contents(path)) == sorted(_prompts("a", 25) + _prompts("b", 25))
    assert "sk-process-key" not in path.read_text()


def test_rerecording_keeps_the_authored_exchanges_it_did_not_send_and_the_header_counts_both(
        fake_api, clean_env, tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_CASSETTES", str(tmp_path))
    client = make_client("record", cassette="01_hello_world", api_key=API_KEY, server_url=fake_api.url)
    _ask(client)  # the recipe's default prompt, answered by the local server
    path = tmp_path / "01_hello_world.yaml"
    doc = yaml.safe_load(path.read_text())
    bundled = yaml.safe_load((_cassette.BUNDLED_DIR / "01_hello_world.yaml").read_text())
    kinds = [i["provenance"] for i in doc["interactions"]]
    assert kinds.count("recorded") == 1 and kinds.count("authored") == len(bundled["interactions"]) - 1
    assert doc["provenance"] == "mixed" and doc["exchanges"] == {"recorded": 1, "authored": kinds.count("authored")}
    assert path.read_text().startswith("# Cassette for recipe 01_hello_world of the Mistral connectors cookbook.\n"
                                       f"# provenance: mixed (1 recorded, {kinds.count('authored')} authored).")
    recorded = next(i for i in doc["interactions"] if i["provenance"] == "recorded")
    assert recorded["response"]["json"]["outputs"][0]["content"] == fake_api.answer and "capture" not in recorded
    authored = [i for i in doc["interactions"] if i["provenance"] == "authored"]
    assert authored == [i for i in bundled["interactions"]
                        if i["request"]["json"] != recorded["request"]["json"]]  # untouched, word for word
    # and replay from the folder answers with the recording
    replay = make_client("replay", cassette="01_hello_world")
    assert replay.cookbook.cassettes == ("01_hello_world",)
    assert _ask(replay).outputs[0].content == fake_api.answer


def test_record_mode_writes_to_the_working_folder_unless_told_otherwise_never_into_the_package(
        fake_api, clean_env, tmp_path):
    bundled = {p.name: p.read_bytes() for p in _cassette.BUNDLED_DIR.glob("*.yaml")}
    client = make_client("record", cassette="02_web_search", api_key=API_KEY, server_url=fake_api.url)
    assert client.cookbook.cassettes == (str(_cassette.Path("cassettes") / "02_web_search.yaml"),)
    _ask(client)
    assert (tmp_path / "cassettes" / "02_web_search.yaml").is_file()  # clean_env's working folder
    assert {p.name: p.read_bytes() for p in _cassette.BUNDLED_DIR.glob("*.yaml")} == bundled


def test_a_short_key_never_corrupts_text_and_is_still_removed_where_it_stands_alone(clean_env, tmp_path):
    secrets = _cassette.Secrets(["k"])
    assert secrets.text("unchecked kk k, 'k' key=k") == "unchecked kk REDACTED, 'REDACTED' key=REDACTED"
    assert secrets.json({"text": "unchecked", "list": ["k", "kayak"]}) == {"text": "unchecked",
                                                                          "list": ["REDACTED", "kayak"]}
    assert _cassette.Secrets([""]).text("anything") == "anything"  # an empty key removes nothing


def test_a_failed_attempt_the_client_retried_gives_way_to_the_answer(clean_env, tmp_path):
    from standin_api import StandinAPI

    from cookbook import retry_config

    path = tmp_path / "01_retried.yaml"
    fast = retry_config(initial_ms=20, max_interval_ms=50, max_elapsed_ms=3000, jitter_ms=0)
    with StandinAPI(cassettes=_cassette.BUNDLED_DIR / "01_hello_world.yaml") as api:
        api.fail("POST", "/v1/conversations", "429", times=1)
        client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=api.url, retries=fast)
        _ask(client)
        assert len(api.requests) == 2  # the 429, then the answer
        api.fail("POST", "/v1/conversations", "429", times=1)
        once = make_client("record", cassette=str(path), api_key=API_KEY, server_url=api.url, retries=False)
        with pytest.raises(Exception, match="429|Rate limit"):
            once.beta.conversations.start(model="mistral-small-latest",
                                          inputs=[{"role": "user", "content": "What is the capital of Japan?"}])
    statuses = [i["response"]["status"]["code"] for i in yaml.safe_load(path.read_text())["interactions"]]
    assert statuses == [200, 429]  # the retried 429 gave way; the last answer, a 429, is kept


def test_a_recorded_stream_is_shown_as_it_arrives(clean_env, tmp_path):
    import time

    from standin_api import StandinAPI

    path = tmp_path / "01_stream.yaml"
    with StandinAPI(cassettes=_cassette.BUNDLED_DIR / "01_hello_world.yaml", piece_pause=0.05) as api:
        client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=api.url)
        started = time.monotonic()
        arrivals = []
        for event in client.beta.conversations.start_stream(
                model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}]):
            arrivals.append((time.monotonic() - started, event.event))
            if len(arrivals) == 1:
                assert not path.exists()  # nothing is written before the answer is complete
    first, last = arrivals[0][0], arrivals[-1][0]
    assert len(arrivals) > 5 and last - first > 0.2  # events came one by one, not all at the end
    doc = yaml.safe_load(path.read_text())
    assert [e["event"] for e in doc["interactions"][0]["response"]["sse"]] == [name for _, name in arrivals]


def test_secrets_a_server_echoes_reach_no_file_no_message_and_no_card(clean_env, tmp_path, capsys):
    from standin_api import StandinAPI

    from cookbook import explained_errors

    path = tmp_path / "07_echo.yaml"
    with StandinAPI(cassettes=_cassette.BUNDLED_DIR / "07_oauth_gmail.yaml") as api:
        api.fail("POST", "/v1/conversations", "echo-401", times=1)
        client = make_client("record", cassette=str(path), api_key=API_KEY, server_url=api.url)
        with explained_errors(expected=401) as caught:
            _ask(client, tools=[GMAIL])
        assert API_KEY in api.requests[0]["headers"]["authorization"]  # the server did get them, and echoed them
    shown = str(caught.error) + caught.error.body + str(caught.card) + caught.card._repr_mimebundle_()["text/html"]
    shown += "".join(capsys.readouterr()) + path.read_text()
    for secret in (API_KEY, OAUTH):
        assert secret not in shown
    assert "Unauthorized: bad credentials Bearer REDACTED and REDACTED" in caught.error.body
