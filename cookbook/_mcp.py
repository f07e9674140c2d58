"""MCP preflight: an MCP server's identity and exact tool names, before it is registered as a connector.

``inspect_mcp_server`` lists the tools with the official ``mcp`` SDK over streamable HTTP within ``timeout``, in the
mode of the cookbook client it is given; each failure is one :class:`McpPreflightError`, explained by the first of
:data:`_RULES` that holds. Recordings keep the JSON-RPC POSTs only: without a session id, a replay sends no GET
stream or DELETE. An SDK that offers another protocol version misses older recordings.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import PARSE_ERROR, Implementation, PaginatedRequestParams

from . import _cassette, _markup
from ._display import provenance_note
from ._errors import CookbookError, ReplayMiss
from ._explain import ErrorCard, status_title
from ._http import httpx
from ._transport import PROVENANCE_HEADER, LiveTransport

__all__ = ["McpPreflightError", "McpServerInfo", "McpTool", "inspect_mcp_server", "inspect_mcp_server_sync"]

# ``clientInfo`` in ``initialize``: recordings match on their body, so this is not the package version.
CLIENT_INFO = {"name": "mistral-connectors-cookbook", "version": "1"}


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
        properties, required = self.input_schema.get("properties"), self.input_schema.get("required") or []
        items = properties.items() if isinstance(properties, dict) else []
        return [(name, _schema_type(spec), name in required) for name, spec in items]

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
        return " | ".join(map(str, kind))
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"array[{_schema_type(spec['items'])}]"
    if kind or "enum" in spec:
        return str(kind or "enum")
    union = spec.get("anyOf") or spec.get("oneOf")
    return " | ".join(map(_schema_type, union)) if isinstance(union, list) else "any"


@dataclass(frozen=True)
class McpServerInfo:
    """What an MCP server said about itself (a table in Jupyter, text in ``print()``)."""

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
        """The exact names for a connector's ``tool_configuration`` include/exclude."""
        return [tool.name for tool in self.tools]

    @property
    def note(self) -> str:
        return provenance_note(self.provenance)

    def __str__(self) -> str:
        who = " ".join(x for x in (self.name, self.version) if x) or "(unnamed)"
        lines = [f"MCP server {who} · protocol {self.protocol_version} · {self.url}"
                 + (f" · {self.mode}" if self.mode != "live" else ""),
                 f"{len(self.tools)} tool{'s' if len(self.tools) != 1 else ''}:"]
        width = max((len(t.signature) for t in self.tools), default=0)
        lines += [f"  {t.signature.ljust(width)}  {' '.join(t.description.split())}".rstrip() for t in self.tools]
        return "\n".join(lines + ([f"({self.note})"] if self.note else []))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(str(self), str(_markup.render("mcp.html.j2", info=self)), include, exclude)


class McpPreflightError(CookbookError):
    """The MCP server could not be inspected: ``kind`` (a key of :attr:`TITLES`), the HTTP ``status`` that
    decided it if any, and the root cause as observed in ``detail`` (never a header value)."""

    TITLES = {"unreachable": "MCP server unreachable", "not_mcp": "Not an MCP endpoint",
              "auth": "MCP server refused access", "timeout": "MCP server timed out", "protocol": "MCP protocol error"}

    def __init__(self, summary: str, *, kind: str, url: str, cause: str = "", fix: str = "",
                 status: int | None = None, detail: str = ""):
        self.summary, self.kind, self.url = summary, kind, url
        self.cause, self.fix, self.status, self.detail = cause, fix, status, detail
        super().__init__("\n".join([summary] + [f"{k}: {v}" for k, v in (("Cause", cause), ("Fix", fix)) if v]))

    @property
    def card(self) -> ErrorCard:
        return ErrorCard(title=self.TITLES[self.kind] + (f" (HTTP {self.status})" if self.status else ""),
                         error_type=f"McpPreflightError: {self.kind}", cause=self.cause, fix=self.fix,
                         details=[self.summary] + ([f"Root cause: {self.detail}"] if self.detail else []))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return self.card._repr_mimebundle_(include, exclude)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the card, not repr()
        printer.text(str(self.card))

    def headline(self) -> str:
        return f"McpPreflightError ({self.kind}): {self}"


