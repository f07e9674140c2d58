"""Replay answers the SDK's sync, async and streamed calls from a cassette, with no socket opened."""

from __future__ import annotations

import json

import pytest
from fake_api import conversation_response, stream_events

from cookbook import ReplayMiss, _cassette, make_client

PROMPT = "What is the capital of France?"
ENTRY = {"object": "entry", "type": "message.input", "prefix": False}


def _request(prompt: str, *, stream: bool = False, **extra) -> dict:
    return {"inputs": [{"role": "user", "content": prompt, **ENTRY}], "stream": stream,
            "model": "mistral-small-latest", **extra}


def _interaction(body: dict, response: dict | str, *, content_type="application/json", uri_suffix="") -> dict:
    text = response if isinstance(response, str) else json.dumps(response)
    return {"request": {"method": "POST", "uri": f"https://api.mistral.ai/v1/conversations{uri_suffix}", "json": body},
            "response": _cassette.response_entry(200, "OK", content_type, text)}


def write_cassette(path, interactions) -> str:
    path.write_text(_cassette.dumps({"interactions": interactions}))
    return str(path)


@pytest.fixture
def cassette(tmp_path):
    sse = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in stream_events("Paris, of course."))
    return write_cassette(tmp_path / "01_demo.yaml", [
        _interaction(_request(PROMPT), conversation_response("First answer.", "conv_1")),
        _interaction(_request(PROMPT), conversation_response("Second answer.", "conv_2")),
        _interaction(_request(PROMPT, stream=True), sse, content_type="text/event-stream", uri_suffix="#stream"),
        _interaction(_request("Tools?", tools=[{"type": "web_search"}]), conversation_response("web_search.")),
    ])


@pytest.fixture
def client(cassette, no_network, clean_env):
    return make_client("replay", cassette=cassette)


def _ask(client, prompt=PROMPT, **kw):
    response = client.beta.conversations.start(model="mistral-small-latest",
                                               inputs=[{"role": "user", "content": prompt}], **kw)
    return response.outputs[0].content


def test_sync_call_replays(client):
    assert _ask(client) == "First answer."


async def test_async_call_replays(client):
    response = await client.beta.conversations.start_async(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}])
    assert response.conversation_id == "conv_1"


def test_identical_requests_replay_in_recorded_order_then_start_over(client):
    assert [_ask(client) for _ in range(3)] == ["First answer.", "Second answer.", "First answer."]


def test_body_matching_ignores_key_order_and_whitespace(tmp_path, no_network, clean_env):
    body = _request("Tools?", tools=[{"type": "web_search"}])
    interaction = _interaction(dict(reversed(list(body.items()))), conversation_response("Matched."))
    spaced = {**interaction, "request": {"method": "POST", "uri": "https://api.mistral.ai/v1/conversations",
                                         "text": json.dumps(body, indent=4)}}  # a hand-written body, pretty-printed
    assert _cassette.matches(_cassette.Request.of(spaced["request"]), _cassette.Request.of(interaction["request"]))
    client = make_client("replay", cassette=write_cassette(tmp_path / "c.yaml", [interaction]))
    assert _ask(client, "Tools?", tools=[{"type": "web_search"}]) == "Matched."
    client = make_client("replay", cassette=write_cassette(tmp_path / "spaced.yaml", [spaced]))
    assert _ask(client, "Tools?", tools=[{"type": "web_search"}]) == "Matched."


def test_a_str_body_matches_the_same_bytes():
    uri = "https://api.mistral.ai/v1/files"
    assert _cassette.matches(_cassette.Request("POST", uri, "plain text, not JSON"),
                             _cassette.Request("POST", uri, b"plain text, not JSON"))


def test_streamed_call_replays_event_by_event(client):
    events = list(client.beta.conversations.start_stream(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}]))
    assert [e.event for e in events][0] == "conversation.response.started"
    assert "".join(e.data.content for e in events if e.event == "message.output.delta") == "Paris, of course."
    assert events[-1].data.usage.total_tokens == 16


