"""Every bundled cassette is valid mistralai 3.7 traffic, checked with the SDK's own models.

Each request body must parse as the model the SDK serializes for that endpoint
and re-serialize to the same JSON (so it is what the SDK really sends); each
response must parse as the model the SDK reads it with. The check is strict: a
key the model does not know, an enum value the SDK does not recognize, or an
event type it would surface as "unknown" fails, although the SDK itself would
silently ignore or wrap them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import mcp_types
import pydantic
import pytest
import yaml
from mistralai.client import errors, models, utils
from mistralai.client.types import UnrecognizedStr
from mistralai.client.utils.eventstreaming import stream_events

from cookbook import _cassette

NAMES = _cassette.bundled_names()
# has_default_credentials (authored as the API sends it) is a field the SDK marks deprecated: reading it warns
pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED.*:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[1]
# Bearer tokens, Mistral/OpenAI-style keys, Google OAuth access tokens and API keys
SECRET_PATTERNS = [re.compile(p) for p in (r"Bearer\s+\S", r"\bsk-[A-Za-z0-9_-]{6,}", r"ya29\.",
                                           r"\bAIza[0-9A-Za-z_-]{10,}")]


class SchemaProblem(AssertionError):
    """A fixture is not what the SDK sends or accepts."""


# --------------------------------------------------------------------------- strict parsing

# Keys the real API sends that mistralai 3.7's models do not declare (the SDK drops them), and only where public
# captures show them (cookbook._cassette.CAPTURES): ``function`` (the tool's name again) on tool.execution entries
# and on every tool.execution.* event; ``source`` (the search provider) on the tool_reference chunks of older
# answers. Each must be a string. (``guardrails`` on a conversation response is declared by the SDK; error bodies
# other than 422 are not parsed with a model, so ``raw_status_code`` needs no entry.)
EXTRA_KEYS: dict[type, frozenset[str]] = {
    models.ToolExecutionEntry: frozenset({"function"}),
    models.ToolExecutionStartedEvent: frozenset({"function"}),
    models.ToolExecutionDeltaEvent: frozenset({"function"}),
    models.ToolExecutionDoneEvent: frozenset({"function"}),
    models.ToolReferenceChunk: frozenset({"source"}),
}


def _strict_problems(value: Any, raw: Any, where: str) -> list[str]:
    """Keys in ``raw`` that the parsed model dropped, and values the SDK did not recognize."""
    problems: list[str] = []
    if isinstance(value, pydantic.BaseModel):
        if getattr(value, "is_unknown", False):
            return [f"{where}: the SDK does not recognize this variant ({raw!r:.80})"]
        if not isinstance(raw, dict):
            return problems
        fields = type(value).model_fields
        known = {**{name: name for name in fields}, **{f.alias: name for name, f in fields.items() if f.alias}}
        extra_allowed = type(value).model_config.get("extra") == "allow"
        extra_known = EXTRA_KEYS.get(type(value), frozenset())
        for key, item in raw.items():
            if key in known:
                problems += _strict_problems(getattr(value, known[key]), item, f"{where}.{key}")
            elif key in extra_known:
                if not isinstance(item, str):
                    problems.append(f"{where}.{key}: a string, not {item!r:.40}")
            elif not extra_allowed:
                problems.append(f"{where}.{key}: not a field of {type(value).__name__}")
    elif isinstance(value, list) and isinstance(raw, list):
        for index, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
            problems += _strict_problems(item, raw_item, f"{where}[{index}]")
    elif isinstance(value, dict) and isinstance(raw, dict):
        for key, raw_item in raw.items():
            if key in value:
                problems += _strict_problems(value[key], raw_item, f"{where}.{key}")
    elif isinstance(value, UnrecognizedStr):
        problems.append(f"{where}: {str(value)!r} is not a value the SDK knows")
    return problems


def strict_parse(raw: Any, typ: Any, where: str) -> Any:
    """``raw`` parsed as ``typ`` the way the SDK does it, failing on anything the SDK would drop."""
    try:
        value = utils.unmarshal(raw, typ)
    except pydantic.ValidationError as error:
        raise SchemaProblem(f"{where}: does not parse as {getattr(typ, '__name__', typ)}:\n{error}") from error
    problems = _strict_problems(value, raw, where)
    if problems:
        raise SchemaProblem("\n".join(problems))
    return value


# --------------------------------------------------------------------------- endpoints


def _sse(text: str) -> list[dict]:
    """The events of a stream, framed by the SDK's own SSE reader."""
    response = httpx2.Response(200, content=text.encode())
    return list(stream_events(response, json.loads))


