"""The bundled cassettes agree with what public captures of the real Mistral API show.

The cassettes are authored (tests/fixtures/author_cassettes.py), not recorded, so
their shape must follow the captures named in ``cookbook._cassette.CAPTURES``. One
test per fact, each over every bundled exchange:

1. a connector's tool calls are named ``<connector name>_<MCP tool name>``;
2. a tool call carries ``function`` (= ``name``), and ``model`` where the
   capture shows it (entries and ``tool.execution.started``; the captured delta
   and done events have none, nor do the SDK's models); its ``info`` is the
   tool's result (``{}``), never connector metadata; a conversation response
   ends with ``"guardrails": null``; keys come in the API's order;
3. streams: each tool call is started with ``arguments: ""``, its arguments come
   in deltas that join to JSON, then it is done; some stream has parallel calls;
   message text arrives token by token;
4. ``tool_reference`` chunks: a null favicon, a ``source`` instead of a
   description, references back to back before the closing ``"."``;
5. ids are UUIDv7 (hex behind a prefix; connector ids as UUID strings) whose
   time is the object's;
6. an answer can hold several ``message.output`` entries (recipe 6's does);
7. DeepWiki's tools come in the order and with the descriptions it gives them;
   a connector delete answers ``{"message": "Connector deleted successfully"}``;
8. error bodies have the shape the API sent for their status in 2026, and the
   statuses no public capture shows are marked ``capture: none``;

and every authored exchange says which captures it follows. Each check is a
function returning the problems it finds; the second half of this file breaks a
copy of a cassette for each check and asserts the check reports it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from mistralai.client import models
from recipes import BY_SLUG

from cookbook import _cassette

BUILT_IN = set(typing.get_args(typing.get_args(models.BuiltInConnectors)[0]))
DEEPWIKI_MCP = "https://mcp.deepwiki.com/mcp"
DEEPWIKI_TOOLS = {  # name -> description, in the order DeepWiki lists them (mistral-cookbook capture)
    "ask_question": "Ask any question about a GitHub repository and get an AI-powered, context-grounded response.",
    "read_wiki_contents": "View documentation about a GitHub repository.",
    "read_wiki_structure": "Get a list of documentation topics for a GitHub repository.",
}
CONNECTOR_DELETED = {"message": "Connector deleted successfully"}

# The keys, in order, that the captures show ("agent_id" only in an agent's conversation).
RESPONSE_KEYS = ["object", "conversation_id", "outputs", "usage", "guardrails"]
ENTRY_KEYS = {
    "tool.execution": ["object", "type", "created_at", "completed_at", "agent_id", "model", "id", "name",
                       "arguments", "function", "info"],
    "message.output": ["object", "type", "created_at", "completed_at", "agent_id", "model", "id", "role", "content"],
}
EVENT_KEYS = {
    "tool.execution.started": ["type", "created_at", "output_index", "id", "agent_id", "model", "name", "arguments",
                               "function"],
    "tool.execution.delta": ["type", "created_at", "output_index", "id", "name", "arguments", "function"],
    "tool.execution.done": ["type", "created_at", "output_index", "id", "name", "function", "info"],
    "message.output.delta": ["type", "created_at", "output_index", "id", "content_index", "agent_id", "model", "role",
                             "content"],
}
CONNECTOR_METADATA = {"connector_id", "connector_name"}

# Error bodies as the API sent them in 2026.
API_ERROR_KEYS = ["object", "message", "type", "param", "code", "raw_status_code"]
RATE_LIMITED = {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
                "code": "1300", "raw_status_code": 429}
BAD_KEY = {"detail": "Unauthorized"}
SERVER_ERROR_KEYS = ["object", "message", "type", "code"]  # a 500 from /v1/conversations
VALIDATION_KEYS = ["type", "loc", "msg", "input"]
UNCAPTURED_STATUSES = {403, 404, 503}  # no public capture: authored guesses, marked capture: none

ID_PREFIXES = {"conversation": "conv", "message.output": "msg", "tool.execution": "tool_exec", "agent": "ag"}
HEX_ID = re.compile(r"(?P<prefix>[a-z_]+?)_(?P<hex>[0-9a-f]{32})")
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TOKEN_MAX = 12  # characters in one streamed piece of text


# --------------------------------------------------------------------------- the bundle, read once


def load_bundle() -> dict[str, list[dict]]:
    """Every bundled cassette: its interactions with request and response parsed (a stream as its events)."""
    bundle = {}
    for name in _cassette.bundled_names():
        doc = _cassette.loads((_cassette.BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        items = []
        for index, interaction in enumerate(doc["interactions"]):
            request, response = interaction["request"], interaction["response"]
            items.append({
                "where": f"{name} #{index}", "cassette": name, "method": request["method"], "uri": request["uri"],
                "request": request.get("json"), "status": response["status"]["code"],
                "provenance": interaction.get("provenance"), "capture": interaction.get("capture"),
                "events": [event["data"] for event in response["sse"]] if "sse" in response else None,
                "body": response.get("json"),
            })
        bundle[name] = items
    return bundle


BUNDLE = load_bundle()


def _path(item: dict) -> str:
    return urlsplit(item["uri"]).path


def _is_mistral(item: dict) -> bool:
    return urlsplit(item["uri"]).netloc == "api.mistral.ai"


def _items(bundle: dict) -> Iterator[dict]:
    for items in bundle.values():
        yield from items


def _conversations(bundle: dict) -> Iterator[dict]:
    """Answered conversation requests, streamed or not."""
    for item in _items(bundle):
        if _is_mistral(item) and item["method"] == "POST" and _path(item) == "/v1/conversations" \
                and item["status"] == 200:
            yield item


def _responses(bundle: dict) -> Iterator[dict]:
    for item in _conversations(bundle):
        if item["events"] is None:
            yield item


def _streams(bundle: dict) -> Iterator[dict]:
    for item in _conversations(bundle):
        if item["events"] is not None:
            yield item


def _entries(item: dict, kind: str) -> list[dict]:
    return [o for o in item["body"]["outputs"] if o.get("type") == kind]


def _events(item: dict, kind: str) -> list[dict]:
    return [e for e in item["events"] if e.get("type") == kind]


def _message_chunks(item: dict) -> list[list[Any]]:
    """Each message's content as a list of chunks (a string content is one text chunk); streamed deltas per message."""
    if item["events"] is None:
        return [[{"type": "text", "text": m["content"]}] if isinstance(m["content"], str) else m["content"]
                for m in _entries(item, "message.output")]
    by_message: dict[str, list] = {}
    for event in _events(item, "message.output.delta"):
        content = event["content"]
        by_message.setdefault(event["id"], []).append(
            {"type": "text", "text": content} if isinstance(content, str) else content)
    return list(by_message.values())


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _id_time(hex32: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(hex32[:12], 16) / 1000, dt.UTC)


