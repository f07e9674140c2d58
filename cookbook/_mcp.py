"""MCP preflight: look at an MCP server before registering it as a connector.

A connector whose MCP server cannot be reached is refused with 422, and a
connector's ``tool_configuration`` filters need the server's exact tool names.
``inspect_mcp_server`` checks both before any Mistral call: it connects to the
server with the official ``mcp`` SDK (streamable HTTP), initializes a session
and lists the tools, following pagination cursors::

    info = await inspect_mcp_server("https://mcp.deepwiki.com/mcp")   # in a notebook cell
    info                      # a table: tool names, arguments, descriptions
    info.tool_names           # ['read_wiki_structure', 'read_wiki_contents', 'ask_question']

    info = inspect_mcp_server_sync("https://mcp.deepwiki.com/mcp")    # in a script

The whole exchange is bounded by ``timeout`` seconds. Every failure is one
:class:`McpPreflightError` whose ``kind`` says what went wrong (``unreachable``,
``not_mcp``, ``auth``, ``timeout``, ``protocol``) and whose message says how to
fix it; the SDK's nested exception groups are unwrapped to their root cause.

With a cookbook client (``client=make_client(...)``) the preflight follows the
client's mode: in replay it is answered from the client's cassettes (a request
with no recording raises :class:`cookbook.ReplayMiss`), in record mode it is
written to the client's cassette, and in live mode it talks to the server.
Cassettes keep no headers, so a replayed exchange has no MCP session id and the
client never opens the session's GET event stream nor sends the DELETE that
ends it; record mode therefore sends those two straight to the server without
writing them (see :class:`_Recording`). Recordings are matched on path and JSON
body, not on the host, so replay first checks that the cassettes hold an
``initialize`` sent to this very URL. The recorded bodies are the same on every
run (JSON-RPC ids count from 1, ``clientInfo`` is :data:`CLIENT_INFO`), but the
``initialize`` body carries the protocol version the mcp SDK offers (mcp 2.3:
``2025-11-25``): an SDK that offers another one misses older recordings.

For cassette authors: :func:`record_mcp_preflight` appends a real exchange to a
cassette file (exchanges written by hand, for servers this project cannot reach,
are built by the test suite: ``tests/fixtures/mcp_preflight.py``).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from . import _markup
from ._errors import CookbookError, ReplayMiss
from ._http import httpx
from ._transport import PROVENANCE_HEADER

if TYPE_CHECKING:
    from ._explain import ErrorCard

__all__ = [
    "McpPreflightError",
    "McpServerInfo",
    "McpTool",
    "inspect_mcp_server",
    "inspect_mcp_server_sync",
    "record_mcp_preflight",
]

# Sent as ``clientInfo`` in ``initialize``. Recorded requests are matched on
# their JSON body, so this is a constant (not the package version): changing it
# would make every recorded preflight miss.
CLIENT_INFO = {"name": "mistral-connectors-cookbook", "version": "1"}

KINDS = ("unreachable", "not_mcp", "auth", "timeout", "protocol")
MAX_PAGES = 100

T = TypeVar("T")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class McpTool:
    """One tool as the MCP server lists it (``title``: the tool's, else its annotations' title)."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)
    title: str | None = None

    @property
    def arguments(self) -> list[tuple[str, str, bool]]:
        """``(name, type, required)`` for each top-level argument of the input schema."""
        schema = self.input_schema if isinstance(self.input_schema, dict) else {}
        properties = schema.get("properties")
        required = set(schema.get("required") or [])
        if not isinstance(properties, dict):
            return []
        return [(name, _schema_type(spec), name in required) for name, spec in properties.items()]

    @property
    def signature(self) -> str:
        """``name(arg: type, optional?: type)``, for a one-line listing."""
        args = ", ".join(f"{n}{'' if req else '?'}: {t}" for n, t, req in self.arguments)
        return f"{self.name}({args})"


def _schema_type(spec: Any) -> str:
    if not isinstance(spec, dict):
        return "any"
    kind = spec.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"array[{_schema_type(spec['items'])}]"
    if kind:
        return str(kind)
    if "enum" in spec:
        return "enum"
    for key in ("anyOf", "oneOf"):
        if isinstance(spec.get(key), list):
            return " | ".join(_schema_type(s) for s in spec[key])
    return "any"