def _conversation_stream(text: str, where: str) -> list:
    events = _sse(text)
    if not events:
        raise SchemaProblem(f"{where}: empty stream")
    parsed = []
    for index, event in enumerate(events):
        if event.get("event") != (event.get("data") or {}).get("type"):
            raise SchemaProblem(f"{where} event {index}: 'event: {event.get('event')}' but data.type is "
                                f"{(event.get('data') or {}).get('type')!r}")
        parsed.append(strict_parse(event, models.ConversationEvents, f"{where} event {index}").data)
    kinds = [p.type for p in parsed]
    if kinds[0] != "conversation.response.started" or kinds[-1] not in ("conversation.response.done",
                                                                         "conversation.response.error"):
        raise SchemaProblem(f"{where}: a stream starts with conversation.response.started and ends with done "
                            f"or error, not {kinds[0]} … {kinds[-1]}")
    return parsed


# (method, path pattern) -> (request model or None, success status, response model)
ENDPOINTS: list[tuple[str, str, Any, int, Any]] = [
    ("POST", r"/v1/conversations", "conversation", 200, "conversation"),
    ("POST", r"/v1/agents", models.CreateAgentRequest, 200, models.Agent),
    ("DELETE", r"/v1/agents/[^/]+", None, 204, None),
    ("POST", r"/v1/connectors", models.ConnectorCreateV1Payload, 201, models.Connector),
    ("GET", r"/v1/connectors", None, 200, models.PaginatedConnectors),
    # connectors.list_tools reads ResponseConnectorListToolsV1 = List[MCPTool] | List[Dict]: the dict
    # fallback accepts anything, so fixtures must be the MCPTool branch.
    ("GET", r"/v1/connectors/[^/]+/tools", None, 200, list[models.MCPTool]),
    ("DELETE", r"/v1/connectors/[^/]+", None, 200, models.MessageResponse),
]


def endpoint(method: str, path: str) -> tuple[Any, int, Any]:
    for m, pattern, request_model, status, response_model in ENDPOINTS:
        if m == method and re.fullmatch(pattern, path):
            return request_model, status, response_model
    raise SchemaProblem(f"no schema check for {method} {path}: add the endpoint to ENDPOINTS")


def check_request(method: str, uri: str, body: str | None, where: str) -> Any:
    path = urlsplit(uri).path
    if urlsplit(uri).netloc != "api.mistral.ai" or urlsplit(uri).scheme != "https":
        raise SchemaProblem(f"{where}: requests go to https://api.mistral.ai, not {uri}")
    request_model, _, _ = endpoint(method, path)
    if request_model is None:
        if body:
            raise SchemaProblem(f"{where}: {method} {path} sends no body")
        return None
    raw = json.loads(body or "null")
    if request_model == "conversation":
        request_model = models.ConversationStreamRequest if raw.get("stream") else models.ConversationRequest
        if raw.get("stream") != uri.endswith("#stream"):
            raise SchemaProblem(f"{where}: the SDK adds #stream to the URL exactly when the body says stream: true")
    parsed = strict_parse(raw, request_model, f"{where} request")
    resent = json.loads(utils.marshal_json(parsed, request_model))
    if resent != raw:
        raise SchemaProblem(f"{where}: the SDK would send\n{json.dumps(resent)}\nnot\n{json.dumps(raw)}")
    return parsed


def check_response(method: str, uri: str, request: Any, response: dict, where: str) -> Any:
    _, success, response_model = endpoint(method, urlsplit(uri).path)
    code = response["status"]["code"]
    text = _text(response)
    content_type = response.get("content-type", "")
    if code >= 400:
        if content_type != "application/json":
            raise SchemaProblem(f"{where}: error bodies are JSON, not {content_type!r}")
        raw = json.loads(text)
        if code == 422:
            data = strict_parse(raw, errors.HTTPValidationErrorData, f"{where} 422")
            if not data.detail:  # every field is optional: an empty body would parse too
                raise SchemaProblem(f"{where}: a 422 body lists what failed in 'detail'")
            return data
        if not (isinstance(raw, dict) and isinstance(raw.get("message"), str) and raw["message"].strip()):
            raise SchemaProblem(f"{where}: a {code} body is a JSON object with a 'message'")
        return raw
    if code != success:
        raise SchemaProblem(f"{where}: the SDK accepts {success} here, not {code}")
    if response_model is None:
        if text or content_type:
            raise SchemaProblem(f"{where}: a {code} has no body")
        return None
    if response_model == "conversation":
        if isinstance(request, models.ConversationStreamRequest):
            if content_type != "text/event-stream":
                raise SchemaProblem(f"{where}: a stream answers with text/event-stream")
            return _conversation_stream(text, where)
        response_model = models.ConversationResponse
    if content_type != "application/json":
        raise SchemaProblem(f"{where}: the SDK reads this response only as application/json")
    return strict_parse(json.loads(text), response_model, f"{where} response")


