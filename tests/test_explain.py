"""explain / explained_errors: real SDK errors (through a mock transport) become cards; unexpected ones propagate."""

from __future__ import annotations

import re

import httpx2
import pytest
from _responses import api_error, error_handler, ipython_shell, mock_client
from mistralai.client import errors

from cookbook._explain import ADVICE, ErrorCard, explain, explained_errors

KWARGS = {"model": "mistral-small-latest", "inputs": [{"role": "user", "content": "Hello"}]}


def sdk_error(status: int, body, headers=None) -> Exception:
    client = mock_client(error_handler(status, body, headers))
    with pytest.raises(errors.MistralError) as info:
        client.beta.conversations.start(**KWARGS)
    return info.value


def body(html: str) -> str:
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


# Each status with a message the API could send, and the advice that must lead the card.
CASES = [
    (400, "Cannot use both include and exclude in tool_configuration", ADVICE[400][1]),
    (401, "Unauthorized", ADVICE[401][0]),
    (403, "Insufficient OAuth scopes for gmail_search", ADVICE[403][0]),
    (404, "Connector 'my_deepwiki' not found", ADVICE[404][0]),
    (429, "Requests rate limit exceeded", ADVICE[429][0]),
    (500, "Internal server error", ADVICE[500][0]),
    (503, "Service unavailable", ADVICE[503][0]),
]


@pytest.mark.parametrize(("status", "message", "advice"), CASES)
def test_each_status_gets_the_api_message_cause_and_fix(status, message, advice):
    error = sdk_error(status, api_error(message))
    assert isinstance(error, errors.SDKError)
    card = explain(error)
    assert card.status == status
    assert card.message == message  # the API's own words, not the SDK's "API error occurred: Status ..."
    assert (card.cause, card.fix) == (advice.cause, advice.fix)
    assert card.api_type == "invalid_request_error" and card.api_code == "3000"
    plain = str(card)
    assert plain.splitlines()[0].startswith(f"{status} ")
    assert f"API says: {message}" in plain and f"Cause: {advice.cause}" in plain and f"Fix: {advice.fix}" in plain
    bundle = card._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert f'<span class="cb-card-status">{status}</span>' in bundle["text/html"]