@dataclass(frozen=True)
class McpServerInfo:
    """What an MCP server said about itself: identity, protocol version and tools.

    Displays as a table in Jupyter; ``print()`` gives the same as text.
    ``tool_names`` are the exact names to use in a connector's
    ``tool_configuration`` (``include`` / ``exclude``).
    """

    url: str
    name: str
    version: str
    protocol_version: str
    tools: list[McpTool] = field(default_factory=list)
    instructions: str | None = None
    mode: str = "live"
    provenance: str | None = None  # for a replayed preflight: what its recording rests on

    @property
    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.tools]

    def _head(self) -> str:
        who = " ".join(x for x in (self.name, self.version) if x) or "(unnamed)"
        mode = f" · {self.mode}" if self.mode != "live" else ""
        return f"MCP server {who} · protocol {self.protocol_version} · {self.url}{mode}"

    def __str__(self) -> str:
        count = len(self.tools)
        lines = [self._head(), f"{count} tool{'s' if count != 1 else ''}:"]
        width = max((len(t.signature) for t in self.tools), default=0)
        for tool in self.tools:
            description = " ".join(tool.description.split())
            lines.append(f"  {tool.signature.ljust(width)}  {description}".rstrip())
        from ._display import provenance_note

        note = provenance_note(self.provenance)
        return "\n".join(lines + ([f"({note})"] if note else []))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from ._display import provenance_note

        html = _markup.render("mcp.html.j2", info=self, note=provenance_note(self.provenance))
        return _markup.mimebundle(str(self), str(html), include, exclude)


# --------------------------------------------------------------------------- the error


class McpPreflightError(CookbookError):
    """The MCP server could not be inspected; the message names the cause and the fix.

    ``kind`` is one of ``unreachable``, ``not_mcp``, ``auth``, ``timeout``,
    ``protocol``. ``status`` is the HTTP status that decided it, if any;
    ``detail`` the root cause as observed (never a header value).
    """

    def __init__(self, summary: str, *, kind: str, url: str, cause: str = "", fix: str = "",
                 status: int | None = None, detail: str = ""):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.summary, self.kind, self.url = summary, kind, url
        self.cause, self.fix, self.status, self.detail = cause, fix, status, detail
        lines = [summary]
        if cause:
            lines.append(f"Cause: {cause}")
        if fix:
            lines.append(f"Fix: {fix}")
        super().__init__("\n".join(lines))

    TITLES = {
        "unreachable": "MCP server unreachable",
        "not_mcp": "Not an MCP endpoint",
        "auth": "MCP server refused access",
        "timeout": "MCP server timed out",
        "protocol": "MCP protocol error",
    }

    @property
    def card(self) -> ErrorCard:
        """The error as a :class:`cookbook._explain.ErrorCard` (the look of the API error cards)."""
        from ._explain import ErrorCard

        title = self.TITLES[self.kind] + (f" (HTTP {self.status})" if self.status else "")
        details = [self.summary] + ([f"Root cause: {self.detail}"] if self.detail else [])
        return ErrorCard(title=title, error_type=f"McpPreflightError: {self.kind}", details=details,
                         cause=self.cause, fix=self.fix)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.card._repr_mimebundle_(include, exclude)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's plain-text formatter has its own printer for exceptions, which
        # would replace the card's text/plain with repr(); this one comes first.
        printer.text(str(self.card))

    def _render_traceback_(self) -> list[str]:
        # In IPython the message is the whole story; the SDK's frames would hide it.
        return [f"McpPreflightError ({self.kind}): {self}"]


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _status_phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass
class _Seen:
    """One HTTP response the preflight received (status and content type; headers are not kept)."""

    method: str  # the JSON-RPC method of the request, e.g. "initialize"
    status: int
    content_type: str
    www_authenticate: bool