class _Answer(NamedTuple):
    """The HTTP answer to one of the preflight's JSON-RPC POSTs (``method`` quoted: 'initialize')."""

    method: str
    status: int
    content_type: str  # or "no content type"
    provenance: str | None = None  # what a replayed answer rests on

    @property
    def odd(self) -> bool:
        """An HTTP error, or a success (but a notification's 202) that is neither JSON nor an event stream."""
        mcp_type = self.content_type.split(";")[0].strip().lower() in ("application/json", "text/event-stream")
        return self.status >= 400 or (200 <= self.status < 300 and self.status != 202 and not mcp_type)


class _Failure:
    """What a failed preflight observed: the facts :data:`_RULES` test and their texts quote."""

    def __init__(self, root: BaseException, url: str, answers: list[_Answer], *, credentials: bool, timeout: float):
        self.root, self.url, self.timeout, self.credentials = root, url, timeout, credentials  # credentials: headers=
        # the answer that went wrong: the first odd one, else the last
        self.answer = next((a for a in answers if a.odd), answers[-1] if answers else _Answer("'initialize'", 0, ""))
        self.status = self.answer.status if self.answer.odd else None
        self.error = root if isinstance(root, MCPError) else None  # a JSON-RPC error
        self.said = f"{url} answered HTTP {status_title(self.status, '')} to the MCP {self.answer.method} request."
        self.detail = f"{type(root).__name__}: {root}" if str(root).strip() else type(root).__name__

    def explained(self) -> McpPreflightError:
        kind, *texts = next(rule[1:] for rule in _RULES if rule[0](self))
        summary, cause, fix = (text.format(f=self) for text in texts)
        return McpPreflightError(summary, kind=kind, url=self.url, cause=cause, fix=fix, status=self.status,
                                 detail=self.detail)


_NETWORK = (httpx.NetworkError, httpx.ProxyError)
_DNS_WORDS = ("name or service", "nodename", "getaddrinfo", "name resolution", "not known")
_SDK_STAND_INS = {"Not Found", "Session terminated", "Server returned an error response"}  # no JSON-RPC body
_USE_ENDPOINT = "Use the server's MCP endpoint, usually the URL ending in /mcp (e.g. https://mcp.deepwiki.com/mcp)."
_422 = "Mistral would refuse a connector for this server with 422."

# (when, kind, summary, cause, fix): the first rule that holds for the failure ``f`` explains it;
# its texts are str.format templates over ``f``.
_RULES: list[tuple[Callable[[_Failure], Any], str, str, str, str]] = [
    (lambda f: isinstance(f.root, TimeoutError | httpx.TimeoutException), "timeout",
     "{f.url} did not finish connect, initialize and list tools within {f.timeout:g} s.",
     "The server is slow or overloaded, or a proxy is holding the connection.",
     "Retry with a larger timeout=..., or check the server's health; Mistral may give up on a slow server too."),
    (lambda f: isinstance(f.root, _NETWORK) and any(w in str(f.root).lower() for w in _DNS_WORDS), "unreachable",
     "Could not resolve the host of {f.url}.", "The host name is not in DNS (a typo?), or there is no network.",
     "Check the server URL. " + _422),
    (lambda f: isinstance(f.root, _NETWORK), "unreachable", "Could not connect to the MCP server at {f.url}.",
     "Nothing accepted the connection: the server is down, the port is wrong, or a firewall or proxy is in the way.",
     "Check the URL (scheme, host, port) and that the server is running. " + _422),
    (lambda f: f.status in (401, 403) and f.credentials, "auth", "{f.said}",
     "The server refused the credentials passed in headers=: a wrong or expired token, or one without the scope "
     "this server needs.", 'Pass a valid token, e.g. headers={{"Authorization": "Bearer <token>"}}.'),
    (lambda f: f.status in (401, 403), "auth", "{f.said}", "The server wants credentials and none were sent.",
     'Pass them, e.g. inspect_mcp_server(url, headers={{"Authorization": "Bearer <token>"}}) (OAuth: a token '
     "from the server's authorization server), and give the connector the same."),
    (lambda f: f.status in (502, 503, 504), "unreachable", "{f.said}",
     "A gateway in front of the MCP server could not reach it, or the server is overloaded.",
     "Retry later; check that the MCP server behind the URL is up."),
    (lambda f: (f.status or 0) >= 500, "protocol", "{f.said}", "The server failed while handling an MCP request.",
     "Retry; if it persists, check the server's logs or tell its maintainer."),
    (lambda f: (f.status or 0) >= 400 and (f.error is None or f.error.message in _SDK_STAND_INS), "not_mcp",
     "{f.said}", "Nothing at this URL speaks MCP over streamable HTTP (a wrong path, or another kind of server).",
     _USE_ENDPOINT),
    (lambda f: f.answer.odd and f.answer.status < 400, "not_mcp",
     "{f.url} answered the MCP {f.answer.method} request with {f.answer.content_type}, not JSON or an event stream.",
     "This URL serves something else (a web page?), not an MCP endpoint.", _USE_ENDPOINT),
    (lambda f: f.error and f.error.code == PARSE_ERROR, "not_mcp",
     "{f.url} answered with data that is not a JSON-RPC message.",
     "The URL answers JSON, but not the MCP protocol.", _USE_ENDPOINT),
    (lambda f: f.error and f.error.message.startswith("Redirect to"), "not_mcp", "{f.url} redirects elsewhere.",
     "{f.error.message}", "Use the URL the redirect points to, if it is the intended server."),
    (lambda f: f.error, "protocol",
     "{f.url} answered the MCP {f.answer.method} request with JSON-RPC error {f.error.code}: {f.error.message}",
     "The server speaks JSON-RPC but refused the request.",
     "Read the server's message; check that the URL is its MCP endpoint and that it supports the MCP protocol "
     "versions of the installed mcp SDK."),
    (lambda f: True, "protocol", "{f.url} did not answer as an MCP server should.",
     "The exchange failed with {f.detail}.",
     "Check that the URL is the server's MCP (streamable HTTP) endpoint; if so, the server may get MCP wrong."),
]