def _order(keys: list[str], expected: list[str]) -> bool:
    """``keys`` are ``expected`` in that order, an ``agent_id`` being optional."""
    return keys == [k for k in expected if k != "agent_id" or "agent_id" in keys]


# --------------------------------------------------------------------------- what the bundle says about connectors


def connector_servers(bundle: dict) -> dict[str, str | None]:
    """Connector name -> MCP server URL, from every connector the bundle lists, creates or answers."""
    servers: dict[str, str | None] = {}
    for item in _items(bundle):
        if not _is_mistral(item) or not _path(item).startswith("/v1/connectors") or item["status"] >= 400:
            continue
        body = item["body"]
        found = body["items"] if isinstance(body, dict) and "items" in body else [body] if isinstance(body, dict) \
            and "protocol" in body else []
        for connector in found:
            servers[connector["name"]] = connector.get("server")
    return servers


def connector_ids(bundle: dict) -> dict[str, str]:
    """Connector id -> name."""
    ids = {}
    for item in _items(bundle):
        if _is_mistral(item) and _path(item).startswith("/v1/connectors") and item["status"] < 400:
            body = item["body"]
            for connector in (body.get("items", [body]) if isinstance(body, dict) else []):
                if isinstance(connector, dict) and "protocol" in connector:
                    ids[connector["id"]] = connector["name"]
    return ids


def _list_tools_answers(items: Iterator[dict] | list[dict]) -> Iterator[tuple[str, dict]]:
    """(connector name, interaction) for each answered ``connectors.list_tools``."""
    for item in items:
        match = re.fullmatch(r"/v1/connectors/([^/]+)/tools", _path(item))
        if _is_mistral(item) and match and item["status"] == 200:
            yield match.group(1), item


def _preflight_answers(items: Iterator[dict] | list[dict]) -> Iterator[tuple[str, dict]]:
    """(MCP server URL, interaction) for each answered ``tools/list`` of a preflight."""
    for item in items:
        request = item["request"]
        if not _is_mistral(item) and isinstance(request, dict) and request.get("method") == "tools/list":
            yield item["uri"], item


def connector_tool_names(bundle: dict, connector: str, cassette: str) -> list[str] | None:
    """A connector's MCP tool names: its list_tools answer or its server's preflight, in this cassette or else
    anywhere in the bundle (None when nothing says)."""
    server = connector_servers(bundle).get(connector)
    for items in (bundle[cassette], list(_items(bundle))):
        for name, item in _list_tools_answers(items):
            if name == connector:
                return [t["name"] for t in item["body"]]
        pages = [item["body"]["result"]["tools"] for url, item in _preflight_answers(items) if url == server]
        if pages:  # a preflight per cassette: its pages in order
            return [t["name"] for page in pages for t in page]
    return None


def request_tools(bundle: dict, item: dict) -> list[dict] | None:
    """The tools of a conversation request; for an agent's, those of the agent created in the same cassette."""
    request = item["request"]
    if "agent_id" not in request:
        return request.get("tools") or []
    for other in bundle[item["cassette"]]:
        if _is_mistral(other) and other["method"] == "POST" and _path(other) == "/v1/agents" \
                and other["status"] == 200 and other["body"]["id"] == request["agent_id"]:
            return other["body"]["tools"]
    return None


def _connector_names(bundle: dict, tools: list[dict]) -> list[str]:
    ids = connector_ids(bundle)
    return [ids.get(t["connector_id"], t["connector_id"]) for t in tools if t.get("type") == "connector"]


def _called_names(item: dict) -> list[str]:
    """Every tool name an answer gives: tool calls, streamed tool events, and references to a tool."""
    if item["events"] is None:
        names = [o["name"] for o in _entries(item, "tool.execution")]
    else:
        names = [e["name"] for e in item["events"] if e.get("type", "").startswith("tool.execution.")]
    references = [c["tool"] for chunks in _message_chunks(item) for c in chunks if c.get("type") == "tool_reference"]
    return names + references


# --------------------------------------------------------------------------- the checks (each returns its problems)


def check_connector_tool_names(bundle: dict) -> list[str]:
    """Fact 1: a connector's calls are named <connector name>_<one of its MCP tools>; filters use bare names."""
    problems = []
    for item in _conversations(bundle):
        tools = request_tools(bundle, item)
        if tools is None:
            problems.append(f"{item['where']}: no agent {item['request']['agent_id']} is created in this cassette")
            continue
        connectors = _connector_names(bundle, tools)
        kinds = {t.get("type") for t in tools}
        for name in _called_names(item):
            if name in BUILT_IN:
                if name not in kinds:
                    problems.append(f"{item['where']}: {name} is called but not among the request's tools")
                continue
            owners = sorted((c for c in connectors if name.startswith(f"{c}_")), key=len, reverse=True)
            if not owners:
                problems.append(f"{item['where']}: {name!r} is not <connector>_<tool> for a connector in "
                                f"{connectors}")
                continue
            known = connector_tool_names(bundle, owners[0], item["cassette"])
            if known is None:
                problems.append(f"{item['where']}: no list_tools or MCP preflight in the bundle says what "
                                f"{owners[0]}'s tools are")
            elif name[len(owners[0]) + 1:] not in known:
                problems.append(f"{item['where']}: {name!r}: {owners[0]} has no tool "
                                f"{name[len(owners[0]) + 1:]!r} (its tools: {known})")
        for tool in tools:
            configuration = tool.get("tool_configuration") or {}
            known = connector_tool_names(bundle, _connector_names(bundle, [tool])[0], item["cassette"]) \
                if tool.get("type") == "connector" else None
            for bare in (configuration.get("include") or []) + (configuration.get("exclude") or []):
                if known is not None and bare not in known:
                    problems.append(f"{item['where']}: tool_configuration names {bare!r}, not a bare MCP tool name")
    return problems