def _classify(root: BaseException, url: str, seen: list[_Seen], *, headers: Mapping[str, str] | None,
              timeout: float) -> McpPreflightError:
    """The :class:`McpPreflightError` for the root cause of a failed preflight."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import PARSE_ERROR

    def error(kind: str, summary: str, cause: str, fix: str, status: int | None = None) -> McpPreflightError:
        return McpPreflightError(summary, kind=kind, url=url, cause=cause, fix=fix, status=status,
                                 detail=_describe(root))

    if isinstance(root, (httpx.TimeoutException, TimeoutError)):
        return _timeout_error(url, timeout, detail=_describe(root))
    if isinstance(root, (httpx.ConnectError, httpx.NetworkError, httpx.ProxyError)):
        text = str(root).lower()
        if any(s in text for s in ("name or service", "nodename", "getaddrinfo", "name resolution", "not known")):
            return error("unreachable", f"Could not resolve the host of {url}.",
                         "The host name does not exist in DNS (a typo?), or there is no network.",
                         "Check the server URL; Mistral would reject a connector with this server with 422.")
        return error("unreachable", f"Could not connect to the MCP server at {url}.",
                     "Nothing accepted the connection: the server is down, the port is wrong, or a firewall "
                     "or proxy is in the way.",
                     "Check the URL (scheme, host, port) and that the server is running; Mistral would reject "
                     "a connector with this server with 422.")
    if isinstance(root, httpx.UnsupportedProtocol):
        return _bad_url(url)

    failed = next((s for s in seen if s.status >= 400), None)
    if failed is not None:
        status = failed.status
        said = f"{url} answered HTTP {_status_phrase(status)} to the MCP {failed.method} request."
        if status in (401, 403):
            example = 'headers={"Authorization": "Bearer <token>"}'
            if headers:
                cause = ("The server refused the credentials passed in headers=: the token may be wrong, "
                         "expired, or lack the permission (scope) this server needs.")
                fix = f"Pass a valid token, e.g. {example}."
            else:
                cause = ("The server refuses access without credentials." if status == 403
                         else "The server requires credentials and none were sent.")
                fix = (f"Pass them to the preflight, e.g. inspect_mcp_server(url, {example}), and give the "
                       "connector the same credentials.")
            if failed.www_authenticate:
                fix += (" The server asks for a bearer token (WWW-Authenticate): if it uses OAuth, get an access "
                        "token from its authorization server first.")
            return error("auth", said, cause, fix, status)
        if status in (502, 503, 504):
            return error("unreachable", said, "A gateway in front of the MCP server could not reach it, or the "
                         "server is overloaded.", "Retry later; check that the MCP server behind the URL is up.",
                         status)
        if status >= 500:
            return error("protocol", said, "The server failed while handling an MCP request.",
                         "Retry; if it persists, the server is broken: check its logs or contact its maintainer.",
                         status)
        if isinstance(root, MCPError) and root.message not in _SDK_STAND_INS and _is_json(failed.content_type):
            return error("protocol", f"{said} The server's JSON-RPC error (code {root.code}): {root.message}",
                         "The server speaks JSON-RPC but refused the request.",
                         "Read the server's message; check that it supports the MCP protocol versions of the "
                         "installed mcp SDK.", status)
        return error("not_mcp", said,
                     "Nothing at this URL speaks MCP over streamable HTTP (wrong path, or a server of another "
                     "kind).",
                     "Use the server's MCP endpoint, usually the URL ending in /mcp "
                     "(for example https://mcp.deepwiki.com/mcp).", status)

    wrong = next((s for s in seen if s.status < 300 and s.status != 202 and not _mcp_content_type(s.content_type)),
                 None)
    if wrong is not None:
        shown = wrong.content_type or "no content type"
        return error("not_mcp", f"{url} answered the MCP {wrong.method} request with {shown}, not JSON or an "
                     "event stream.",
                     "This URL serves something else (a web page?), not an MCP endpoint.",
                     "Use the server's MCP endpoint, usually the URL ending in /mcp.", wrong.status)
    if isinstance(root, MCPError):
        if root.code == PARSE_ERROR:
            return error("not_mcp", f"{url} answered with data that is not a JSON-RPC message.",
                         "The URL answers JSON, but not the MCP protocol.",
                         "Use the server's MCP endpoint, usually the URL ending in /mcp.")
        if root.message.startswith("Redirect to"):
            return error("not_mcp", f"{url} redirects elsewhere.", root.message,
                         "Use the URL the redirect points to, if it is the intended server.")
        return error("protocol", f"{url} answered an MCP request with an error (code {root.code}): {root.message}",
                     "The server speaks JSON-RPC but refused the request.",
                     "Check that this is the server's MCP endpoint and that it supports the MCP protocol "
                     "versions of the installed mcp SDK.")
    return error("protocol", f"{url} did not answer as an MCP server should.",
                 f"The exchange failed with {_describe(root)}.",
                 "Check that the URL is the server's MCP (streamable HTTP) endpoint; if it is, the server may "
                 "implement the protocol incorrectly.")


# Messages the mcp SDK makes up for an HTTP error without a JSON-RPC body.
_SDK_STAND_INS = {"Not Found", "Session terminated", "Server returned an error response"}


def _jsonrpc_method(request: httpx.Request) -> str:
    try:
        method = json.loads(request.content).get("method")
    except (ValueError, AttributeError, httpx.RequestNotRead):
        method = None
    return f"'{method}'" if isinstance(method, str) else request.method


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def _mcp_content_type(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("application/json", "text/event-stream")


def _timeout_error(url: str, timeout: float, *, detail: str = "") -> McpPreflightError:
    return McpPreflightError(
        f"{url} did not finish connect, initialize and list tools within {timeout:g} s.",
        kind="timeout", url=url, detail=detail,
        cause="The server is slow or overloaded, or a proxy is holding the connection.",
        fix="Retry with a larger timeout=..., or check the server's health; Mistral may give up on a slow server "
            "too.",
    )


def _bad_url(url: str) -> McpPreflightError:
    return McpPreflightError(
        f"{url!r} is not an http(s) URL.", kind="unreachable", url=str(url),
        cause="An MCP connector's server is reached over streamable HTTP at an http:// or https:// URL.",
        fix="Pass the full endpoint URL, e.g. https://mcp.deepwiki.com/mcp.",
    )


def _leaves(error: BaseException) -> list[BaseException]:
    inner = getattr(error, "exceptions", None)  # an ExceptionGroup (builtin from 3.11, a backport before)
    if isinstance(error, BaseException) and isinstance(inner, (list, tuple)) and inner:
        return [leaf for exc in inner for leaf in _leaves(exc)]
    return [error]


def _root_cause(error: BaseException) -> BaseException:
    """The one exception that explains a failure, out of the SDK's nested exception groups."""
    from mcp.shared.exceptions import MCPError

    leaves = [e for e in _leaves(error) if not isinstance(e, asyncio.CancelledError)] or [error]
    order = (McpPreflightError, ReplayMiss, httpx.TimeoutException, httpx.TransportError, MCPError)
    for kind in order:
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]