async def test_async_stream_replays(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}])
    text = "".join([e.data.content async for e in stream if e.event == "message.output.delta"])
    assert text == "Paris, of course."


def test_unrecorded_request_raises_replay_miss_with_a_useful_message(client):
    with pytest.raises(ReplayMiss) as info:
        _ask(client, "What is the capital of Spain?")
    message = str(info.value)
    assert "POST /v1/conversations" in message
    assert "01_demo" in message
    assert '-      "content": "What is the capital of France?"' in message
    assert '+      "content": "What is the capital of Spain?"' in message
    assert "MISTRAL_API_KEY" in message and "mode='record'" in message
    assert info.value.cassettes == ("01_demo",)


def test_replay_miss_lists_the_recorded_prompts(client):
    with pytest.raises(ReplayMiss, match=r"Recorded prompts.*\n  - 'What is the capital of France\?'"):
        _ask(client, "Something else")


def test_replay_miss_shows_the_body_when_nothing_is_near(tmp_path, no_network, clean_env):
    client = make_client("replay", cassette=write_cassette(tmp_path / "empty.yaml", []))
    with pytest.raises(ReplayMiss, match="Request body:") as info:
        _ask(client, "Anything")
    assert '"content": "Anything"' in str(info.value)


def test_replay_miss_renders_without_traceback_in_ipython():
    miss = ReplayMiss("No recording answers POST /v1/conversations")
    assert miss._render_traceback_() == ["ReplayMiss: No recording answers POST /v1/conversations"]


def test_without_a_cassette_every_bundled_cassette_is_searched(no_network, clean_env):
    client = make_client("replay")
    assert client.cookbook.cassettes == tuple(_cassette.bundled_names())
    with pytest.raises(ReplayMiss) as info:
        _ask(client, "A prompt nobody recorded")
    for name in _cassette.bundled_names():
        assert name in str(info.value)


def test_headers_never_take_part_in_matching(client):
    response = client.beta.conversations.start(
        model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}],
        http_headers={"Authorization": "Bearer another-key", "X-Trace": "abc", "Content-Type": "application/json"})
    assert response.outputs[0].content == "First answer."


def test_recorded_prompts_lists_successful_user_prompts_once_in_order(tmp_path):
    error = _interaction(_request("Broken"), {"object": "error", "message": "no"})
    error["response"]["status"] = {"code": 400, "message": "Bad Request"}
    path = write_cassette(tmp_path / "p.yaml", [
        _interaction(_request(PROMPT), conversation_response("a")),
        _interaction(_request("Second?"), conversation_response("b")),
        _interaction(_request(PROMPT, stream=True), "event: x\ndata: {}\n\n", content_type="text/event-stream"),
        error,
    ])
    assert _cassette.recorded_prompts(path) == [PROMPT, "Second?"]


def test_every_bundled_cassette_has_prompts():
    for name in _cassette.bundled_names():
        assert len(_cassette.recorded_prompts(name)) >= 2, name


def test_a_body_equal_only_as_parsed_json_still_matches(tmp_path, no_network, clean_env):
    """Matching compares parsed bodies: 1 and 1.0 are equal JSON numbers."""
    body = _request("Numbers?", completion_args={"temperature": 1})
    client = make_client("replay", cassette=write_cassette(tmp_path / "n.yaml", [
        _interaction(body, conversation_response("Matched."))]))
    assert _ask(client, "Numbers?", completion_args={"temperature": 1.0}) == "Matched."
    assert _ask(client, "Numbers?", completion_args={"temperature": 1}) == "Matched."


def test_replay_miss_never_offers_an_error_demos_prompt(no_network, clean_env):
    client = make_client("replay", cassette="01_hello_world")
    with pytest.raises(ReplayMiss) as info:
        _ask(client, "What is the capital of Italy?")
    prompts = str(info.value).split("Recorded prompts for this endpoint:\n", 1)[1]
    assert "'What is the capital of France?'" in prompts and "'What is the capital of Japan?'" in prompts
    assert "demo" not in prompts  # "(overload demo)" only ever gets a 503