def _tool_call_problems(where: str, call: dict, *, needs_model: bool, needs_info: bool) -> list[str]:
    problems = []
    if call.get("function") != call.get("name"):
        problems.append(f"{where}: function {call.get('function')!r} is not the name {call.get('name')!r}")
    if needs_model and not (isinstance(call.get("model"), str) and call["model"]):
        problems.append(f"{where}: {call.get('name')} has no model")
    if needs_info:
        info = call.get("info")
        if not isinstance(info, dict):
            problems.append(f"{where}: info is {info!r}, not the tool's result")
        elif CONNECTOR_METADATA & set(info):
            problems.append(f"{where}: info holds connector metadata {sorted(CONNECTOR_METADATA & set(info))}")
        elif info != {}:  # web_search's result is {}; no capture shows one for a connector call
            problems.append(f"{where}: {call.get('name')}'s info is {info!r}, not {{}}")
    return problems


def check_tool_calls_and_responses(bundle: dict) -> list[str]:
    """Fact 2: function = name and model on tool calls, info {}, guardrails null, keys in the API's order."""
    problems = []
    for item in _responses(bundle):
        body, where = item["body"], item["where"]
        if list(body) != RESPONSE_KEYS or body.get("guardrails", "missing") is not None:
            problems.append(f"{where}: a conversation response is {RESPONSE_KEYS} with guardrails null, not "
                            f"{list(body)} (guardrails {body.get('guardrails', 'missing')!r})")
        for index, entry in enumerate(body["outputs"]):
            expected = ENTRY_KEYS.get(entry.get("type"))
            if expected and not _order(list(entry), expected):
                problems.append(f"{where} output {index}: keys {list(entry)}, not {expected}")
            if entry.get("type") == "tool.execution":
                problems += _tool_call_problems(f"{where} output {index}", entry, needs_model=True, needs_info=True)
    for item in _streams(bundle):
        for index, event in enumerate(item["events"]):
            kind = event.get("type", "")
            if kind.startswith("tool.execution."):
                problems += _tool_call_problems(f"{item['where']} event {index}", event,
                                                needs_model=kind == "tool.execution.started",
                                                needs_info=kind == "tool.execution.done")
    return problems


def _looks_like_a_token(piece: str) -> bool:
    if not piece.strip():
        return True  # line breaks
    return len(piece) <= TOKEN_MAX and not re.search(r"\S\s+\S", piece) and not piece.endswith((" ", "\t"))


def check_streams(bundle: dict) -> list[str]:
    """Fact 3: started (arguments ""), deltas joining to JSON, done; token-like text; event keys in order."""
    problems = []
    for item in _streams(bundle):
        where, events = item["where"], item["events"]
        for index, event in enumerate(events):
            expected = EVENT_KEYS.get(event.get("type"))
            if expected and not _order(list(event), expected):
                problems.append(f"{where} event {index}: keys {list(event)}, not {expected}")
        calls: dict[str, list[dict]] = {}
        for event in events:
            if event.get("type", "").startswith("tool.execution."):
                calls.setdefault(event["id"], []).append(event)
        for call_id, call in calls.items():
            kinds = [e["type"] for e in call]
            if kinds[0] != "tool.execution.started" or call[0].get("arguments") != "":
                problems.append(f"{where}: {call_id} does not open with tool.execution.started, arguments \"\"")
            if kinds.count("tool.execution.delta") < 1:
                problems.append(f"{where}: {call_id}'s arguments come in no tool.execution.delta")
            if kinds[-1] != "tool.execution.done" or kinds.count("tool.execution.done") != 1 \
                    or kinds.count("tool.execution.started") != 1:
                problems.append(f"{where}: {call_id} is not started once, then done once at the end: {kinds}")
            arguments = "".join(e.get("arguments", "") for e in call if e["type"] == "tool.execution.delta")
            try:
                json.loads(arguments)
            except ValueError:
                problems.append(f"{where}: {call_id}'s deltas join to {arguments!r}, not JSON")
        pieces = [e["content"] for e in _events(item, "message.output.delta") if isinstance(e["content"], str)]
        bad = [p for p in pieces if not _looks_like_a_token(p)]
        if bad:
            problems.append(f"{where}: text deltas that are not token-like: {bad[:3]}")
        if pieces and not any(p.startswith(" ") for p in pieces):
            problems.append(f"{where}: no text delta keeps its leading space")
        done = _events(item, "conversation.response.done")
        if len(done) != 1 or not isinstance(done[0].get("usage"), dict) or events[-1] is not done[0]:
            problems.append(f"{where}: the stream does not end with one conversation.response.done with usage")
    return problems


def parallel_streams(bundle: dict) -> list[str]:
    """The streams in which several tool calls are all started before any is done and their deltas interleave."""
    found = []
    for item in _streams(bundle):
        tool_events = [e for e in item["events"] if e.get("type", "").startswith("tool.execution.")]
        kinds = [e["type"] for e in tool_events]
        if kinds.count("tool.execution.started") < 2 or "tool.execution.done" not in kinds:
            continue
        before_done = kinds[:kinds.index("tool.execution.done")]
        deltas = [e["id"] for e in tool_events if e["type"] == "tool.execution.delta"]
        switches = sum(1 for a, b in zip(deltas, deltas[1:], strict=False) if a != b)
        if before_done.count("tool.execution.started") >= 2 and switches >= 2:
            found.append(item["where"])
    return found


def check_parallel_calls(bundle: dict) -> list[str]:
    """Fact 3: at least one stream shows parallel tool calls."""
    return [] if parallel_streams(bundle) else ["no stream has tool calls started together with interleaved deltas"]


def _references(bundle: dict) -> Iterator[tuple[str, list[dict]]]:
    for item in _conversations(bundle):
        for chunks in _message_chunks(item):
            yield item["where"], chunks


