"""A local MCP server on 127.0.0.1 shaped like DeepWiki's, for the MCP preflight tests.

It is built with the ``mcp`` SDK (``MCPServer``) and serves three tools named and
shaped like DeepWiki's (``read_wiki_structure``, ``read_wiki_contents``,
``ask_question``) over :data:`CORPUS`, a few invented wiki pages. Around the MCP
endpoint, a small ASGI wrapper adds the misbehaving endpoints the tests need:

- ``/mcp``            the MCP server (streamable HTTP)
- ``/private/mcp``    the same server behind a bearer token: 401 without it
- ``/forbidden/mcp``  403 for everyone
- ``/slow/mcp``       the same server, but every request waits ``slow_seconds`` first
- ``/slow-list/mcp``  the same server, but ``tools/list`` waits ``slow_seconds`` first
- ``/html``           a web page (200, text/html), not an MCP endpoint
- anything else       404

``tools/list`` answers in pages of ``page_size`` tools, so a client has to follow
the cursor. The server notes each request it sees (method, path, JSON-RPC method)
in :attr:`LocalMcpServer.seen`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from typing import Annotated, Any

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ListToolsResult, PaginatedRequestParams, ToolAnnotations
from pydantic import Field

TOKEN = "local-test-token"

CORPUS: dict[str, dict[str, str]] = {
    "sqlite/sqlite": {
        "Overview": (
            "SQLite is a self-contained, serverless, zero-configuration SQL database engine. "
            "The whole library is one C file, the amalgamation, built from the sources in src/."
        ),
        "Architecture": (
            "A statement is tokenized and parsed (src/parse.y), compiled into bytecode by the code "
            "generator, and run by the virtual machine (src/vdbe.c) on top of the B-tree (src/btree.c) "
            "and pager (src/pager.c) layers."
        ),
        "Testing": (
            "The TCL test suite lives in test/. It reaches 100% branch coverage of the core library."
        ),
    },
    "psf/requests": {
        "Overview": "Requests is an HTTP library for Python, built for human beings.",
        "Sessions": (
            "A Session keeps cookies and connection pools across requests; adapters mount transports "
            "per URL prefix."
        ),
    },
}

RepoName = Annotated[str, Field(description='GitHub repository: owner/repo (e.g. "facebook/react")')]
Question = Annotated[str, Field(description="The question to ask about the repository")]


def _pages(repo: str) -> dict[str, str]:
    if repo not in CORPUS:
        raise ToolError(f"Repository not found: {repo}. Known repositories: {', '.join(sorted(CORPUS))}.")
    return CORPUS[repo]


class PagedMCPServer(MCPServer):
    """``MCPServer`` whose ``tools/list`` answers ``page_size`` tools at a time, with a cursor."""

    page_size: int | None = None

    async def _handle_list_tools(self, ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        tools = await self.list_tools()
        if not self.page_size:
            return ListToolsResult(tools=tools)
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + self.page_size
        return ListToolsResult(tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None)


def build_server(page_size: int | None = None) -> MCPServer:
    """The DeepWiki-shaped MCP server over :data:`CORPUS`."""
    server = PagedMCPServer("local-deepwiki", version="0.3.1", log_level="WARNING")
    server.page_size = page_size

    @server.tool(
        description="Get a list of documentation topics for a GitHub repository",
        annotations=ToolAnnotations(title="Read wiki structure", read_only_hint=True),
        structured_output=False,
    )
    def read_wiki_structure(repoName: RepoName) -> str:  # noqa: N803 - DeepWiki's argument name
        return "\n".join(f"- {title}" for title in _pages(repoName))

    @server.tool(
        description="View documentation about a GitHub repository",
        annotations=ToolAnnotations(title="Read wiki contents", read_only_hint=True),
        structured_output=False,
    )
    def read_wiki_contents(repoName: RepoName) -> str:  # noqa: N803
        return "\n\n".join(f"# {title}\n\n{text}" for title, text in _pages(repoName).items())

    @server.tool(
        description="Ask any question about a GitHub repository",
        annotations=ToolAnnotations(title="Ask question", read_only_hint=True),
        structured_output=False,
    )
    def ask_question(repoName: RepoName, question: Question) -> str:  # noqa: N803
        words = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 3}
        hits = [text for text in _pages(repoName).values() if words & set(re.findall(r"[a-z0-9]+", text.lower()))]
        return "\n\n".join(hits) or f"The wiki of {repoName} does not say."

    return server


def _jsonrpc_method(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("method") if isinstance(parsed, dict) else None


class _Endpoints:
    """ASGI app: the MCP app at /mcp, plus the misbehaving endpoints listed in the module docstring."""

    def __init__(self, mcp_app: Any, owner: LocalMcpServer):
        self.mcp_app = mcp_app
        self.owner = owner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: the MCP app runs its session manager
            await self.mcp_app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path = scope["path"]
        self.owner.seen.append((scope["method"], path, _jsonrpc_method(body)))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}

        if path == "/html":
            page = b"<!doctype html><html><body><h1>Welcome</h1><p>This is a web page.</p></body></html>"
            await _respond(send, 200, "text/html; charset=utf-8", page)
            return
        if path == "/forbidden/mcp":
            await _respond(send, 403, "application/json", b'{"error": "forbidden"}')
            return
        if path == "/private/mcp" and headers.get("authorization") != f"Bearer {TOKEN}":
            await _respond(send, 401, "application/json", b'{"error": "invalid_token"}',
                           [(b"www-authenticate", b'Bearer error="invalid_token"')])
            return
        if path == "/slow/mcp" or (path == "/slow-list/mcp" and _jsonrpc_method(body) == "tools/list"):
            with anyio.move_on_after(self.owner.slow_seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return  # the client gave up
        if path in ("/mcp", "/private/mcp", "/slow/mcp", "/slow-list/mcp"):
            await self.mcp_app({**scope, "path": "/mcp", "raw_path": b"/mcp"}, _replay(body, receive), send)
            return
        await _respond(send, 404, "text/plain; charset=utf-8", b"Not Found")


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def again() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _respond(send: Any, status: int, content_type: str, body: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class LocalMcpServer:
    """Runs the endpoints above with uvicorn in a background thread on a free port of 127.0.0.1."""

    def __init__(self, *, page_size: int | None = 2, slow_seconds: float = 30.0):
        self.seen: list[tuple[str, str, str | None]] = []
        self.slow_seconds = slow_seconds
        self.server = build_server(page_size)
        app = _Endpoints(self.server.streamable_http_app(), self)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The MCP endpoint."""
        return f"{self.base_url}/mcp"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local MCP server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> LocalMcpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # python tests/mcp_server.py: serve until Ctrl-C
    with LocalMcpServer() as local:
        print(f"MCP server at {local.url}")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
