"""Live clients retry 429 and 5xx with bounded backoff, against a local server that misbehaves on purpose."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from fake_api import conversation_response
from mistralai.client import errors

from cookbook import make_client, retry_config

FAST = retry_config(initial_ms=10, max_interval_ms=40, max_elapsed_ms=600, jitter_ms=5)
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


class FlakyAPI:
    """Answers POST /v1/conversations with the given statuses in turn, then 200s."""

    def __init__(self, failures: list[int]):
        self.failures, self.attempts = list(failures), 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.attempts += 1
                if owner.failures:
                    status = owner.failures.pop(0) if owner.failures != ["always"] else 503
                    body = json.dumps({"object": "error", "message": "try later", "type": "overloaded"}).encode()
                else:
                    status, body = 200, json.dumps(conversation_response("Paris.")).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def flaky():
    servers = []

    def start(failures):
        servers.append(FlakyAPI(failures))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("failures", [[503, 429], [500, 502], [504]])
def test_a_live_client_retries_until_the_server_answers(flaky, clean_env, failures):
    api = flaky(failures)
    client = make_client("live", api_key="test-key", server_url=api.url, retries=FAST)
    response = client.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT)
    assert response.outputs[0].content == "Paris."
    assert api.attempts == len(failures) + 1


async def test_async_calls_retry_too(flaky, clean_env):
    api = flaky([429, 503])
    client = make_client("live", api_key="test-key", server_url=api.url, retries=FAST)
    response = await client.beta.conversations.start_async(model="mistral-small-latest", inputs=PROMPT)
    assert response.outputs[0].content == "Paris." and api.attempts == 3


def test_retries_stop_and_the_last_error_surfaces(flaky, clean_env):
    api = flaky(["always"])
    client = make_client("live", api_key="test-key", server_url=api.url, retries=FAST)
    started = time.monotonic()
    with pytest.raises(errors.SDKError) as caught:
        client.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT)
    elapsed = time.monotonic() - started
    assert caught.value.status_code == 503
    assert 2 <= api.attempts <= 60 and elapsed < 10  # bounded: it gave up, it did not loop forever


def test_a_client_error_is_not_retried(flaky, clean_env):
    api = flaky([400])
    client = make_client("live", api_key="test-key", server_url=api.url, retries=FAST)
    with pytest.raises(errors.SDKError):
        client.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT)
    assert api.attempts == 1


def test_retries_can_be_switched_off(flaky, clean_env):
    api = flaky([503])
    client = make_client("live", api_key="test-key", server_url=api.url, retries=False)
    with pytest.raises(errors.SDKError):
        client.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT)
    assert api.attempts == 1


def test_the_default_policy_is_bounded_backoff_with_a_timeout(clean_env):
    client = make_client("live", api_key="test-key")
    config = client.sdk_configuration
    assert config.retry_config.strategy == "backoff"
    assert config.retry_config.backoff.max_elapsed_time <= 60_000
    assert set(config.retry_config.status_codes_override) == {"429", "500", "502", "503", "504"}
    assert 0 < config.timeout_ms <= 300_000
    assert make_client("replay", cassette="01_hello_world").sdk_configuration.retry_config is None


def test_recording_keeps_only_the_attempt_that_worked(flaky, clean_env, tmp_path):
    api = flaky([503, 429])
    path = tmp_path / "01_flaky.yaml"
    client = make_client("record", cassette=str(path), api_key="test-key", server_url=api.url, retries=FAST)
    client.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT)
    doc = yaml.safe_load(path.read_text())
    assert [i["response"]["status"]["code"] for i in doc["interactions"]] == [200]
    replay = make_client("replay", cassette=str(path))
    assert replay.beta.conversations.start(model="mistral-small-latest", inputs=PROMPT).outputs[0].content == "Paris."