def check_references(bundle: dict) -> list[str]:
    """Fact 4: reference keys; a null favicon, a source instead of a description, references back to back."""
    problems = []
    null_favicon = with_source = back_to_back = False
    for where, chunks in _references(bundle):
        for index, chunk in enumerate(chunks):
            if chunk.get("type") != "tool_reference":
                continue
            keys = set(chunk)
            if not keys <= {"type", "tool", "title", "url", "favicon", "description", "source"} or \
                    "favicon" not in keys or ("description" in keys) == ("source" in keys):
                problems.append(f"{where}: a tool_reference has {sorted(keys)} (favicon, and a description or a "
                                "source)")
            null_favicon |= chunk.get("favicon") is None
            with_source |= "source" in keys and "description" not in keys
            following = chunks[index + 1:index + 2]
            closing = following and following[0].get("type") == "text" and following[0]["text"].startswith(".")
            back_to_back |= bool(index and chunks[index - 1].get("type") == "tool_reference" and closing)
    for found, what in ((null_favicon, "a reference with a null favicon"),
                        (with_source, "a reference with a source instead of a description"),
                        (back_to_back, "references back to back before the closing \".\"")):
        if not found:
            problems.append(f"no answer has {what}")
    return problems


def _hex_id(value: Any, prefix: str, where: str, near: str | None = None,
            before: str | None = None) -> list[str]:
    match = HEX_ID.fullmatch(value) if isinstance(value, str) else None
    if not match or match["prefix"] != prefix:
        return [f"{where}: {value!r} is not {prefix}_ and 32 hex digits"]
    hex32 = match["hex"]
    if hex32[12] != "7" or hex32[16] not in "89ab":
        return [f"{where}: {value!r} is not a UUIDv7 (version 7, variant 10)"]
    return _id_time_problems(_id_time(hex32), value, where, near, before)


def _id_time_problems(when: dt.datetime, value: str, where: str, near: str | None,
                      before: str | None) -> list[str]:
    if near is not None and abs(when - _time(near)) > dt.timedelta(seconds=1):
        return [f"{where}: {value!r} was made at {when:%Y-%m-%dT%H:%M:%S.%f}, not at its created_at {near}"]
    if before is not None and not dt.timedelta(0) <= _time(before) - when <= dt.timedelta(minutes=1):
        return [f"{where}: {value!r} was made at {when:%Y-%m-%dT%H:%M:%S.%f}, not just before {before}"]
    return []


def _connector_id(value: Any, where: str, created: str) -> list[str]:
    if not (isinstance(value, str) and UUID7.fullmatch(value)):
        return [f"{where}: connector id {value!r} is not a UUIDv7 string"]
    return _id_time_problems(_id_time(value.replace("-", "")), value, where, created, None)


def check_ids(bundle: dict) -> list[str]:
    """Fact 5: conv_/msg_/tool_exec_/ag_ ids and connector ids are UUIDv7 made when their object was."""
    problems = []
    for item in _responses(bundle):
        body, where = item["body"], item["where"]
        outputs = body["outputs"]
        problems += _hex_id(body["conversation_id"], "conv", where, before=outputs[0]["created_at"])
        for index, entry in enumerate(outputs):
            problems += _hex_id(entry.get("id"), ID_PREFIXES[entry["type"]], f"{where} output {index}",
                                near=entry["created_at"])
    for item in _streams(bundle):
        events, where = item["events"], item["where"]
        problems += _hex_id(events[0].get("conversation_id"), "conv", where, before=events[1]["created_at"])
        for index, event in enumerate(events[1:-1], start=1):
            prefix = "msg" if event["type"].startswith("message.") else "tool_exec"
            problems += _hex_id(event.get("id"), prefix, f"{where} event {index}", before=event["created_at"])
    for item in _items(bundle):
        if not _is_mistral(item) or item["status"] >= 300 or not isinstance(item["body"], dict):
            continue
        body = item["body"]
        if _path(item) == "/v1/agents":
            problems += _hex_id(body.get("id"), "ag", item["where"], near=body["created_at"])
        for connector in body.get("items", [body]) if _path(item).startswith("/v1/connectors") else []:
            if isinstance(connector, dict) and "protocol" in connector:
                problems += _connector_id(connector.get("id"), item["where"], connector["created_at"])
    return problems


def check_several_messages(bundle: dict) -> list[str]:
    """Fact 6: recipe 6's default prompt is answered with a message, a tool call, then another message."""
    (prompt,) = BY_SLUG["06_agent_with_connectors"]["prompts"]
    answers = [item for item in _responses(bundle) if item["cassette"] == "06_agent_with_connectors"
               and item["request"]["inputs"][0]["content"] == prompt]
    if not answers:
        return ["recipe 6's default prompt has no answer"]
    problems = []
    for item in answers:
        kinds = [o["type"] for o in item["body"]["outputs"]]
        if kinds != ["message.output", "tool.execution", "message.output"]:
            problems.append(f"{item['where']}: recipe 6's answer is {kinds}, not a message, a tool call, a message")
    return problems


def _deepwiki_problems(where: str, tools: list[dict]) -> list[str]:
    got = [(t.get("name"), t.get("description")) for t in tools]
    if got != list(DEEPWIKI_TOOLS.items()):
        return [f"{where}: DeepWiki's tools are {got}, not {list(DEEPWIKI_TOOLS.items())}"]
    return []


def check_deepwiki_and_delete(bundle: dict) -> list[str]:
    """Fact 7: DeepWiki's tools, in list_tools and in the preflight; the connector delete's answer."""
    problems, listings = [], 0
    servers = connector_servers(bundle)
    for name, item in _list_tools_answers(_items(bundle)):
        if servers.get(name) == DEEPWIKI_MCP:
            listings += 1
            problems += _deepwiki_problems(f"{item['where']} (list_tools of {name})", item["body"])
    for name, items in bundle.items():  # a preflight's pages, in order, per cassette
        pages = [item["body"]["result"]["tools"] for url, item in _preflight_answers(items) if url == DEEPWIKI_MCP]
        if pages:
            listings += 1
            problems += _deepwiki_problems(f"{name}'s MCP preflight", [t for page in pages for t in page])
    for item in _items(bundle):
        if _is_mistral(item) and item["method"] == "DELETE" and _path(item).startswith("/v1/connectors/"):
            if (item["status"], item["body"]) != (200, CONNECTOR_DELETED):
                problems.append(f"{item['where']}: a connector delete answers 200 {CONNECTOR_DELETED}, not "
                                f"{item['status']} {item['body']}")
    if not listings:
        problems.append("no DeepWiki tool listing in the bundle")
    return problems