# --------------------------------------------------------------------------- transports


def _cookbook_mode(client: Any) -> tuple[str, Any]:
    """("live" | "replay" | "record", the client's cassette transport or None)."""
    info = getattr(client, "cookbook", None)
    mode = getattr(info, "mode", "live")
    transport = getattr(info, "transport", None)
    if mode in ("replay", "record") and transport is not None:
        return mode, transport
    return "live", None


class _Replaying(httpx.AsyncBaseTransport):
    """Replay: every request goes to the client's :class:`ReplayTransport`; never a socket.

    The preflight sends no GET and no DELETE here: the streamable HTTP client
    opens the session's GET event stream and ends the session with DELETE only
    when the server gave it an ``mcp-session-id`` header, and cassettes keep no
    headers but the content type. Closing this never closes the client's transport.
    """

    def __init__(self, replay: Any):
        self.replay = replay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.replay.handle_async_request(request)


class _Recording(httpx.AsyncBaseTransport):
    """Record: the JSON-RPC POSTs are sent and written to ``cassette``; GET and DELETE are sent, unwritten.

    Replay never sends the session's GET event stream nor its closing DELETE
    (see :class:`_Replaying`), so recording them would only add dead entries;
    and the GET stream stays open, which a recorder that reads whole responses
    would wait on. The connection pools are this object's own, so the
    preflight can run on another event loop than the client it records for.
    """

    def __init__(self, cassette: Any, secrets: Any):
        from ._transport import LiveTransport

        self._direct = httpx.AsyncHTTPTransport(retries=0)
        self._recorder = LiveTransport(secrets, cassette)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return await self._recorder.handle_async_request(request)
        return await self._direct.handle_async_request(request)

    async def aclose(self) -> None:
        await self._recorder.aclose()
        await self._direct.aclose()


def _same_endpoint(a: str, b: str) -> bool:
    try:
        x, y = httpx.URL(a), httpx.URL(b)
    except Exception:
        return False
    return (x.scheme, x.host, x.port, x.path, x.query) == (y.scheme, y.host, y.port, y.path, y.query)


