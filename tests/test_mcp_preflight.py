"""MCP preflight: listing a real local MCP server, each failure as one clear error, record and replay."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path

import pytest
import yaml
from fixtures.mcp_preflight import authored_preflight_interactions, record_mcp_preflight
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_server import CORPUS, TOKEN, LocalMcpServer
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from netguard import refuse_network

import cookbook
from cookbook import McpPreflightError, McpServerInfo, McpTool, inspect_mcp_server, inspect_mcp_server_sync
from cookbook._cassette import dumps
from cookbook._http import httpx

# A warning anywhere in a test (an unawaited coroutine, an unclosed stream) fails it.
pytestmark = pytest.mark.filterwarnings("error")

NAMES = ["read_wiki_structure", "read_wiki_contents", "ask_question"]


@pytest.fixture(scope="module")
def server():
    with LocalMcpServer(page_size=2, slow_seconds=30) as local:
        yield local


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chain(error: BaseException) -> list[BaseException]:
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return seen


# --------------------------------------------------------------------------- listing


async def test_listing_follows_cursors_and_keeps_names_descriptions_and_schemas(server):
    before = len(server.seen)
    info = await inspect_mcp_server(server.url, timeout=5)

    assert info.tool_names == NAMES
    assert (info.name, info.version) == ("local-deepwiki", "0.3.1")
    assert info.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
    tools = {tool.name: tool for tool in info.tools}
    assert tools["read_wiki_structure"].description == "Get a list of documentation topics for a GitHub repository"
    assert tools["ask_question"].description == "Ask any question about a GitHub repository"
    schema = tools["ask_question"].input_schema
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"repoName", "question"}
    assert schema["required"] == ["repoName", "question"]
    assert schema["properties"]["repoName"]["type"] == "string"
    assert tools["ask_question"].arguments == [("repoName", "string", True), ("question", "string", True)]
    assert tools["read_wiki_structure"].title == "Read wiki structure"
    # three tools in pages of two: the second page was asked for with the cursor
    methods = [m for _, _, m in server.seen[before:]]
    assert methods.count("tools/list") == 2
    assert methods[0] == "initialize"


async def test_a_tool_call_through_the_mcp_client_returns_corpus_text(server):
    async with streamable_http_client(server.url) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            contents = await session.call_tool("read_wiki_contents", {"repoName": "sqlite/sqlite"})
            answer = await session.call_tool(
                "ask_question", {"repoName": "psf/requests", "question": "Which pools does a session keep?"}
            )
            missing = await session.call_tool("read_wiki_structure", {"repoName": "nobody/nothing"})

    text = contents.content[0].text
    assert not contents.is_error
    assert CORPUS["sqlite/sqlite"]["Architecture"] in text
    assert "# Testing" in text
    assert answer.content[0].text == CORPUS["psf/requests"]["Sessions"]
    assert missing.is_error and "Repository not found" in missing.content[0].text


async def test_headers_reach_the_server_and_unlock_a_private_endpoint(server):
    info = await inspect_mcp_server(
        f"{server.base_url}/private/mcp", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert info.tool_names == NAMES


def test_sync_wrapper_works_in_a_script(server):
    assert inspect_mcp_server_sync(server.url, timeout=5).tool_names == NAMES


async def test_sync_wrapper_works_while_an_event_loop_is_running(server):
    info = inspect_mcp_server_sync(server.url, timeout=5)  # e.g. a widget callback in a notebook
    assert info.tool_names == NAMES


# --------------------------------------------------------------------------- display


def test_server_info_displays_as_an_escaped_table_with_jupyterlab_colours():
    info = McpServerInfo(
        url="https://mcp.example.com/mcp?x=<b>",
        name="evil<script>alert(1)</script>",
        version="1.0",
        protocol_version="2025-06-18",
        tools=[
            McpTool("read<img src=x onerror=alert(1)>", 'Says "hi" & <b>bold</b>',
                    {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
                     "required": ["q"]}),
            McpTool("plain", "", {}),
        ],
    )
    bundle = info._repr_mimebundle_()
    html, text = bundle["text/html"], bundle["text/plain"]

    assert "<script>" not in html and "<img" not in html and "<b>bold</b>" not in html and "x=<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert "var(--jp-" in html
    assert "<link" not in html and "src=" not in html.replace("&lt;img src=x", "") and "@import" not in html
    assert "<table" in html and ">Tool</th>" in html
    assert "read<img src=x onerror=alert(1)>(q: string, n?: integer)" in text
    assert text.splitlines()[0] == (
        "MCP server evil<script>alert(1)</script> 1.0 · protocol 2025-06-18 · https://mcp.example.com/mcp?x=<b>"
    )
    assert str(info) == text
    assert info.tool_names == ["read<img src=x onerror=alert(1)>", "plain"]


def test_a_javascript_url_is_never_a_link():
    info = McpServerInfo(url="javascript:alert(1)", name="s", version="", protocol_version="2025-06-18")
    html = info._repr_mimebundle_()["text/html"]
    assert "href" not in html and "javascript:alert(1)" in html


# --------------------------------------------------------------------------- failures


def failure_cases(server) -> dict[str, tuple[str, dict, str, list[str]]]:
    """name -> (url, kwargs, kind, phrases the message must contain)."""
    return {
        "closed port": (f"http://127.0.0.1:{closed_port()}/mcp", {}, "unreachable",
                        ["Could not connect", "server is running"]),
        "404": (f"{server.base_url}/nothing-here", {}, "not_mcp", ["404 Not Found", "/mcp"]),
        "web page": (f"{server.base_url}/html", {}, "not_mcp", ["text/html", "not an MCP endpoint"]),
        "401": (f"{server.base_url}/private/mcp", {}, "auth", ["401 Unauthorized", 'headers={"Authorization"']),
        "401 bad token": (f"{server.base_url}/private/mcp", {"headers": {"Authorization": "Bearer s3cr3t-value"}},
                          "auth", ["401 Unauthorized", "refused the credentials"]),
        "403": (f"{server.base_url}/forbidden/mcp", {}, "auth", ["403 Forbidden"]),
        "slow": (f"{server.base_url}/slow/mcp", {"timeout": 1}, "timeout", ["within 1 s", "larger timeout="]),
        "slow listing": (f"{server.base_url}/slow-list/mcp", {"timeout": 1}, "timeout", ["within 1 s"]),
        "no scheme": ("mcp.deepwiki.com/mcp", {}, "unreachable", ["not an http(s) URL", "https://"]),
    }


@pytest.mark.parametrize(
    "case", ["closed port", "404", "web page", "401", "401 bad token", "403", "slow", "slow listing", "no scheme"])
async def test_each_failure_is_one_clear_error_within_the_timeout(server, case):
    url, kwargs, kind, phrases = failure_cases(server)[case]
    timeout = kwargs.pop("timeout", 5)
    started = time.monotonic()
    with pytest.raises(McpPreflightError) as caught:
        await inspect_mcp_server(url, timeout=timeout, **kwargs)
    elapsed = time.monotonic() - started

    error = caught.value
    assert error.kind == kind
    assert elapsed < (timeout + 0.9 if kind == "timeout" else 2)
    assert kind != "timeout" or elapsed >= timeout - 0.05
    for phrase in phrases:
        assert phrase in str(error)
    assert "Fix:" in str(error) and "Cause:" in str(error)
    # the SDK's exception groups stay out of sight: the cause is the root exception itself
    assert not any(hasattr(e, "exceptions") for e in chain(error))  # no ExceptionGroup
    # nothing is left running, and no secret is shown
    assert asyncio.all_tasks() == {asyncio.current_task()}
    bundle = error._repr_mimebundle_()
    assert error.kind in bundle["text/plain"] and "cb-card" in bundle["text/html"]
    assert "s3cr3t" not in bundle["text/plain"] and "s3cr3t" not in bundle["text/html"]
    assert error._render_traceback_()[0].startswith(f"McpPreflightError ({kind}):")


def test_in_ipython_the_error_shows_its_card_not_its_repr():
    from IPython.core.formatters import DisplayFormatter

    error = McpPreflightError("http://x/mcp answered HTTP 401.", kind="auth", url="http://x/mcp",
                              cause="No credentials.", fix="Pass headers=.", status=401)
    shown, _ = DisplayFormatter().format(error)
    assert shown["text/plain"].splitlines()[0] == "MCP server refused access (HTTP 401) (McpPreflightError: auth)"
    assert "Fix: Pass headers=." in shown["text/plain"]
    assert shown["text/html"].startswith('<div class="cb-card">')


async def test_the_sdk_logs_no_error_of_its_own_for_a_failed_preflight(server, caplog):
    caplog.set_level(logging.DEBUG)
    for path in ("/html", "/nothing-here"):
        with pytest.raises(McpPreflightError):
            await inspect_mcp_server(f"{server.base_url}{path}", timeout=5)
    with pytest.raises(McpPreflightError):
        await inspect_answered_by(lambda message: (200, {"status": "ok"}))
    assert [r for r in caplog.records if r.name.startswith("mcp") and r.levelno >= logging.WARNING] == []
    # outside a preflight the SDK's records pass as before
    logging.getLogger("mcp.client.streamable_http").error("not from a preflight")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == ["not from a preflight"]


async def test_an_unknown_host_is_unreachable(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(McpPreflightError) as caught:
        await inspect_mcp_server("https://mcp.nowhere.invalid/mcp", timeout=5)
    assert caught.value.kind == "unreachable"
    assert "Could not resolve the host" in str(caught.value)


async def inspect_answered_by(answer) -> McpServerInfo:
    """The preflight against an in-memory server: ``answer(message) -> (status, JSON or None)``."""
    def handle(request):
        status, body = answer(json.loads(request.content))
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    return await inspect_mcp_server("https://mcp.example.com/mcp", timeout=5, transport=httpx.MockTransport(handle))


INITIALIZED = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
               "serverInfo": {"name": "x", "version": "1"}}


def reply(message: dict, result: dict) -> tuple[int, dict | None]:
    if "id" not in message:
        return 202, None
    return 200, {"jsonrpc": "2.0", "id": message["id"], "result": result}


async def test_json_that_is_not_json_rpc_is_not_mcp():
    with pytest.raises(McpPreflightError) as caught:
        await inspect_answered_by(lambda message: (200, {"status": "ok"}))
    assert caught.value.kind == "not_mcp"
    assert "not a JSON-RPC message" in str(caught.value)


async def test_a_json_rpc_error_to_initialize_is_a_protocol_error():
    def answer(message):
        return 200, {"jsonrpc": "2.0", "id": message["id"],
                     "error": {"code": -32602, "message": "Unsupported protocol version: 2025-11-25"}}

    with pytest.raises(McpPreflightError) as caught:
        await inspect_answered_by(answer)
    assert caught.value.kind == "protocol"
    assert "Unsupported protocol version: 2025-11-25" in str(caught.value)


async def test_a_looping_cursor_is_a_protocol_error_not_a_hang():
    def answer(message):
        if message.get("method") == "tools/list":
            return reply(message, {"tools": [{"name": "t", "inputSchema": {"type": "object"}}], "nextCursor": "again"})
        return reply(message, INITIALIZED)

    with pytest.raises(McpPreflightError) as caught:
        await inspect_answered_by(answer)
    assert caught.value.kind == "protocol"
    assert "cursor 'again' twice" in str(caught.value)
    assert asyncio.all_tasks() == {asyncio.current_task()}


def test_the_sync_wrapper_raises_the_same_error():
    with pytest.raises(McpPreflightError) as caught:
        inspect_mcp_server_sync(f"http://127.0.0.1:{closed_port()}/mcp", timeout=3)
    assert caught.value.kind == "unreachable"


# --------------------------------------------------------------------------- record and replay


def interactions(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


async def test_a_recorded_preflight_replays_with_the_server_stopped(tmp_path, monkeypatch):
    cassette = tmp_path / "mcp_local.yaml"
    with LocalMcpServer(page_size=2) as local:
        url = local.url
        recorder = cookbook.make_client("record", cassette=cassette, api_key="test-key")
        recorded = await inspect_mcp_server(url, client=recorder, timeout=5)
    assert recorded.mode == "record" and recorded.tool_names == NAMES

    # what was written: the JSON-RPC POSTs only (no GET stream, no DELETE), each once
    methods = [(i["request"]["method"], i["request"]["json"]["method"]) for i in interactions(cassette)]
    assert methods == [("POST", "initialize"), ("POST", "notifications/initialized"),
                       ("POST", "tools/list"), ("POST", "tools/list")]

    refuse_network(monkeypatch)
    replayer = cookbook.make_client("replay", cassette=cassette)
    replayed = await inspect_mcp_server(url, client=replayer, timeout=5)
    assert replayed.mode == "replay"
    assert (replayed.name, replayed.version, replayed.protocol_version, replayed.tools) == (
        recorded.name, recorded.version, recorded.protocol_version, recorded.tools)
    again = inspect_mcp_server_sync(url, client=replayer, timeout=5)  # re-running the cell replays again
    assert again.tools == recorded.tools


def test_recording_twice_sends_the_same_bodies_and_keeps_one_copy(tmp_path):
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    with LocalMcpServer(page_size=2) as one:
        record_mcp_preflight(one.url, first, timeout=5)
        record_mcp_preflight(one.url, first, timeout=5)  # re-recording replaces, never duplicates
    with LocalMcpServer(page_size=2) as two:  # another server, another port, another session id
        record_mcp_preflight(two.url, second, timeout=5)

    bodies = [[i["request"]["json"] for i in interactions(p)] for p in (first, second)]
    assert len(bodies[0]) == 4
    assert bodies[0] == bodies[1]
    assert bodies[0][0]["id"] == 1 and bodies[0][0]["params"]["clientInfo"] == {
        "name": "mistral-connectors-cookbook", "version": "1"}


def test_recording_keeps_what_the_cassette_held_and_never_writes_the_token(tmp_path):
    cassette = tmp_path / "existing.yaml"
    authored = authored_preflight_interactions(
        "https://other.example/mcp", server_info={"name": "other", "version": "2"},
        tools=[{"name": "ping", "inputSchema": {"type": "object"}}])
    cassette.write_text(dumps({"interactions": authored}), encoding="utf-8")

    with LocalMcpServer(page_size=None) as local:
        record_mcp_preflight(f"{local.base_url}/private/mcp", cassette, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=5)

    text = cassette.read_text(encoding="utf-8")
    assert TOKEN not in text
    uris = [i["request"]["uri"] for i in interactions(cassette)]
    assert uris.count("https://other.example/mcp") == 3
    assert uris.count(f"{local.base_url}/private/mcp") == 3


async def test_replay_of_an_unrecorded_server_is_a_replay_miss(tmp_path, monkeypatch):
    cassette = tmp_path / "deepwiki.yaml"
    cassette.write_text(dumps({"interactions": deepwiki_interactions()}), encoding="utf-8")
    refuse_network(monkeypatch)
    client = cookbook.make_client("replay", cassette=cassette)
    # same path (/mcp) and same initialize body as the recording: only the host differs
    with pytest.raises(cookbook.ReplayMiss) as caught:
        await inspect_mcp_server("https://mcp.invalid.example/mcp", client=client)
    assert "No recorded MCP preflight for https://mcp.invalid.example/mcp" in str(caught.value)
    assert "https://mcp.deepwiki.com/mcp" in str(caught.value)


async def test_a_missing_recorded_request_is_a_replay_miss_not_a_preflight_error(tmp_path, monkeypatch):
    cassette = tmp_path / "cut.yaml"
    cut = [i for i in deepwiki_interactions() if i["request"]["json"].get("method") != "tools/list"]
    cassette.write_text(dumps({"interactions": cut}), encoding="utf-8")
    refuse_network(monkeypatch)
    client = cookbook.make_client("replay", cassette=cassette)
    with pytest.raises(cookbook.ReplayMiss) as caught:
        await inspect_mcp_server("https://mcp.deepwiki.com/mcp", client=client, timeout=5)
    assert "POST /mcp" in str(caught.value)
    assert not any(hasattr(e, "exceptions") for e in chain(caught.value))
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.parametrize("mode", ["replay", "record"])
def test_a_transport_with_a_replay_or_record_client_is_refused_before_anything_is_sent(tmp_path, monkeypatch, mode):
    cassette = tmp_path / "deepwiki.yaml"
    cassette.write_text(dumps({"interactions": deepwiki_interactions()}), encoding="utf-8")
    before = cassette.read_text(encoding="utf-8")
    refuse_network(monkeypatch)
    client = cookbook.make_client(mode, cassette=cassette, api_key="test-key")
    sent = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))
    with pytest.raises(ValueError, match=f"transport= answers in live mode only; this client is in {mode} mode"):
        inspect_mcp_server_sync("https://mcp.deepwiki.com/mcp", client=client, transport=transport, timeout=5)
    with pytest.raises(ValueError, match="drop transport="):
        asyncio.run(inspect_mcp_server("https://mcp.deepwiki.com/mcp", client=client, transport=transport))
    assert sent == [] and cassette.read_text(encoding="utf-8") == before


# --------------------------------------------------------------------------- authored exchanges

REPO = {"type": "string", "description": 'GitHub repository: owner/repo (e.g. "facebook/react")'}
DEEPWIKI_TOOLS = [
    {"name": "read_wiki_structure", "description": "Get a list of documentation topics for a GitHub repository",
     "inputSchema": {"type": "object", "properties": {"repoName": REPO}, "required": ["repoName"]}},
    {"name": "read_wiki_contents", "description": "View documentation about a GitHub repository",
     "inputSchema": {"type": "object", "properties": {"repoName": REPO}, "required": ["repoName"]}},
    {"name": "ask_question", "description": "Ask any question about a GitHub repository",
     "inputSchema": {"type": "object", "properties": {"repoName": REPO, "question": {"type": "string"}},
                     "required": ["repoName", "question"]}},
]


def deepwiki_interactions(page_size: int | None = None) -> list[dict]:
    return authored_preflight_interactions(
        "https://mcp.deepwiki.com/mcp", server_info={"name": "DeepWiki", "version": "0.0.1"},
        tools=DEEPWIKI_TOOLS, protocol_version="2025-06-18", page_size=page_size)


@pytest.mark.parametrize("page_size", [None, 2])
async def test_authored_interactions_replay_through_the_sdk(tmp_path, monkeypatch, page_size):
    authored = deepwiki_interactions(page_size)
    assert {i["provenance"] for i in authored} == {"authored"}
    assert len(authored) == (3 if page_size is None else 4)
    cassette = tmp_path / "03_custom_connector.yaml"
    cassette.write_text(dumps({"interactions": authored}), encoding="utf-8")
    assert yaml.safe_load(cassette.read_text(encoding="utf-8"))["provenance"] == "authored"

    refuse_network(monkeypatch)
    client = cookbook.make_client("replay", cassette=cassette)
    info = await inspect_mcp_server("https://mcp.deepwiki.com/mcp", client=client)
    assert info.tool_names == NAMES
    assert (info.name, info.protocol_version) == ("DeepWiki", "2025-06-18")