MCP_SERVERS = {"https://mcp.deepwiki.com/mcp"}
MCP_RESULTS = {"initialize": mcp_types.InitializeResult, "tools/list": mcp_types.ListToolsResult}


def check_mcp_interaction(interaction: dict, where: str) -> tuple[Any, Any]:
    """An MCP preflight exchange (cookbook.inspect_mcp_server): JSON-RPC the mcp SDK sends and accepts."""
    request, response = interaction["request"], interaction["response"]
    if request["method"] != "POST":
        raise SchemaProblem(f"{where}: the MCP preflight sends only POSTs")
    message = mcp_types.jsonrpc_message_adapter.validate_json(_text(request), by_name=False)
    if isinstance(message, mcp_types.JSONRPCNotification):
        if response["status"]["code"] != 202:
            raise SchemaProblem(f"{where}: a notification is answered 202 Accepted")
        return message, None
    if not isinstance(message, mcp_types.JSONRPCRequest) or message.method not in MCP_RESULTS:
        raise SchemaProblem(f"{where}: the preflight sends no {message!r:.80}")
    reply = mcp_types.jsonrpc_message_adapter.validate_json(_text(response), by_name=False)
    if not isinstance(reply, mcp_types.JSONRPCResponse) or reply.id != message.id:
        raise SchemaProblem(f"{where}: the answer to {message.method} is not its JSON-RPC result")
    return message, MCP_RESULTS[message.method].model_validate(reply.result, by_name=False)


def check_interaction(interaction: dict, where: str = "interaction") -> tuple[Any, Any]:
    """Raise ``SchemaProblem`` unless the exchange is one the SDK sends and accepts."""
    request, response = interaction["request"], interaction["response"]
    if request["uri"] in MCP_SERVERS:
        return check_mcp_interaction(interaction, where)
    parsed_request = check_request(request["method"], request["uri"], _text(request) or None, where)
    return parsed_request, check_response(request["method"], request["uri"], parsed_request, response, where)


def _text(entry: dict) -> str:
    """A cassette's request or response body as it goes over the wire."""
    return _cassette.body_bytes(entry).decode("utf-8")