def _api_error_problems(where: str, status: int, body: Any) -> list[str]:
    if not isinstance(body, dict) or list(body) != API_ERROR_KEYS:
        return [f"{where}: a {status} body is {API_ERROR_KEYS}, not {list(body) if isinstance(body, dict) else body}"]
    types_ok = (body["object"] == "error" and isinstance(body["message"], str) and body["message"]
                and isinstance(body["type"], str) and (body["param"] is None or isinstance(body["param"], str))
                and isinstance(body["code"], str) and body["raw_status_code"] == status)
    return [] if types_ok else [f"{where}: a {status} body has the wrong types or raw_status_code: {body}"]


def check_error_bodies(bundle: dict) -> list[str]:
    """Fact 8: each error body has its status's 2026 shape; statuses no capture shows are capture: none."""
    problems = []
    for item in _items(bundle):
        status, body, where = item["status"], item["body"], item["where"]
        if not _is_mistral(item) or status < 400:
            continue
        if status == 429:
            if body != RATE_LIMITED:
                problems.append(f"{where}: a 429 body is {RATE_LIMITED}, not {body}")
        elif status == 400:
            problems += _api_error_problems(where, status, body)
            if isinstance(body, dict) and body.get("type") == "invalid_model":
                model = (item["request"] or {}).get("model")
                if (body.get("message"), body.get("code")) != (f"Invalid model: {model}", "1500"):
                    problems.append(f"{where}: an invalid model is 'Invalid model: {model}', code '1500': {body}")
        elif status == 401:
            if body != BAD_KEY:  # otherwise an expired connector token: no capture, a guess
                problems += _api_error_problems(where, status, body)
                if item["capture"] != "none":
                    problems.append(f"{where}: no public capture shows this 401; it is capture: none")
        elif status == 422:
            detail = body.get("detail") if isinstance(body, dict) else None
            if list(body or {}) != ["detail"] or not isinstance(detail, list) or not detail or any(
                    not isinstance(d, dict) or list(d) != VALIDATION_KEYS or not isinstance(d["type"], str)
                    or not isinstance(d["loc"], list) or not isinstance(d["msg"], str) for d in detail):
                problems.append(f"{where}: a 422 body is {{'detail': [{VALIDATION_KEYS}]}}, not {body}")
        elif status == 500:
            if not (isinstance(body, dict) and list(body) == SERVER_ERROR_KEYS and body["object"] == "Error"
                    and isinstance(body["message"], str) and body["type"] == "invalid_request_error"
                    and isinstance(body["code"], int) and not isinstance(body["code"], bool)):
                problems.append(f"{where}: a 500 body is {SERVER_ERROR_KEYS} (object 'Error', integer code): {body}")
        elif status in UNCAPTURED_STATUSES:
            problems += _api_error_problems(where, status, body)
            if item["capture"] != "none":
                problems.append(f"{where}: no public capture shows a {status}; it is capture: none")
        else:
            problems.append(f"{where}: no capture or guess covers a {status}")
    return problems


def check_captures(bundle: dict) -> list[str]:
    """Every authored exchange names the captures it follows (or none); some only honestly can."""
    problems = []
    conversations = {item["where"] for item in _conversations(bundle)}
    for item in _items(bundle):
        capture, where = item["capture"], item["where"]
        if item["provenance"] != "authored":
            continue
        if capture != "none" and not (isinstance(capture, list) and capture and all(
                isinstance(key, str) for key in capture) and set(capture) <= set(_cassette.CAPTURES)):
            problems.append(f"{where}: capture is 'none' or a list of {sorted(_cassette.CAPTURES)}, not {capture!r}")
            continue
        creates = _is_mistral(item) and item["method"] == "POST" and _path(item) in ("/v1/agents", "/v1/connectors")
        if creates and item["status"] < 300 and capture != "none":
            problems.append(f"{where}: no public capture shows a created {_path(item)[4:-1]}; it is capture: none")
        calls_a_connector = where in conversations and any(
            name not in BUILT_IN for name in _called_names(item))
        if calls_a_connector and (capture == "none" or "mistral-cookbook" not in capture):
            problems.append(f"{where}: its connector calls are named as mistral-cookbook's capture shows; say so")
    return problems


CHECKS: dict[str, Callable[[dict], list[str]]] = {
    "1 connector tool names": check_connector_tool_names,
    "2 tool calls and responses": check_tool_calls_and_responses,
    "3 streams": check_streams,
    "3 parallel calls": check_parallel_calls,
    "4 references": check_references,
    "5 ids": check_ids,
    "6 several messages": check_several_messages,
    "7 DeepWiki and delete": check_deepwiki_and_delete,
    "8 error bodies": check_error_bodies,
    "captures": check_captures,
}


# --------------------------------------------------------------------------- the bundled cassettes pass


def test_fact_1_connector_calls_are_named_connector_underscore_tool():
    assert check_connector_tool_names(BUNDLE) == []


def test_fact_2_tool_calls_carry_function_and_model_info_is_the_result_and_guardrails_is_null():
    assert check_tool_calls_and_responses(BUNDLE) == []


def test_fact_3_streams_open_send_and_close_each_call_and_text_comes_token_by_token():
    assert check_streams(BUNDLE) == []


def test_fact_3_a_stream_has_parallel_tool_calls():
    assert check_parallel_calls(BUNDLE) == []
    assert "08_connector_lifecycle" in " ".join(parallel_streams(BUNDLE))


def test_fact_4_references_null_favicon_source_and_back_to_back():
    assert check_references(BUNDLE) == []


def test_fact_5_ids_are_uuidv7_made_when_their_object_was():
    assert check_ids(BUNDLE) == []


def test_fact_6_an_answer_holds_several_messages():
    assert check_several_messages(BUNDLE) == []


def test_fact_7_deepwiki_tools_and_connector_delete():
    assert check_deepwiki_and_delete(BUNDLE) == []


def test_fact_8_error_bodies_have_their_status_shape():
    assert check_error_bodies(BUNDLE) == []


def test_every_authored_exchange_names_its_captures():
    assert check_captures(BUNDLE) == []


def test_the_checks_look_at_something():
    """No check passes because it found nothing to look at."""
    assert len(list(_responses(BUNDLE))) >= 15 and len(list(_streams(BUNDLE))) >= 6
    assert sum(len(_entries(i, "tool.execution")) for i in _responses(BUNDLE)) >= 10
    assert {i["status"] for i in _items(BUNDLE)} >= {200, 201, 204, 400, 401, 403, 404, 422, 429, 503}