def _check_recorded(url: str, transport: Any) -> None:
    """In replay, fail fast unless the cassettes hold an ``initialize`` sent to this very URL.

    Recordings are matched on method, path and body, never on the host, and
    every preflight starts with the same ``initialize`` body: without this
    check, a preflight of ``https://other.example/mcp`` would be answered with
    DeepWiki's recording.
    """
    from . import _cassette

    cassettes = tuple(getattr(transport, "cassettes", ()))
    recorded = []
    for cassette in cassettes:
        for request in cassette.requests:
            body = _cassette.parsed_body(request)
            if request.method == "POST" and isinstance(body, dict) and body.get("method") == "initialize":
                recorded.append(request.uri)
    if any(_same_endpoint(url, uri) for uri in recorded):
        return
    from pathlib import Path

    names = tuple(Path(c.path).stem for c in cassettes)
    servers = sorted(set(recorded))
    lines = [
        f"No recorded MCP preflight for {url} in cassette{'s' if len(names) != 1 else ''} "
        f"{', '.join(names) or '(none)'}.",
        "Recorded MCP servers: " + (", ".join(servers) if servers else "none") + ".",
        "To run it for real, use a client in live mode (or no client); to add it to a cassette, run it with "
        "a client in record mode, or cookbook._mcp.record_mcp_preflight(url, cassette_path).",
    ]
    raise ReplayMiss("\n".join(lines), method="POST", path=_path_of(url), cassettes=names)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# --------------------------------------------------------------------------- the preflight


async def inspect_mcp_server(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
    client: Any = None,
) -> McpServerInfo:
    """Connect to the MCP server at ``url``, initialize a session and list its tools.

    ``headers`` are sent with every request (e.g. ``{"Authorization": "Bearer ..."}``).
    ``timeout`` (seconds) bounds the whole preflight: connect, initialize and
    every page of the tool listing. ``client``, a cookbook client, decides the
    mode: replay answers from its cassettes, record writes to its cassette,
    live (or no client) talks to the server.

    Raises :class:`McpPreflightError` (with ``kind``) when the server cannot be
    inspected, and :class:`cookbook.ReplayMiss` in replay when the cassettes
    hold no recording of this preflight.
    """
    _check_arguments(url, timeout)
    mode, transport = _cookbook_mode(client)
    http_transport: httpx.AsyncBaseTransport | None = None
    if mode == "replay":
        _check_recorded(url, transport)
        http_transport = _Replaying(transport)
    elif mode == "record":
        http_transport = _Recording(transport.cassette, _secrets(headers))
    return await _inspect(url, headers=headers, timeout=timeout, mode=mode, http_transport=http_transport)


def inspect_mcp_server_sync(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
    client: Any = None,
) -> McpServerInfo:
    """:func:`inspect_mcp_server` for code that is not async (scripts, widget callbacks).

    Runs the preflight on a fresh event loop; when called while an event loop
    is running in this thread (a notebook cell), on a fresh loop in a worker
    thread, blocking until it is done (at most ``timeout`` seconds). In a
    notebook cell, prefer ``await inspect_mcp_server(...)``.
    """
    return _run_sync(lambda: inspect_mcp_server(url, headers=headers, timeout=timeout, client=client))


def _check_arguments(url: Any, timeout: Any) -> None:
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise _bad_url(url)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")


async def _inspect(url: str, *, headers: Mapping[str, str] | None, timeout: float, mode: str,
                   http_transport: httpx.AsyncBaseTransport | None) -> McpServerInfo:
    """The preflight over ``http_transport`` (None: the network), bounded by ``timeout``."""
    import anyio

    _check_arguments(url, timeout)
    seen: list[_Seen] = []
    provenance: list[str] = []

    async def note(response: httpx.Response) -> None:
        if response.request.method == "POST":  # the JSON-RPC messages; GET/DELETE are session plumbing
            seen.append(_Seen(_jsonrpc_method(response.request), response.status_code,
                              response.headers.get("content-type", ""), "www-authenticate" in response.headers))
            if seen[-1].method == "'tools/list'" and PROVENANCE_HEADER in response.headers:
                provenance.append(response.headers[PROVENANCE_HEADER])

    http = httpx.AsyncClient(
        headers=dict(headers or {}),
        timeout=httpx.Timeout(timeout),
        transport=http_transport,
        event_hooks={"response": [note]},
    )
    _quiet_transport_logs()
    flag = _IN_PREFLIGHT.set(True)
    try:
        with anyio.fail_after(timeout):
            async with http:
                info = await _session(url, http, mode)
                return dataclasses.replace(info, provenance=provenance[-1]) if provenance else info
    except TimeoutError as error:
        raise _timeout_error(url, timeout, detail=_describe(error)) from None
    except McpPreflightError:
        raise
    except Exception as error:
        root = _root_cause(error)
        if isinstance(root, (McpPreflightError, ReplayMiss)):
            raise root from None
        raise _classify(root, url, seen, headers=headers, timeout=timeout) from root
    finally:
        _IN_PREFLIGHT.reset(flag)