def load(name: str) -> dict:
    return _cassette.loads((_cassette.BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def _interactions(name: str) -> list[tuple[str, dict]]:
    return [(f"{name} #{i}", item) for i, item in enumerate(load(name)["interactions"])]


ALL = [pytest.param(item, id=where) for name in NAMES for where, item in _interactions(name)]


# --------------------------------------------------------------------------- the tests


def test_the_eight_recipes_have_a_cassette_each():
    assert NAMES == ["01_hello_world", "02_web_search", "03_custom_connector", "04_multiple_tools",
                     "05_tool_filters", "06_agent_with_connectors", "07_oauth_gmail", "08_connector_lifecycle"]


@pytest.mark.parametrize("interaction", ALL)
def test_every_exchange_is_what_the_sdk_sends_and_accepts(interaction):
    check_interaction(interaction)


@pytest.mark.parametrize("name", NAMES)
def test_cassette_header_says_what_it_is(name):
    text = (_cassette.BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    meta = yaml.safe_load(text)
    assert meta["recipe"] == name
    assert re.fullmatch(r"mistralai \d+\.\d+\.\d+", meta["sdk"])
    assert dt.date.fromisoformat(str(meta["date"]))
    kinds = [item["provenance"] for item in load(name)["interactions"]]
    assert meta["provenance"] == "authored" and set(kinds) == {"authored"}
    assert meta["exchanges"] == {"recorded": 0, "authored": len(kinds)}
    assert meta["note"] == _cassette.AUTHORED_NOTE
    assert text.startswith(f"# Cassette for recipe {name} ")
    assert f"# provenance: authored (0 recorded, {len(kinds)} authored)." in text


@pytest.mark.parametrize("name", NAMES)
def test_no_secret_is_written_in_a_cassette(name):
    text = (_cassette.BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    for pattern in SECRET_PATTERNS:
        assert not pattern.search(text), f"{name} contains something like a secret: {pattern.pattern}"
    for _, interaction in _interactions(name):
        assert set(interaction["request"].get("headers") or {}) <= {"accept", "content-type"}
        for auth in _authorizations(interaction["request"].get("json")):
            assert auth.get("value") == _cassette.PLACEHOLDER


# Built from parts, so that no scan of the repository mistakes these samples for real secrets.
@pytest.mark.parametrize("secret", ["Authorization: Bearer abc123", "api_key: s" + "k-proj-abcdef123456",
                                    '"value": "ya' + '29.a0AfH6SMBx"', "key=AI" + "zaSyA1234567890abcdef"])
def test_the_secret_check_catches_real_looking_tokens(secret):
    assert any(pattern.search(secret) for pattern in SECRET_PATTERNS)


def _authorizations(value: Any) -> list[dict]:
    if isinstance(value, dict):
        found = [value["authorization"]] if isinstance(value.get("authorization"), dict) else []
        return found + [a for item in value.values() for a in _authorizations(item)]
    if isinstance(value, list):
        return [a for item in value for a in _authorizations(item)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_token_counts_add_up(name):
    """total_tokens = prompt + completion + connector tokens, in every usage block."""
    for where, interaction in _interactions(name):
        _, parsed = check_interaction(interaction, where)
        usages = [parsed.usage] if isinstance(parsed, models.ConversationResponse) else [
            event.usage for event in parsed or [] if isinstance(event, models.ResponseDoneEvent)]
        for use in usages:
            connector_tokens = use.connector_tokens if isinstance(use.connector_tokens, int) else 0
            assert use.total_tokens == use.prompt_tokens + use.completion_tokens + connector_tokens, where


@pytest.mark.parametrize("name", ["01_hello_world", "02_web_search"])
def test_a_streamed_answer_says_what_the_plain_answer_says(name):
    """The recipe's streamed variant carries the same content as its non-streamed recording."""
    plain, streamed = {}, {}
    for where, interaction in _interactions(name):
        request, parsed = check_interaction(interaction, where)
        if interaction["response"]["status"]["code"] != 200:
            continue
        prompt = request.inputs[0].content
        if isinstance(request, models.ConversationStreamRequest):
            chunks = [e.content for e in parsed if isinstance(e, models.MessageOutputEvent)]
            streamed[prompt] = "".join(c if isinstance(c, str) else f"[{c.title}]" for c in chunks)
        else:
            content = [o for o in parsed.outputs if isinstance(o, models.MessageOutputEntry)][0].content
            plain.setdefault(prompt, content if isinstance(content, str) else "".join(
                c.text if isinstance(c, models.TextChunk) else f"[{c.title}]" for c in content))
    assert streamed and all(plain[prompt] == text for prompt, text in streamed.items())


# --------------------------------------------------------------------------- the check can fail


def _first(name: str, predicate) -> dict:
    return copy.deepcopy(next(item for _, item in _interactions(name) if predicate(item)))


def _edit_json(interaction: dict, side: str, edit) -> dict:
    edit(interaction[side]["json"])
    return interaction


def _web_search_answer() -> dict:
    return _first("02_web_search", lambda i: i["response"]["status"]["code"] == 200
                  and "event-stream" not in i["response"]["content-type"])


def _stream() -> dict:
    return _first("01_hello_world", lambda i: "event-stream" in i["response"].get("content-type", ""))


def _replace_sse(interaction: dict, old: str, new: str, count: int = 1) -> dict:
    text = _text(interaction["response"]).replace(old, new, count)
    interaction["response"].update(_cassette.body_entry(text, "text/event-stream"))
    return interaction


BROKEN = {
    "tool execution without arguments": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][0].pop("arguments")),
    "misspelled usage field": lambda: _edit_json(
        _web_search_answer(), "response",
        lambda b: b["usage"].update(conector_tokens=b["usage"].pop("connector_tokens"))),
    "tool reference without a title": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][1]["content"][1].pop("title")),
    "function on a message entry (only tool calls carry it)": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][1].update(function="web_search")),
    "tool call whose function is not a string": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][0].update(function=None)),
    "misspelled function on a tool call": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][0].update(functoin=b["outputs"][0].pop("function"))),
    "source on a text chunk (only references carry it)": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][1]["content"][0].update(source="brave")),
    "unknown output entry type": lambda: _edit_json(
        _web_search_answer(), "response", lambda b: b["outputs"][1].update(type="message.outptu")),
    "input entry without the SDK's defaults": lambda: _edit_json(
        _web_search_answer(), "request", lambda b: b["inputs"][0].pop("prefix")),
    "tool spec the SDK does not know": lambda: _edit_json(
        _web_search_answer(), "request", lambda b: b["tools"].append({"type": "web_serach"})),
    "stream event named differently from its data": lambda: _replace_sse(
        _stream(), "event: message.output.delta", "event: message.output"),
    "stream event of an unknown type": lambda: _replace_sse(  # the event line and its data.type
        _stream(), "message.output.delta", "message.delta", count=2),
    "stream request without #stream": lambda: _stream() | {"request": {
        **_stream()["request"], "uri": "https://api.mistral.ai/v1/conversations"}},
    "connector with a visibility the SDK does not know": lambda: _edit_json(
        _first("08_connector_lifecycle", lambda i: i["response"]["status"]["code"] == 201),
        "response", lambda b: b.update(visibility="privat")),
    "agent without a version": lambda: _edit_json(
        _first("06_agent_with_connectors", lambda i: i["request"]["uri"].endswith("/v1/agents")),
        "response", lambda b: b.pop("version")),
    "422 without detail": lambda: _edit_json(
        _first("04_multiple_tools", lambda i: i["response"]["status"]["code"] == 422),
        "response", lambda b: b.pop("detail")),
    "400 without a message": lambda: _edit_json(
        _first("01_hello_world", lambda i: i["response"]["status"]["code"] == 400),
        "response", lambda b: b.pop("message")),
    "connector create answered 200 (the SDK wants 201)": lambda: (lambda i: i["response"]["status"].update(
        code=200) or i)(_first("08_connector_lifecycle", lambda i: i["response"]["status"]["code"] == 201)),
    "agent delete with a body": lambda: (lambda i: i["response"].update(
        {"json": {}, "content-type": "application/json"}) or i)(
        _first("06_agent_with_connectors", lambda i: i["request"]["method"] == "DELETE")),
}