@pytest.mark.parametrize("name", list(BUNDLE))
def test_a_cassette_is_plain_yaml_without_aliases(name):
    """Shared values (a capture list) are written out each time, never as YAML anchors and aliases."""
    text = (_cassette.BUNDLED_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert not any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text))


# --------------------------------------------------------------------------- each check can fail


ALL = "*"


def mutated(cassette: str, edit: Callable[[list[dict]], Any]) -> dict:
    """A copy of the bundle with ``edit`` applied to one cassette's interactions (to every cassette's: ``ALL``)."""
    bundle = copy.deepcopy(BUNDLE)
    for name in bundle if cassette == ALL else [cassette]:
        edit(bundle[name])
    return bundle


def _first(items: list[dict], predicate: Callable[[dict], bool]) -> dict:
    return next(item for item in items if predicate(item))


def _answer(n: int = 0) -> Callable[[list[dict]], dict]:
    """The n-th non-streamed conversation answer of a cassette."""
    return lambda items: [i for i in items if _path(i) == "/v1/conversations" and i["status"] == 200
                          and i["events"] is None][n]


def _stream(items: list[dict]) -> dict:
    return _first(items, lambda i: i["events"] is not None)


def _call(items: list[dict], n: int = 0) -> dict:
    return _entries(_answer(n)(items), "tool.execution")[0]


def _rename(call: dict, name: str) -> None:
    call.update(name=name, function=name)


def _stream_rename(old: str, new: str) -> Callable[[list[dict]], None]:
    def edit(items: list[dict]) -> None:
        for event in _stream(items)["events"]:
            if event.get("name") == old:
                event.update(name=new, function=new)
    return edit


def _drop_deltas(items: list[dict]) -> None:
    stream = _stream(items)
    first = _events(stream, "tool.execution.started")[0]["id"]
    stream["events"] = [e for e in stream["events"] if not (e["type"] == "tool.execution.delta" and e["id"] == first)]


def _sequential(items: list[dict]) -> None:
    """Recipe 8's parallel stream made sequential: each call started, sent, done before the next."""
    stream = _first(items, lambda i: i["events"] is not None and len(_events(i, "tool.execution.started")) > 1)
    tool = [e for e in stream["events"] if e["type"].startswith("tool.execution.")]
    ids = list(dict.fromkeys(e["id"] for e in tool))
    ordered = [e for call_id in ids for e in tool if e["id"] == call_id]
    rest = [e for e in stream["events"] if not e["type"].startswith("tool.execution.")]
    stream["events"] = rest[:1] + ordered + rest[1:]


def _word_groups(items: list[dict]) -> None:
    """The old splitter: three words a delta, trailing space kept."""
    stream = _stream(items)
    deltas = _events(stream, "message.output.delta")
    words = "".join(d["content"] for d in deltas).split(" ")
    groups = [" ".join(words[i:i + 3]) + " " for i in range(0, len(words), 3)]
    head = [e for e in stream["events"] if e["type"] != "message.output.delta" and e["type"] !=
            "conversation.response.done"]
    stream["events"] = head + [{**deltas[0], "content": g} for g in groups] + stream["events"][-1:]


def _all_references(items: list[dict]) -> Iterator[dict]:
    for item in items:
        if _path(item) == "/v1/conversations" and item["status"] == 200:
            for chunks in _message_chunks(item) if item["events"] is None else []:
                yield from (c for c in chunks if c.get("type") == "tool_reference")
            for event in item["events"] or []:
                if isinstance(event.get("content"), dict):
                    yield event["content"]


def _no_null_favicon(items: list[dict]) -> None:
    for chunk in _all_references(items):
        chunk["favicon"] = chunk["favicon"] or "https://example.com/favicon.ico"


def _no_source(items: list[dict]) -> None:
    for chunk in _all_references(items):
        if "source" in chunk:
            chunk["description"] = chunk.pop("source")


def _apart(items: list[dict]) -> None:
    """A text chunk between every two references, in answers and in streams."""
    for item in items:
        if _path(item) != "/v1/conversations" or item["status"] != 200:
            continue
        if item["events"] is None:
            for message in _entries(item, "message.output"):
                if isinstance(message["content"], list):
                    spaced: list[dict] = []
                    for chunk in message["content"]:
                        if spaced and spaced[-1]["type"] == chunk["type"] == "tool_reference":
                            spaced.append({"type": "text", "text": " and"})
                        spaced.append(chunk)
                    message["content"] = spaced
            continue
        events: list[dict] = []
        for event in item["events"]:
            if events and isinstance(events[-1].get("content"), dict) and isinstance(event.get("content"), dict):
                events.append({**event, "content": " and"})
            events.append(event)
        item["events"] = events


def _error(items: list[dict], status: int) -> dict:
    return _first(items, lambda i: i["status"] == status)


def _only_message(items: list[dict]) -> None:
    answer = _answer(0)(items)
    answer["body"]["outputs"] = [o for o in answer["body"]["outputs"] if o["type"] == "tool.execution"] + \
        answer["body"]["outputs"][-1:]


def _list_tools(items: list[dict]) -> list[dict]:
    return _first(items, lambda i: _path(i).endswith("/tools"))["body"]


def _preflight_tools(items: list[dict]) -> list[dict]:
    return _first(items, lambda i: (i["request"] or {}).get("method") == "tools/list")["body"]["result"]["tools"]


def _set(target: Callable[[list[dict]], dict], **values: Any) -> Callable[[list[dict]], None]:
    return lambda items: target(items).update(values)


