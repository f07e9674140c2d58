"""Faults a live client meets, over real HTTP against the local stand-in for the API: each ends with a card that
says what happened and what to do, within its bound."""

from __future__ import annotations

import io
import time

import pytest
from mistralai.client import errors
from standin_api import StandinAPI

from cookbook import _cassette, explained_errors, make_client, retry_config
from cookbook._http import httpx
from cookbook._stream import StreamInterrupted, display_stream

KEY = "sk-faults-Secret-Key-0123456789abcdef"
PROMPT = "What is the capital of France?"
FAST = retry_config(initial_ms=20, max_interval_ms=50, max_elapsed_ms=3000, jitter_ms=0)


@pytest.fixture(scope="module")
def api():
    with StandinAPI(cassettes=_cassette.BUNDLED_DIR / "01_hello_world.yaml", slow_seconds=3.0) as server:
        yield server


@pytest.fixture
def live(api, clean_env):
    api.reset()

    def client(**kwargs):
        return make_client("live", api_key=KEY, server_url=api.url, **kwargs)

    return client


def ask(client):
    return client.beta.conversations.start(model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}])


def test_a_429_then_an_answer_is_retried_through(api, live):
    api.fail("POST", "/v1/conversations", "429", times=1)
    assert ask(live(retries=FAST)).outputs[0].content == "The capital of France is Paris."
    assert len(api.requests) == 2


def test_503_twice_then_an_answer_is_retried_through(api, live):
    api.fail("POST", "/v1/conversations", "503", times=2)
    assert ask(live(retries=FAST)).outputs[0].content == "The capital of France is Paris."
    assert len(api.requests) == 3


def test_a_429_that_stays_ends_with_the_rate_limit_card(api, live):
    api.fail("POST", "/v1/conversations", "429", times=1)
    with explained_errors(expected=429) as caught:
        ask(live(retries=False))
    assert caught.card.title == "429 Too Many Requests" and caught.card.message == "Rate limit exceeded"
    assert caught.card.provenance is None  # live: the API's own answer, nothing to say about it


def test_an_answer_slower_than_the_timeout_says_so_and_names_the_setting(api, live):
    api.fail("POST", "/v1/conversations", "slow", times=1)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException), explained_errors() as caught:
        ask(live(retries=False, timeout_ms=500))
    assert time.monotonic() - started < 2.5
    card = caught.card
    assert card.title == "Timed out" and card.message  # never an empty message
    assert "make_client(timeout_ms=" in card.fix


def test_a_stream_dropped_mid_answer_ends_its_display_in_an_error_state(api, live):
    api.fail("POST", "/v1/conversations", "drop", times=1)
    client = live(retries=False)
    out = io.StringIO()
    with explained_errors(expected=StreamInterrupted) as caught:
        display_stream(client.beta.conversations.start_stream(
            model="mistral-small-latest", inputs=[{"role": "user", "content": PROMPT}]), out=out)
    error = caught.error
    assert isinstance(error, StreamInterrupted) and error.events > 0
    assert "[error] the connection dropped mid-answer, after" in error.partial.text
    assert "streaming…" not in error.partial.text and "streaming…" not in out.getvalue()
    assert caught.card.title == "Connection dropped mid-answer" and "Run the cell again" in caught.card.fix
    assert "Could not connect" not in str(caught.card) and "replay" not in caught.card.fix
    assert error._render_traceback_() == [f"StreamInterrupted: {error}"]  # one line, not 33


def test_a_malformed_answer_is_called_cut_short_not_an_sdk_to_upgrade(api, live):
    api.fail("POST", "/v1/conversations", "malformed", times=1)
    with pytest.raises(errors.ResponseValidationError), explained_errors() as caught:
        ask(live(retries=False))
    assert caught.card.title == "Answer cut short or not JSON (HTTP 200)"
    assert "Upgrade" not in caught.card.fix and "Run the cell again" in caught.card.fix


def test_a_refused_key_that_the_server_echoes_is_never_shown(api, live, capsys):
    api.fail("POST", "/v1/conversations", "echo-401", times=1)
    with explained_errors(expected=401) as caught:
        ask(live(retries=False))
    shown = str(caught.card) + caught.card._repr_mimebundle_()["text/html"] + str(caught.error)
    shown += "".join(capsys.readouterr())
    assert KEY not in shown and "Bearer REDACTED" in shown
    assert caught.card.title == "401 Unauthorized" and "MISTRAL_API_KEY" in caught.card.fix