def _root_cause(error: BaseException) -> BaseException:
    """The one exception that explains a failure, out of the SDK's nested exception groups."""
    if not isinstance(error, BaseExceptionGroup):
        return error
    causes = [_root_cause(inner) for inner in error.exceptions]
    order = (McpPreflightError, ReplayMiss, httpx.TimeoutException, httpx.TransportError, MCPError, Exception)
    return next((cause for kind in order for cause in causes if isinstance(cause, kind)), error)


class _Recording(httpx.AsyncBaseTransport):
    """Record: JSON-RPC POSTs are sent and written to ``cassette``; the session's GET (a stream that stays
    open) and DELETE are only sent, since a replay never sends them."""

    def __init__(self, cassette: Path, headers: Mapping[str, str]):
        # never written: the value of every header given, and its token ("Bearer <token>")
        secrets = _cassette.Secrets(s for value in headers.values() for s in (value, str(value).partition(" ")[2]))
        self._recorder, self._direct = LiveTransport(secrets, cassette), httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        to = self._recorder if request.method == "POST" else self._direct
        return await to.handle_async_request(request)

    async def aclose(self) -> None:
        await self._recorder.aclose()
        await self._direct.aclose()


def _replaying(url: str, replay: Any) -> httpx.AsyncBaseTransport:
    """The client's replay transport, if its cassettes hold an ``initialize`` sent to ``url`` (recordings match on
    path and body, not host, and every preflight starts with the same ``initialize``)."""
    recorded = sorted({r.uri for c in replay.cassettes for r in c.requests
                       if r.method == "POST" and isinstance(r.parsed, dict) and r.parsed.get("method") == "initialize"})
    names = tuple(Path(c.path).stem for c in replay.cassettes)
    if not any(httpx.URL(uri) == httpx.URL(url) for uri in recorded):
        raise ReplayMiss(
            f"No recorded MCP preflight for {url} in cassette{'s' if len(names) != 1 else ''} "
            f"{', '.join(names) or '(none)'}.\nRecorded MCP servers: {', '.join(recorded) or 'none'}.\n"
            "Run it live (a client in live mode, or none), or record it (a client in record mode).",
            method="POST", path=httpx.URL(url).raw_path.decode("ascii"), cassettes=names)
    return httpx.MockTransport(replay.handle_async_request)  # closing it never closes the client's