BROKEN: dict[str, tuple[Callable[[dict], list[str]], str, Callable[[list[dict]], Any]]] = {
    # 1
    "a connector call under its bare MCP name": (
        check_connector_tool_names, "03_custom_connector", lambda items: _rename(_call(items), "read_wiki_structure")),
    "a connector call named after a tool the server lacks": (
        check_connector_tool_names, "03_custom_connector",
        lambda items: _rename(_call(items), "my_deepwiki_read_wiki_structur")),
    "a connector call named after another connector": (
        check_connector_tool_names, "08_connector_lifecycle",
        lambda items: _rename(_call(items), "my_deepwiki_read_wiki_contents")),
    "a streamed connector call under its bare name": (
        check_connector_tool_names, "08_connector_lifecycle",
        _stream_rename("ephemeral_deepwiki_ask_question", "ask_question")),
    "an agent's call when the agent has no such connector": (
        check_connector_tool_names, "06_agent_with_connectors",
        lambda items: _first(items, lambda i: _path(i) == "/v1/agents")["body"].update(tools=[{"type": "web_search"}])),
    "a Gmail call whose tool the connector does not list": (
        check_connector_tool_names, "07_oauth_gmail", lambda items: _rename(_call(items), "gmail_send_email")),
    "a reference to a connector tool under its bare name": (
        check_connector_tool_names, "08_connector_lifecycle",
        lambda items: [c.update(tool="ask_question") for c in _all_references(items) if c["tool"] != "web_search"]),
    "a filter that names the prefixed tool": (
        check_connector_tool_names, "05_tool_filters",
        lambda items: _answer(0)(items)["request"]["tools"][0]["tool_configuration"].update(
            exclude=["my_deepwiki_read_wiki_structure"])),
    # 2
    "connector metadata in info": (
        check_tool_calls_and_responses, "03_custom_connector",
        lambda items: _call(items).update(info={"connector_id": "x", "connector_name": "my_deepwiki"})),
    "a web_search info that is not {}": (
        check_tool_calls_and_responses, "02_web_search", lambda items: _call(items).update(info={"results": 3})),
    "a tool call without function": (
        check_tool_calls_and_responses, "02_web_search", lambda items: _call(items).pop("function")),
    "a tool call whose function is not its name": (
        check_tool_calls_and_responses, "03_custom_connector", lambda items: _call(items).update(function="x")),
    "a tool call without model": (
        check_tool_calls_and_responses, "03_custom_connector", lambda items: _call(items).pop("model")),
    "a response without guardrails": (
        check_tool_calls_and_responses, "01_hello_world", lambda items: _answer(0)(items)["body"].pop("guardrails")),
    "a message entry with id before model": (
        check_tool_calls_and_responses, "01_hello_world",
        lambda items: _answer(0)(items)["body"]["outputs"].__setitem__(0, {
            k: v for k, v in sorted(_answer(0)(items)["body"]["outputs"][0].items(), key=lambda kv: kv[0] != "id")})),
    "a streamed started event without function": (
        check_tool_calls_and_responses, "02_web_search",
        lambda items: _events(_stream(items), "tool.execution.started")[0].pop("function")),
    "a streamed done event with connector metadata": (
        check_tool_calls_and_responses, "08_connector_lifecycle",
        lambda items: _events(_stream(items), "tool.execution.done")[-1].update(info={"connector_name": "e"})),
    # 3
    "a started event with the arguments already in it": (
        check_streams, "02_web_search",
        lambda items: _events(_stream(items), "tool.execution.started")[0].update(arguments='{"query": "x"}')),
    "a tool call with no delta": (check_streams, "02_web_search", _drop_deltas),
    "deltas that do not join to JSON": (
        check_streams, "08_connector_lifecycle",
        lambda items: _events(_stream(items), "tool.execution.delta")[0].update(arguments="{{")),
    "a tool call never done": (
        check_streams, "02_web_search",
        lambda items: _stream(items)["events"].remove(_events(_stream(items), "tool.execution.done")[0])),
    "text in word groups": (check_streams, "01_hello_world", _word_groups),
    "a delta event with keys out of order": (
        check_streams, "01_hello_world",
        lambda items: _stream(items)["events"].__setitem__(1, dict(reversed(_stream(items)["events"][1].items())))),
    "no parallel stream": (check_parallel_calls, "08_connector_lifecycle", _sequential),
    # 4
    "no null favicon": (check_references, ALL, _no_null_favicon),
    "no source instead of a description": (check_references, ALL, _no_source),
    "no references back to back": (check_references, ALL, _apart),
    "a reference with both a description and a source": (
        check_references, "02_web_search",
        lambda items: next(c for c in _all_references(items) if "source" in c).update(description="d")),
    # 5
    "a word id": (check_ids, "01_hello_world",
                  lambda items: _answer(0)(items)["body"].update(conversation_id="conv_01hello000000000000000001")),
    "a UUIDv4 connector id": (
        check_ids, "08_connector_lifecycle",
        lambda items: _first(items, lambda i: i["status"] == 201)["body"].update(
            id="c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f")),
    "a message made a day after its id": (
        check_ids, "01_hello_world",
        lambda items: _answer(0)(items)["body"]["outputs"][0].update(
            created_at="2026-11-26T09:00:00.000000Z")),
    "an agent id that is not ag_ + hex": (
        check_ids, "06_agent_with_connectors",
        lambda items: _first(items, lambda i: _path(i) == "/v1/agents")["body"].update(id="ag_0196a1b2c3d4e5f6")),
    # 6
    "recipe 6 answered with one message": (check_several_messages, "06_agent_with_connectors", _only_message),
    # 7
    "list_tools in the old order": (
        check_deepwiki_and_delete, "04_multiple_tools", lambda items: _list_tools(items).reverse()),
    "a DeepWiki description without its full stop": (
        check_deepwiki_and_delete, "05_tool_filters",
        lambda items: _list_tools(items)[1].update(description="View documentation about a GitHub repository")),
    "the preflight in the old order": (
        check_deepwiki_and_delete, "03_custom_connector", lambda items: _preflight_tools(items).reverse()),
    "a connector delete with another message": (
        check_deepwiki_and_delete, "08_connector_lifecycle",
        lambda items: _first(items, lambda i: i["method"] == "DELETE")["body"].update(message="Deleted")),
    # 8
    "the old 429 message": (
        check_error_bodies, "02_web_search",
        lambda items: _error(items, 429)["body"].update(message="Requests rate limit exceeded")),
    "a 400 without raw_status_code": (
        check_error_bodies, "01_hello_world", lambda items: _error(items, 400)["body"].pop("raw_status_code")),
    "an invalid model with another code": (
        check_error_bodies, "01_hello_world", lambda items: _error(items, 400)["body"].update(code="3000")),
    "a 400 with a numeric code": (
        check_error_bodies, "05_tool_filters", lambda items: _error(items, 400)["body"].update(code=3000)),
    "a 422 detail without input": (
        check_error_bodies, "04_multiple_tools", lambda items: _error(items, 422)["body"]["detail"][0].pop("input")),
    "a 404 claiming a capture": (
        check_error_bodies, "03_custom_connector",
        lambda items: _error(items, 404).update(capture=["braintrust-2026"])),
    "a 503 claiming a capture": (
        check_error_bodies, "01_hello_world", lambda items: _error(items, 503).update(capture=["braintrust-2026"])),
    "an expired-token 401 claiming a capture": (
        check_error_bodies, "07_oauth_gmail", lambda items: _error(items, 401).update(capture=["mistral-cookbook"])),
    "a 403 in the old shape (no raw_status_code)": (
        check_error_bodies, "07_oauth_gmail", lambda items: _error(items, 403)["body"].pop("raw_status_code")),
    "a bad-key 401 with a message": (
        check_error_bodies, "07_oauth_gmail",
        lambda items: _error(items, 401).update(body={"detail": "Unauthorized", "message": "bad key"})),
    "a 500 in the 2026 shape": (
        check_error_bodies, "01_hello_world",
        lambda items: _error(items, 503).update(status=500)),
    # captures
    "an exchange without capture": (
        check_captures, "01_hello_world", lambda items: items[0].update(capture=None)),
    "an unknown capture": (check_captures, "02_web_search", lambda items: items[0].update(capture=["vcr-2024"])),
    "an empty capture list": (check_captures, "02_web_search", lambda items: items[0].update(capture=[])),
    "a created connector claiming a capture": (
        check_captures, "08_connector_lifecycle",
        lambda items: _first(items, lambda i: i["status"] == 201).update(capture=["mistral-cookbook"])),
    "a connector conversation not citing mistral-cookbook": (
        check_captures, "03_custom_connector", lambda items: _answer(0)(items).update(capture=["braintrust-2026"])),
}


