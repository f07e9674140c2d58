"""The stand-in API (tests/standin_api.py) answers the real SDK from cassettes over HTTP, and fails on demand."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from pathlib import Path

import httpx2
import pytest
import yaml
from mistralai.client import Mistral, errors
from standin_api import StandinAPI

from cookbook import _cassette, retry_config

CASSETTES = Path(__file__).resolve().parent.parent / "cookbook" / "cassettes"
HELLO = CASSETTES / "01_hello_world.yaml"
LIFECYCLE = CASSETTES / "08_connector_lifecycle.yaml"
GMAIL = CASSETTES / "07_oauth_gmail.yaml"
FRANCE = "What is the capital of France?"
PARIS = "The capital of France is Paris."
SQLITE = "Using deepwiki, summarize the sqlite/sqlite repo in one sentence."
STANDIN_MISS = {"object": "error", "message": "stand-in: no recording answers POST /v1/conversations",
                "type": "not_found", "param": None, "code": "standin_miss", "raw_status_code": 404}


@pytest.fixture(scope="module")
def hello_api():
    with StandinAPI(cassettes=[HELLO]) as api:
        yield api


@pytest.fixture
def api(hello_api):
    """The stand-in serving 01_hello_world, shared by the module's tests and reset for each."""
    hello_api.reset()
    yield hello_api
    hello_api.reset()


def sdk(api: StandinAPI, **kwargs) -> Mistral:
    return Mistral(api_key="test-key", server_url=api.url, **{"retry_config": None, **kwargs})


def ask(client: Mistral, prompt: str = FRANCE, **kwargs):
    return client.beta.conversations.start(model="mistral-small-latest",
                                           inputs=[{"role": "user", "content": prompt}], **kwargs)


def stream(client: Mistral, prompt: str = FRANCE, **kwargs):
    return client.beta.conversations.start_stream(model="mistral-small-latest",
                                                  inputs=[{"role": "user", "content": prompt}], **kwargs)


def text_of(events) -> str:
    return "".join(e.data.content for e in events if e.event == "message.output.delta" and isinstance(
        e.data.content, str))


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


# --------------------------------------------------------------------------- answers from cassettes


def test_a_recorded_prompt_gets_the_recorded_answer(api):
    response = ask(sdk(api))
    assert response.outputs[0].content == PARIS
    assert response.conversation_id == "conv_01a211eeea807bd2ad5d890f848067c2"
    assert api.url.startswith("http://127.0.0.1:")


def test_the_answer_is_the_recorded_status_type_and_body_without_the_replay_header(api):
    body = json.loads(api.recordings[0].data[0][0].body)
    raw = httpx2.post(f"{api.url}/v1/conversations", json=body)
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/json"
    assert raw.content == _cassette.body_bytes(api.recordings[0].data[0][1])
    assert "cookbook-provenance" not in raw.headers
    body["model"] = "mistral-smol-latest"  # the recorded 400
    refused = httpx2.post(f"{api.url}/v1/conversations", json=body)
    assert refused.status_code == 400 and refused.json()["type"] == "invalid_model"