def test_422_lists_the_validation_details_and_picks_the_matching_cause():
    detail = {"detail": [{"loc": ["body", "model"], "msg": "Invalid model: mistral-tiny-9000", "type": "value_error"}]}
    error = sdk_error(422, detail)
    assert isinstance(error, errors.HTTPValidationError)
    card = explain(error)
    assert card.status == 422 and card.title == "422 Unprocessable Entity"
    assert card.details == ["body.model: Invalid model: mistral-tiny-9000"]
    assert card.cause == ADVICE[422][0].cause  # the model advice
    assert "body.model: Invalid model" in str(card)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Both model and agent_id were provided", ADVICE[422][1]),
        ("Duplicate connector my_deepwiki in tools", ADVICE[422][4]),
        ("Connector is inactive: MCP server unreachable", ADVICE[422][5]),
    ],
)
def test_422_message_keywords_choose_the_cause(message, expected):
    card = explain(sdk_error(422, {"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]}))
    assert card.cause == expected.cause
    assert all(a.cause != card.cause for a in card.also)


def test_401_for_an_expired_oauth_token_leads_with_the_token_fix():
    card = explain(sdk_error(401, api_error("OAuth token expired for connector gmail")))
    assert card.cause == ADVICE[401][1].cause
    assert card.also == []  # the message named the cause: no guesses listed


def test_a_400_for_an_invalid_model_is_about_the_model_not_the_filters():
    card = explain(sdk_error(400, api_error("Invalid model: mistral-smol-latest")))
    assert card.cause == ADVICE[400][2].cause and "include" not in card.cause


def test_a_message_that_names_no_cause_gets_the_general_advice_and_the_alternatives():
    card = explain(sdk_error(400, api_error("Something was off")))
    assert card.cause == ADVICE[400][0].cause
    assert [a.cause for a in card.also] == [ADVICE[400][1].cause, ADVICE[400][2].cause]



def test_a_status_the_table_does_not_list_gets_the_general_advice_of_its_class():
    assert explain(sdk_error(409, api_error("Conflict"))).cause == ADVICE[400][0].cause
    assert explain(sdk_error(599, api_error("Odd gateway"))).cause == ADVICE[500][0].cause

def test_429_shows_retry_after():
    card = explain(sdk_error(429, api_error("Rate limit exceeded"), headers={"retry-after": "7"}))
    assert card.retry_after == "7"
    assert "Retry after: 7 s" in str(card)


def test_non_json_error_body_is_shown_escaped():
    card = explain(sdk_error(502, "<html><script>alert(1)</script>Bad gateway</html>"))
    assert card.status == 502 and card.cause == ADVICE[502][0].cause
    html = body(card._repr_mimebundle_()["text/html"])
    assert "<script" not in html and "&lt;script&gt;" in html


def test_hostile_api_message_is_escaped():
    card = explain(sdk_error(400, api_error('<img src=x onerror=alert(1)> "quoted"')))
    html = body(card._repr_mimebundle_()["text/html"])
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; &#34;quoted&#34;" in html


def test_connection_errors_and_timeouts():
    def refuse(request):
        raise httpx2.ConnectError("connection refused", request=request)

    def slow(request):
        raise httpx2.ReadTimeout("read timed out", request=request)

    for handler, title, word in ((refuse, "Could not connect", "replay"), (slow, "Timed out", "timeout_ms")):
        with pytest.raises(httpx2.HTTPError) as info:
            mock_client(handler).beta.conversations.start(**KWARGS)
        card = explain(info.value)
        assert card.title == title and card.status is None
        assert word in card.fix


def test_client_side_validation_error_lists_the_fields():
    import pydantic

    with pytest.raises(pydantic.ValidationError) as info:
        mock_client(error_handler(500, {})).beta.conversations.start(**KWARGS, tools=[{"type": "web_serch"}])
    card = explain(info.value)
    assert card.title == "Invalid arguments"
    assert card.details and any("web_serch" in d or "tools" in d for d in card.details)
    assert "nothing was sent" in card.cause


def test_an_answer_the_sdk_cannot_parse_says_to_upgrade():
    def odd(request):
        return httpx2.Response(200, json={"unexpected": "shape"})

    with pytest.raises(errors.ResponseValidationError) as info:
        mock_client(odd).beta.conversations.start(**KWARGS)
    card = explain(info.value)
    assert card.title == "Unexpected answer (HTTP 200)" and "pip install -U mistralai" in card.fix
    assert str(card).splitlines()[0] == "Unexpected answer (HTTP 200) (ResponseValidationError)"
    assert "Unexpected answer (HTTP 200)" in card._repr_mimebundle_()["text/html"]


def test_other_exceptions_get_a_generic_card():
    card = explain(KeyError("missing"))
    assert card.title == "KeyError" and card.status is None and "'missing'" in card.message


# ------------------------------------------------------------- explained_errors


def test_unexpected_error_is_shown_and_re_raised(capsys):
    client = mock_client(error_handler(401, api_error("Unauthorized")))
    with pytest.raises(errors.SDKError) as info, explained_errors():
        client.beta.conversations.start(**KWARGS)
    assert "401 Unauthorized (SDKError)" in capsys.readouterr().err
    assert not hasattr(info.value, "_render_traceback_")  # the SDK's own exception, untouched


def test_expected_status_is_shown_and_swallowed(capsys):
    client = mock_client(error_handler(404, api_error("Connector 'nope' not found")))
    with explained_errors(expected=404) as caught:
        client.beta.conversations.start(**KWARGS)
    assert isinstance(caught.error, errors.SDKError)
    assert isinstance(caught.card, ErrorCard) and caught.card.expected
    assert "404 Not Found (SDKError) - expected" in capsys.readouterr().err


def test_expected_accepts_several_codes_and_still_raises_others():
    with explained_errors(expected={404, 422}) as caught:
        mock_client(error_handler(422, {"detail": []})).beta.conversations.start(**KWARGS)
    assert caught.card.status == 422
    with pytest.raises(errors.SDKError), explained_errors(expected={404, 422}):
        mock_client(error_handler(500, api_error("boom"))).beta.conversations.start(**KWARGS)
    with pytest.raises(ValueError), explained_errors(expected=404):
        raise ValueError("not an API error")


def test_no_error_means_no_card(capsys):
    with explained_errors(expected=404) as caught:
        pass
    assert caught.error is None and caught.card is None
    assert capsys.readouterr().err == ""


def test_in_ipython_the_card_is_displayed_and_the_cell_still_fails():
    client = mock_client(error_handler(401, api_error("Unauthorized")))
    with ipython_shell() as (shell, displays, _):
        shell.user_ns.update(client=client, explained_errors=explained_errors, kwargs=KWARGS)
        failed = shell.run_cell("with explained_errors():\n    client.beta.conversations.start(**kwargs)")
        assert isinstance(failed.error_in_exec, errors.SDKError)  # papermill sees the failure
        assert len(displays) == 1 and "401" in displays[0]["data"]["text/html"]
        passed = shell.run_cell("with explained_errors(expected=401):\n    client.beta.conversations.start(**kwargs)")
        assert passed.success and len(displays) == 2


def test_an_expected_exception_class_is_shown_and_swallowed():
    from pydantic import BaseModel, ValidationError

    class Tool(BaseModel):
        type: int

    with explained_errors(expected=ValidationError) as caught:
        Tool(type="web-search")
    assert caught.card.expected and caught.card.title == "Invalid arguments"
    with pytest.raises(ValidationError), explained_errors(expected=[400, KeyError]):
        Tool(type="web-search")


def test_a_replay_miss_card_keeps_the_miss_message_and_says_how_to_go_live():
    from cookbook import ReplayMiss

    miss = ReplayMiss("No recording answers POST /v1/conversations in cassette 01_hello_world.\n"
                      "Recorded prompts for this endpoint:\n  - 'What is the capital of France?'")
    card = explain(miss)
    assert card.title == "No recording for this request"
    assert card.message.startswith("No recording answers POST /v1/conversations")
    assert "  - 'What is the capital of France?'" in card.listing.splitlines()
    assert "<pre>Recorded prompts for this endpoint:\n  - &#39;What is the capital of France?&#39;</pre>" in \
        card._repr_mimebundle_()["text/html"]  # preformatted: the diff and the list keep their indentation
    assert "MISTRAL_API_KEY" in card.fix


def test_an_error_that_carries_its_own_card_is_shown_with_it():
    from cookbook import McpPreflightError

    error = McpPreflightError("Could not reach http://127.0.0.1:9/mcp", kind="unreachable",
                              url="http://127.0.0.1:9/mcp", cause="Nothing listens there.", fix="Start the server.")
    card = explain(error)
    assert card.title.startswith("MCP server unreachable") and card.fix == "Start the server."


def test_a_request_refused_before_sending_says_so():
    from cookbook import InvalidRequest

    card = explain(InvalidRequest("Give agent_id or model, not both."))
    assert card.title == "Refused before sending" and card.message == "Give agent_id or model, not both."
    assert "Message: Give agent_id" in str(card) and "API says" not in str(card)
    assert "check_requests=False" in card.fix


def test_replay_only_runs_a_demo_in_replay_and_sends_nothing_live(clean_env, fake_api, capsys):
    from cookbook import make_client, replay_only

    assert replay_only(make_client("replay", cassette="02_web_search"), "a 429 cannot be reached on purpose")
    assert capsys.readouterr().out == ""
    live = make_client("live", api_key="k" * 32, server_url=fake_api.url)
    ran = False
    if replay_only(live, "a 429 cannot be reached on purpose"):
        ran = True
        live.beta.conversations.start(**KWARGS)
    assert not ran and fake_api.requests == []
    assert capsys.readouterr().out == ("Not sent in live mode: a 429 cannot be reached on purpose. This demo runs "
                                       "from its recording in replay mode (COOKBOOK_MODE=replay).\n")


def test_a_replayed_error_card_says_what_the_exchange_rests_on(clean_env):
    from cookbook import make_client

    client = make_client("replay", cassette="02_web_search")
    with explained_errors(expected=429) as caught:
        client.beta.conversations.start(model="mistral-small-latest", inputs=[{"role": "user", "content":
                                        "What is the current weather in Paris? Use web search. (rate limit demo)"}],
                                        tools=[{"type": "web_search"}])
    assert str(caught.card).endswith("(authored example, shaped like public captures of the API)")
    assert "authored example" in body(caught.card._repr_mimebundle_()["text/html"])