# What the report must say for each breakage (so a check fails for the reason it is there for).
REASONS = {
    "a connector call under its bare MCP name": "is not <connector>_<tool>",
    "a connector call named after a tool the server lacks": "has no tool 'read_wiki_structur'",
    "a connector call named after another connector": "is not <connector>_<tool>",
    "a streamed connector call under its bare name": "#7: 'ask_question' is not <connector>_<tool>",
    "an agent's call when the agent has no such connector": "for a connector in []",
    "a Gmail call whose tool the connector does not list": "gmail has no tool 'send_email'",
    "a reference to a connector tool under its bare name": "'ask_question' is not <connector>_<tool>",
    "a filter that names the prefixed tool": "not a bare MCP tool name",
    "connector metadata in info": "info holds connector metadata",
    "a web_search info that is not {}": "web_search's info is {'results': 3}, not {}",
    "a tool call without function": "function None is not the name",
    "a tool call whose function is not its name": "function 'x' is not the name",
    "a tool call without model": "has no model",
    "a response without guardrails": "with guardrails null",
    "a message entry with id before model": "output 0: keys ['id',",
    "a streamed started event without function": "event 1: function None",
    "a streamed done event with connector metadata": "info holds connector metadata",
    "a started event with the arguments already in it": 'arguments ""',
    "a tool call with no delta": "come in no tool.execution.delta",
    "deltas that do not join to JSON": "not JSON",
    "a tool call never done": "then done once at the end",
    "text in word groups": "not token-like: ['The capital of '",
    "a delta event with keys out of order": "event 1: keys ['content'",
    "no parallel stream": "no stream has tool calls started together",
    "no null favicon": "a null favicon",
    "no source instead of a description": "a source instead of a description",
    "no references back to back": "back to back",
    "a reference with both a description and a source": "a description or a source",
    "a word id": "is not conv_ and 32 hex digits",
    "a UUIDv4 connector id": "is not a UUIDv7 string",
    "a message made a day after its id": "not at its created_at 2026-11-26",
    "an agent id that is not ag_ + hex": "is not ag_ and 32 hex digits",
    "recipe 6 answered with one message": "not a message, a tool call, a message",
    "list_tools in the old order": "04_multiple_tools #3 (list_tools of my_deepwiki)",
    "a DeepWiki description without its full stop": "05_tool_filters #4 (list_tools of my_deepwiki)",
    "the preflight in the old order": "03_custom_connector's MCP preflight",
    "a connector delete with another message": "not 200 {'message': 'Deleted'}",
    "the old 429 message": "a 429 body is",
    "a 400 without raw_status_code": "a 400 body is",
    "an invalid model with another code": "code '1500'",
    "a 400 with a numeric code": "wrong types",
    "a 422 detail without input": "a 422 body is",
    "a 404 claiming a capture": "no public capture shows a 404",
    "a 503 claiming a capture": "no public capture shows a 503",
    "an expired-token 401 claiming a capture": "no public capture shows this 401",
    "a 403 in the old shape (no raw_status_code)": "a 403 body is",
    "a bad-key 401 with a message": "a 401 body is",
    "a 500 in the 2026 shape": "a 500 body is",
    "an exchange without capture": "not None",
    "an unknown capture": "not ['vcr-2024']",
    "an empty capture list": "not []",
    "a created connector claiming a capture": "no public capture shows a created connector",
    "a connector conversation not citing mistral-cookbook": "named as mistral-cookbook's capture shows",
}


@pytest.mark.parametrize("breakage", BROKEN, ids=list(BROKEN))
def test_each_check_reports_a_broken_copy(breakage):
    check, cassette, edit = BROKEN[breakage]
    assert check(BUNDLE) == [], "the check must pass on the bundled cassettes first"
    problems = check(mutated(cassette, edit))
    assert any(REASONS[breakage] in problem for problem in problems), (
        f"{check.__name__} did not report {breakage!r} ({REASONS[breakage]!r}): {problems}")


def test_every_breakage_says_what_it_expects():
    assert set(REASONS) == set(BROKEN)


def test_a_mutation_never_touches_the_bundle():
    before = json.dumps(BUNDLE, sort_keys=True)
    for _, cassette, edit in BROKEN.values():
        mutated(cassette, edit)
    assert json.dumps(BUNDLE, sort_keys=True) == before


def test_every_check_has_a_breakage():
    assert {check for check, _, _ in BROKEN.values()} == set(CHECKS.values())