async def _session(url: str, http: Any, mode: str) -> McpServerInfo:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import Implementation, PaginatedRequestParams

    async with streamable_http_client(url, http_client=http) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write, client_info=Implementation(**CLIENT_INFO)) as session:
            init = await session.initialize()
            tools: list[McpTool] = []
            cursor: str | None = None
            cursors: set[str] = set()
            for _ in range(MAX_PAGES):
                params = PaginatedRequestParams(cursor=cursor) if cursor is not None else None
                page = await session.list_tools(params=params)
                tools.extend(
                    McpTool(t.name, t.description or "", dict(t.input_schema or {}),
                            t.title or (t.annotations.title if t.annotations else None))
                    for t in page.tools
                )
                cursor = page.next_cursor
                if not cursor:
                    break
                if cursor in cursors:
                    raise McpPreflightError(
                        f"{url} sent the tools/list cursor {cursor!r} twice.", kind="protocol", url=url,
                        cause="The server's pagination loops.", fix="Report it to the server's maintainer.")
                cursors.add(cursor)
            else:
                raise McpPreflightError(
                    f"{url} listed more than {MAX_PAGES} pages of tools.", kind="protocol", url=url,
                    cause="The server's pagination does not end.", fix="Report it to the server's maintainer.")
    server = init.server_info
    return McpServerInfo(url=url, name=server.name, version=server.version or "",
                         protocol_version=init.protocol_version, tools=tools,
                         instructions=init.instructions, mode=mode)


# The streamable HTTP client logs the failures the preflight reports (an unexpected
# content type, a body that is not JSON-RPC, a redirect) as errors, some with a
# traceback. Within a preflight (and only there: the flag is a context variable,
# which the SDK's tasks inherit) those records are dropped; the McpPreflightError
# says it once.
_IN_PREFLIGHT: contextvars.ContextVar[bool] = contextvars.ContextVar("cookbook_mcp_preflight", default=False)
_SDK_TRANSPORT_LOGGER = "mcp.client.streamable_http"


class _PreflightLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_IN_PREFLIGHT.get() and record.levelno >= logging.WARNING)


def _quiet_transport_logs() -> None:
    logger = logging.getLogger(_SDK_TRANSPORT_LOGGER)
    if not any(isinstance(f, _PreflightLogFilter) for f in logger.filters):
        logger.addFilter(_PreflightLogFilter())


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="mcp-preflight") as pool:
        return pool.submit(asyncio.run, main()).result()


# --------------------------------------------------------------------------- cassette authoring


def record_mcp_preflight(
    url: str,
    cassette: str | os.PathLike[str],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> McpServerInfo:
    """Run the preflight against the real server and append the exchange to a cassette file.

    The exchange (``initialize``, ``notifications/initialized``, each
    ``tools/list`` page) is written, scrubbed, next to what the file already
    holds; an earlier recording of the same requests is replaced. No Mistral
    key is needed. Header values (``headers``) are never written.
    """
    from . import _cassette

    _check_arguments(url, timeout)
    path = _cassette.resolve(cassette, must_exist=False, recording=True)
    return _run_sync(lambda: _inspect(url, headers=headers, timeout=timeout, mode="record",
                                      http_transport=_Recording(path, _secrets(headers))))


def _secrets(headers: Mapping[str, str] | None) -> Any:
    """What a recorded preflight must never write: the values of the headers it was given."""
    from . import _cassette

    secrets = _cassette.Secrets()
    for value in (headers or {}).values():
        secrets.add(value)
        secrets.add(str(value).partition(" ")[2])
    return secrets