async def inspect_mcp_server(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10,
                             client: Any = None, transport: httpx.AsyncBaseTransport | None = None) -> McpServerInfo:
    """Initialize a session with the MCP server at ``url`` and list its tools, within ``timeout`` seconds.

    ``headers`` go with every request (e.g. ``{"Authorization": "Bearer ..."}``); a cookbook ``client`` sets the
    mode (replay raises :class:`cookbook.ReplayMiss` for an unrecorded preflight; no client: live). In live mode,
    ``transport`` (an httpx transport such as ``httpx.MockTransport``) answers in place of the network; with a client
    in replay or record mode it is refused (ValueError).
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise McpPreflightError(
            f"{url!r} is not an http(s) URL.", kind="unreachable", url=str(url),
            cause="An MCP connector's server is reached over streamable HTTP at an http:// or https:// URL.",
            fix="Pass the full endpoint URL, e.g. https://mcp.deepwiki.com/mcp.")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    headers = dict(headers or {})
    info = getattr(client, "cookbook", None)
    mode = getattr(info, "mode", "live") if getattr(info, "transport", None) is not None else "live"
    if transport is not None and mode != "live":
        raise ValueError(f"transport= answers in live mode only; this client is in {mode} mode: drop transport= to "
                         f"{'replay' if mode == 'replay' else 'record'} through the client's cassette, or pass a "
                         "client in live mode (or none) to have the transport answer.")
    if mode == "replay":
        transport = _replaying(url, info.transport)
    elif mode == "record":
        transport = _Recording(info.transport.cassette, headers)
    answers: list[_Answer] = []

    async def note(response: httpx.Response) -> None:
        if response.request.method == "POST":  # the JSON-RPC messages; GET and DELETE are session plumbing
            body = json.loads(response.request.content)
            method = body.get("method") if isinstance(body, dict) else None  # a batch: a list of messages
            answers.append(_Answer(repr(method) if method else "JSON-RPC", response.status_code,
                                   response.headers.get("content-type") or "no content type",
                                   response.headers.get(PROVENANCE_HEADER)))

    flag = _IN_PREFLIGHT.set(True)
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(headers=headers, timeout=timeout, transport=transport,
                                         event_hooks={"response": [note]}) as http:
                init, tools = await _session(url, http)
    except Exception as error:
        root = _root_cause(error)
        if isinstance(root, McpPreflightError | ReplayMiss):
            raise root from None
        raise _Failure(root, url, answers, credentials=bool(headers), timeout=timeout).explained() from root
    finally:
        _IN_PREFLIGHT.reset(flag)
    server = init.server_info
    return McpServerInfo(url, server.name, server.version or "", init.protocol_version, tools, init.instructions,
                         mode, answers[-1].provenance)  # the last answer is the listing's


def inspect_mcp_server_sync(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10,
                            client: Any = None, transport: httpx.AsyncBaseTransport | None = None) -> McpServerInfo:
    """:func:`inspect_mcp_server` for code that is not async (scripts, widget callbacks).

    It runs on a fresh event loop in a worker thread, so it works while a loop runs in this thread too.
    """
    preflight = inspect_mcp_server(url, headers=headers, timeout=timeout, client=client, transport=transport)
    with ThreadPoolExecutor(1, thread_name_prefix="mcp-preflight") as pool:
        return pool.submit(asyncio.run, preflight).result()


async def _session(url: str, http: httpx.AsyncClient) -> tuple[Any, list[McpTool]]:
    """``initialize``'s result and the tools of every ``tools/list`` page (an endless listing meets the timeout)."""
    async with streamable_http_client(url, http_client=http) as (read, write, *_):
        async with ClientSession(read, write, client_info=Implementation(**CLIENT_INFO)) as session:
            init, tools, cursor, cursors = await session.initialize(), [], None, set()
            while True:
                page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
                tools += [McpTool(t.name, t.description or "", dict(t.input_schema or {}),
                                  t.title or (t.annotations and t.annotations.title)) for t in page.tools]
                if not (cursor := page.next_cursor):
                    return init, tools
                if cursor in cursors:
                    raise McpPreflightError(f"{url} sent the tools/list cursor {cursor!r} twice.", kind="protocol",
                                            url=url, cause="The server's pagination loops.",
                                            fix="Report it to the server's maintainer.")
                cursors.add(cursor)


# The SDK logs as errors the failures a preflight reports; within a preflight (a context variable, which the
# SDK's tasks inherit) those records are dropped: the McpPreflightError says it once.
_IN_PREFLIGHT: contextvars.ContextVar[bool] = contextvars.ContextVar("cookbook_mcp_preflight", default=False)
logging.getLogger("mcp.client.streamable_http").addFilter(
    lambda record: not (_IN_PREFLIGHT.get() and record.levelno >= logging.WARNING))