@pytest.mark.parametrize("breakage", BROKEN, ids=list(BROKEN))
def test_a_broken_fixture_is_rejected(breakage):
    broken = BROKEN[breakage]()
    with pytest.raises(SchemaProblem):
        check_interaction(broken)


def test_the_unbroken_originals_pass():
    """The broken fixtures above start from exchanges that do pass."""
    for make in (_web_search_answer, _stream):
        check_interaction(make())


# --------------------------------------------------------------------------- the authoring script


def test_authoring_script_reproduces_the_authored_cassettes(no_network):
    from fixtures import author_cassettes as author  # tests/ is on the path (pyproject's pythonpath)

    for name, text in author.render_all().items():
        path = _cassette.BUNDLED_DIR / f"{name}.yaml"
        if (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("provenance") != "authored":
            continue  # replaced by a real recording: the script no longer owns it
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs from what tests/fixtures/author_cassettes.py writes: run it and commit")


TRICKY_TEXT = [
    "One line.",
    "A model's answer\nover lines, with an emoji 😀 and é\n",
    "NEL \x85 and LINE SEPARATOR \u2028 and PARAGRAPH SEPARATOR \u2029 inside",
    "after a break\n\x85 at a line's start\n\u2028\n",
    "\x85",
    "tabs\tand\r\nwindows line ends\r\n",
    "  leading spaces, trailing ones  \n\n",
    "- looks like: yaml | > # but is text",
]


@pytest.mark.parametrize("text", TRICKY_TEXT, ids=range(len(TRICKY_TEXT)))
def test_a_written_cassette_reads_back_every_character(text):
    # YAML 1.1 takes U+0085, U+2028 and U+2029 for line breaks: written raw, they come back as "\n"
    interaction = {
        "request": _cassette.request_entry("POST", "https://api.mistral.ai/v1/conversations",
                                           {"content-type": "text/plain"}, text),
        "response": _cassette.response_entry(200, "OK", "text/plain", text),
    }
    written = _cassette.dumps({"recipe": "t", "interactions": [interaction]})
    (back,) = _cassette.loads(written)["interactions"]
    assert (back["request"]["text"], back["response"]["text"]) == (text, text)
    if text == TRICKY_TEXT[1]:  # and a model's usual answer stays readable: a literal block, the emoji as it is
        assert "text: |\n      A model's answer\n      over lines, with an emoji 😀 and é\n" in written