class CountingTransport(httpx2.HTTPTransport):
    """A real transport that notes every piece of a response body as the socket hands it over."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        inner, chunks = response.stream, self.chunks

        class Counted(httpx2.SyncByteStream):
            def __iter__(self):
                for chunk in inner:
                    chunks.append(chunk)
                    yield chunk

            def close(self) -> None:
                inner.close()

        response.stream = Counted()
        return response


def test_a_stream_arrives_in_several_partial_reads_and_assembles_to_the_recorded_text(api):
    transport = CountingTransport()
    client = sdk(api, client=httpx2.Client(transport=transport))
    events = list(stream(client))
    assert text_of(events) == PARIS
    assert events[0].event == "conversation.response.started" and events[-1].event == "conversation.response.done"
    assert len(transport.chunks) >= len(events)  # sent as 2 pieces an event, a few ms apart: many reads
    assert any(not chunk.endswith(b"\n\n") for chunk in transport.chunks)  # cut mid-event


@pytest.fixture
def twice(tmp_path) -> Path:
    """A cassette with two recordings of the same request: PARIS, then "Paris, again."."""
    doc = yaml.safe_load(HELLO.read_text())
    first = doc["interactions"][0]
    second = copy.deepcopy(first)
    second["response"]["json"]["outputs"][0]["content"] = "Paris, again."
    doc["interactions"] = [first, second]
    cassette = tmp_path / "twice.yaml"
    cassette.write_text(yaml.safe_dump(doc, sort_keys=False))
    return cassette


def test_identical_requests_are_answered_in_recorded_order_then_start_over(twice):
    with StandinAPI(cassettes=[twice]) as api:
        client = sdk(api)
        assert [ask(client).outputs[0].content for _ in range(3)] == [PARIS, "Paris, again.", PARIS]


def test_a_folder_serves_all_its_cassettes():
    with StandinAPI(cassettes=[CASSETTES]) as api:
        assert len(api.recordings) == len(list(CASSETTES.glob("*.yaml")))
        assert ask(sdk(api)).outputs[0].content == PARIS


def test_an_unrecorded_prompt_gets_the_standin_404(api):
    with pytest.raises(errors.SDKError) as caught:
        ask(sdk(api), "What is the capital of Spain?")
    assert caught.value.status_code == 404
    assert json.loads(caught.value.body) == STANDIN_MISS


def test_connector_create_matches_whatever_server_it_names():
    with StandinAPI(cassettes=[LIFECYCLE]) as api:
        client = sdk(api)
        connector = client.beta.connectors.create(request={
            "protocol": "mcp", "name": "ephemeral_deepwiki", "description": "Temporary connector for a one-off task",
            "server": "http://127.0.0.1:9/mcp", "visibility": "private"})
        assert (connector.id, connector.name) == ("01a2136f-7000-745e-a486-b059fee02702", "ephemeral_deepwiki")
        assert api.requests[-1].json["server"] == "http://127.0.0.1:9/mcp"
        answer = ask(client, SQLITE, tools=[{"type": "connector", "connector_id": "ephemeral_deepwiki"}])
        assert "SQLite" in answer.outputs[-1].content


def test_a_real_token_matches_the_recorded_placeholder():
    with StandinAPI(cassettes=[GMAIL]) as api:
        tools = [{"type": "connector", "connector_id": "gmail",
                  "authorization": {"type": "oauth2-token", "value": "fake-oauth-token-not-the-recorded-one"}}]
        response = ask(sdk(api), "What's the latest email I received?", tools=tools)
        assert response.outputs[-1].type == "message.output"


def test_requests_are_kept_with_method_path_query_headers_and_body(api):
    ask(sdk(api))
    httpx2.get(f"{api.url}/v1/connectors", params={"page_size": "5"})
    post, get = api.requests
    assert (post.method, post.path, post.query) == ("POST", "/v1/conversations", {})
    assert post.headers["authorization"] == "Bearer test-key"
    assert post.headers["content-type"] == "application/json"
    assert post.json["inputs"][0]["content"] == FRANCE and json.loads(post.body) == post.json
    assert (get["method"], get["path"], get["query"], get["body"], get["json"]) == (
        "GET", "/v1/connectors", {"page_size": "5"}, b"", None)


# --------------------------------------------------------------------------- faults


def test_429_then_success(api):
    api.fail("POST", "/v1/conversations", "429", times=1)
    client = sdk(api)
    with pytest.raises(errors.SDKError) as caught:
        ask(client)
    assert caught.value.status_code == 429
    assert json.loads(caught.value.body) == {"object": "error", "message": "Rate limit exceeded",
                                             "type": "rate_limited", "param": None, "code": "1300",
                                             "raw_status_code": 429}
    assert ask(client).outputs[0].content == PARIS  # the fault did not use up the recording


def test_503_twice_then_success(api):
    api.fail("POST", "/v1/conversations", "503", times=2)
    client = sdk(api)
    for _ in range(2):
        with pytest.raises(errors.SDKError) as caught:
            ask(client)
        assert caught.value.status_code == 503 and json.loads(caught.value.body)["code"] == "3505"
    assert ask(client).outputs[0].content == PARIS


def test_the_cookbook_retry_policy_gets_through_503_twice(api):
    api.fail("POST", "/v1/conversations", "503", times=2)
    client = sdk(api, retry_config=retry_config(initial_ms=50, max_interval_ms=100, max_elapsed_ms=3000))
    assert ask(client).outputs[0].content == PARIS
    assert len(api.requests) == 3


def test_a_fault_only_hits_its_method_and_path(api):
    api.fail("GET", "/v1/conversations", "503")
    api.fail("POST", "/v1/connectors", "503")
    assert ask(sdk(api)).outputs[0].content == PARIS
    with pytest.raises(ValueError, match="unknown fault"):
        api.fail("POST", "/v1", "500")


def test_a_failed_attempt_uses_up_no_recording(twice):
    with StandinAPI(cassettes=[twice], slow_seconds=2) as api:
        client = sdk(api)
        for fault in ("429", "503", "drop", "malformed", "echo-401", "slow"):
            api.fail("POST", "/v1/conversations", fault)
            with pytest.raises((errors.MistralError, httpx2.HTTPError)):
                ask(client, **({"timeout_ms": 300} if fault == "slow" else {}))
        assert [ask(client).outputs[0].content for _ in range(2)] == [PARIS, "Paris, again."]


def test_slow_answers_time_out_a_shorter_client_timeout(api):
    api.fail("POST", "/v1/conversations", "slow")
    client = sdk(api)
    started = time.monotonic()
    with pytest.raises(httpx2.TimeoutException):
        ask(client, timeout_ms=500)
    assert time.monotonic() - started < api.slow_seconds
    assert ask(client).outputs[0].content == PARIS


def test_a_slow_answer_ends_when_the_server_stops():
    api = StandinAPI(cassettes=[HELLO], slow_seconds=60).start()
    api.fail("POST", "/v1/conversations", "slow")
    outcome: list = []
    caller = threading.Thread(target=lambda: outcome.append(_try(lambda: ask(sdk(api), timeout_ms=20_000))),
                              daemon=True)
    caller.start()
    deadline = time.monotonic() + 5
    while not api.requests and time.monotonic() < deadline:  # the request is in, its answer waiting
        time.sleep(0.01)
    started = time.monotonic()
    api.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 3 and not caller.is_alive()
    assert port_is_closed(api.port)


def _try(call):
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the outcome is whatever happened
        return exc


def test_a_dropped_stream_breaks_off_mid_iteration(api):
    api.fail("POST", "/v1/conversations", "drop")
    events = []
    with pytest.raises(httpx2.TransportError):
        for event in stream(sdk(api)):
            events.append(event)
    assert 0 < len(events) < 9
    assert text_of(stream(sdk(api))) == PARIS  # the next attempt gets the whole stream


def test_a_dropped_json_answer_is_a_protocol_error(api):
    api.fail("POST", "/v1/conversations", "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        ask(sdk(api))


def test_a_malformed_body_is_a_response_validation_error(api):
    api.fail("POST", "/v1/conversations", "malformed")
    with pytest.raises(errors.ResponseValidationError):
        ask(sdk(api))


def test_echo_401_repeats_the_key_and_the_tokens_sent(api):
    api.fail("POST", "/v1/conversations", "echo-401")
    tools = [{"type": "connector", "connector_id": "gmail",
              "authorization": {"type": "oauth2-token", "value": "fake-oauth-token-echoed"}}]
    with pytest.raises(errors.SDKError) as caught:
        ask(sdk(api), tools=tools)
    assert caught.value.status_code == 401
    assert caught.value.headers["www-authenticate"] == "Bearer"
    assert json.loads(caught.value.body) == {
        "detail": "Unauthorized: bad credentials Bearer test-key and fake-oauth-token-echoed"}


# --------------------------------------------------------------------------- stopping


def test_stopping_with_a_stream_half_sent_does_not_hang():
    api = StandinAPI(cassettes=[LIFECYCLE]).start()
    recorded = next(json.loads(request.body) for request, response in api.recordings[0].data
                    if "event-stream" in response.get("content-type", ""))
    client = httpx2.Client(timeout=10)
    response = client.send(client.build_request("POST", f"{api.url}/v1/conversations", json=recorded), stream=True)
    chunks = response.iter_raw()
    first = next(chunks)
    assert first.startswith(b"event: conversation.response.started")

    stopper = threading.Thread(target=api.stop, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive() and time.monotonic() - started < 3
    assert port_is_closed(api.port)
    with pytest.raises(httpx2.TransportError):
        for _ in chunks:
            pass
    client.close()


async def test_the_async_client_gets_the_same_answers(api):
    client = sdk(api)
    response = await client.beta.conversations.start_async(
        model="mistral-small-latest", inputs=[{"role": "user", "content": FRANCE}])
    assert response.outputs[0].content == PARIS
    events = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest", inputs=[{"role": "user", "content": FRANCE}])
    assert text_of([event async for event in events]) == PARIS
