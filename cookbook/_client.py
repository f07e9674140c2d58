"""``make_client``: a real ``mistralai.client.Mistral`` in replay, live or record mode.

httpx event hooks log what each call sent (scrubbed) and what answered it; the traced SDK methods remember which
request a result or error answers, so the displays can say which connector ran a tool and what a replay rests on.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv
from mistralai.client import Mistral
from mistralai.client.utils import BackoffStrategy, RetryConfig

from . import _cassette, _markup
from ._display import RequestContext
from ._errors import ConfigurationError
from ._http import httpx
from ._tools import check_agent, check_conversation
from ._transport import PROVENANCE_HEADER, RETRIED, LiveTransport, ReplayTransport

MODES = ("replay", "live", "record")
KEY_VARIABLE = "MISTRAL_API_KEY"
MODE_VARIABLE = "COOKBOOK_MODE"
SERVER_VARIABLE = "MISTRAL_SERVER_URL"  # the API's base URL (a proxy, a gateway, a local stand-in)
REPLAY_KEY = "replay-mode-needs-no-key"
REPLAY_TOKEN = "replay-mode-needs-no-token"
Cassettes = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None
DEFAULT_TIMEOUT_MS = 120_000  # requests that run tools (web search, MCP servers) can take a while


def resolve_mode(mode: str | None = None, *, api_key: str | None = None) -> tuple[str, str | None]:
    """The mode to use and the key for it (none for replay): argument > ``COOKBOOK_MODE`` > live when a key is
    found > replay. The key: ``api_key`` > ``MISTRAL_API_KEY`` > a ``.env`` file from the working directory up (read,
    never exported)."""
    chosen = (mode or os.environ.get(MODE_VARIABLE) or "").strip().lower()
    if chosen and chosen not in MODES:
        where = "mode=" if mode else MODE_VARIABLE
        raise ConfigurationError(f"Unknown mode {chosen!r} (from {where}): use one of {', '.join(MODES)}.")
    key = None
    if chosen != "replay":
        key = api_key or os.environ.get(KEY_VARIABLE) or dotenv_values(find_dotenv(usecwd=True)).get(KEY_VARIABLE)
    if chosen in ("live", "record") and not key:
        raise ConfigurationError(
            f"Mode {chosen!r} talks to the Mistral API and needs a key: set {KEY_VARIABLE} in the "
            "environment or in a .env file, or pass api_key=... . Without a key, use mode='replay' "
            "to run from the bundled recordings."
        )
    return chosen or ("live" if key else "replay"), key or None


@dataclass
class SentRequest:
    """A request as the client sent it, with secrets already replaced, and what answered it."""

    method: str
    url: str
    body: Any = None
    status: int | None = None
    provenance: str | None = None  # for a replayed answer: what it rests on (the cookbook-provenance header)

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class ClientInfo:
    """What a cookbook client is wired to (``client.cookbook``); displays as one line.

    ``sent``: the requests sent (scrubbed), newest last. ``transport``: the client's transport, for other HTTP
    clients that must answer from the same cassettes. ``agents`` (tools by id),
    ``connectors`` (names by id) and ``conversations`` (context by id) are learnt from the API's answers.
    """

    mode: str
    cassettes: tuple[str, ...]
    sdk_version: str
    server_url: str | None = None
    sent: list[SentRequest] = field(default_factory=list, compare=False, repr=False)
    transport: Any = field(default=None, compare=False, repr=False)
    agents: dict[str, list] = field(default_factory=dict, compare=False, repr=False)
    connectors: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    conversations: dict[str, RequestContext] = field(default_factory=dict, compare=False, repr=False)
    token_variables: list[str] = field(default_factory=list, compare=False, repr=False)  # see oauth_token

    def __str__(self) -> str:
        parts = [f"Mistral client: {self.mode} mode"]
        if self.mode == "replay":
            if len(self.cassettes) == 1:
                parts.append(f"cassette {self.cassettes[0]}")
            elif list(self.cassettes) == _cassette.bundled_names():
                parts.append(f"all {len(self.cassettes)} bundled cassettes")
            else:
                parts.append(f"cassettes {', '.join(self.cassettes)}")
        elif self.mode == "record":
            parts.append(f"recording to {self.cassettes[0]}")
        if self.server_url and self.mode != "replay":
            parts.append(self.server_url)
        parts.append(f"mistralai {self.sdk_version}")
        return " · ".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(str(self), str(_markup.render("client.html.j2", info=self)), include, exclude)

    def context(self, sent: SentRequest | None) -> RequestContext:
        """What a response to ``sent`` needs to know: the connectors the request sent (by name), and provenance."""
        if sent is None:
            return RequestContext()
        body = sent.body if isinstance(sent.body, dict) else {}
        conversation = re.match(r"/v1/conversations/([^/]+)", urlsplit(sent.url).path)
        if conversation and not body.get("tools") and conversation[1] in self.conversations:
            return RequestContext(self.conversations[conversation[1]].connectors, sent.provenance)
        tools = [*(body.get("tools") or []), *self.agents.get(str(body.get("agent_id")), [])]
        ids = [str(tool["connector_id"]) for tool in tools
               if isinstance(tool, dict) and tool.get("type") == "connector" and tool.get("connector_id")]
        names = dict.fromkeys(self.connectors.get(i, i) for i in ids)
        return RequestContext(tuple(names), sent.provenance)

    def learn(self, request: Any, answer: Any) -> None:
        """Note agents' tools and connectors' names from an answer (a dict or SDK model) to ``request``."""
        path = urlsplit(str(request.url)).path
        if not path.startswith(("/v1/agents", "/v1/connectors")):
            return
        data = answer.model_dump(mode="json", by_alias=True) if hasattr(answer, "model_dump") else answer
        items = data.get("items") if isinstance(data, dict) and isinstance(data.get("items"), list) else [data]
        for item in items:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if path.startswith("/v1/agents"):
                self.agents[str(item["id"])] = list(item.get("tools") or [])
            elif item.get("name"):
                self.connectors[str(item["id"])] = str(item["name"])


# The last request sent in this task or thread: httpx runs the hooks in the caller's task (see _traced).
_LAST_SENT: ContextVar[SentRequest | None] = ContextVar("cookbook_last_sent", default=None)
# The last results and errors of cookbook clients' calls, each with the context of its request. Objects are kept
# alive while listed, so an id cannot be reused by another object meanwhile.
_RESULTS: OrderedDict[int, tuple[Any, RequestContext]] = OrderedDict()


def context_of(obj: Any) -> RequestContext | None:
    """The request context of a response, stream or error a cookbook client returned or raised (else None)."""
    hit = _RESULTS.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else None


def _event_hooks(info: ClientInfo, secrets: _cassette.Secrets) -> tuple[dict, dict]:
    """httpx event hooks (sync, async): log each request scrubbed, then note its answer's status and provenance."""
    pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def sent(request: httpx.Request) -> None:
        secrets.learn(request)
        try:
            body = secrets.json(json.loads(request.content)) if request.content else None
        except ValueError:
            body = secrets.bytes(request.content).decode("utf-8", "replace")
        pending[request] = entry = SentRequest(request.method, secrets.url(str(request.url).split("#", 1)[0]), body)
        info.sent.append(entry)
        del info.sent[:-100]
        _LAST_SENT.set(entry)

    def answered(response: httpx.Response) -> None:
        if (entry := pending.pop(response.request, None)) is not None:
            entry.status, entry.provenance = response.status_code, response.headers.get(PROVENANCE_HEADER)

    async def sent_async(request: httpx.Request) -> None:
        sent(request)

    async def answered_async(response: httpx.Response) -> None:
        answered(response)

    return ({"request": [sent], "response": [answered]},
            {"request": [sent_async], "response": [answered_async]})


# The methods (each also as ``..._async``) whose results and errors the displays explain; conversations' start*
# and agents' create are also checked before sending.
_TRACED = {
    "conversations": ("start", "append", "restart", "start_stream", "append_stream", "restart_stream"),
    "agents": ("create", "get", "update", "update_version", "get_version", "delete"),
    "connectors": ("create", "get", "update", "list", "list_tools", "delete"),
}


def _traced(method: Any, info: ClientInfo, check: Any) -> Any:
    """``method`` (sync or async), checking its arguments first (when ``check``) and remembering which request
    its result or error answers."""

    def before(kwargs: dict) -> None:
        if check is not None:
            check(kwargs)  # the traced SDK methods take keyword arguments only
        _LAST_SENT.set(None)

    def after(outcome: Any) -> Any:
        sent = _LAST_SENT.get()
        context = info.context(sent)
        _RESULTS[id(outcome)] = (outcome, context)
        _RESULTS.move_to_end(id(outcome))
        while len(_RESULTS) > 128:
            _RESULTS.popitem(last=False)
        if sent is not None and sent.ok:
            info.learn(sent, outcome)
            if isinstance(conversation := getattr(outcome, "conversation_id", None), str):
                info.conversations[conversation] = context
        return outcome

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            before(kwargs)
            try:
                result = await method(*args, **kwargs)
            except Exception as error:
                after(error)
                raise
            return after(result)

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        before(kwargs)
        try:
            result = method(*args, **kwargs)
        except Exception as error:
            after(error)
            raise
        return after(result)

    return run


def retry_config(*, initial_ms: int = 500, max_interval_ms: int = 8_000, max_elapsed_ms: int = 30_000,
                 exponent: float = 2.0, jitter_ms: int = 250) -> RetryConfig:
    """The SDK retry policy of live clients: exponential backoff on 429, 5xx and connection errors, bounded.

    The first retry waits about ``initial_ms`` (plus up to ``jitter_ms``), each next one ``exponent`` times longer,
    at most ``max_interval_ms``; after ``max_elapsed_ms`` the last error is raised. ``Retry-After`` prevails.
    """
    backoff = BackoffStrategy(initial_ms, max_interval_ms, exponent, max_elapsed_ms, jitter_ms=jitter_ms)
    statuses = [str(code) for code in sorted(RETRIED)]
    return RetryConfig("backoff", backoff, retry_connection_errors=True, status_codes_override=statuses)


def _transport(mode: str, cassette: Cassettes, secrets: _cassette.Secrets) -> tuple[Any, tuple[str, ...]]:
    """The transport for ``mode`` and the cassettes it reads or writes, as the client shows them."""
    names = [cassette] if isinstance(cassette, str | os.PathLike) else list(cassette or [])
    if mode == "live":
        return LiveTransport(secrets), ()
    if mode == "record":
        if len(names) != 1:
            raise ConfigurationError(
                "Record mode writes to one cassette: pass cassette='NN_name' (a bundled name) or a file path.")
        path = _cassette.resolve(names[0], must_exist=False, recording=True)
        return LiveTransport(secrets, path), (str(path),)
    paths = [_cassette.resolve(name, must_exist=True) for name in names or _cassette.bundled_names()]
    return ReplayTransport([_cassette.load_recordings(p) for p in paths]), tuple(p.stem for p in paths)


def make_client(mode: str | None = None, *, cassette: Cassettes = None, api_key: str | None = None,
                server_url: str | None = None, retries: bool | RetryConfig | None = True,
                timeout_ms: int = DEFAULT_TIMEOUT_MS, check_requests: bool = True) -> Mistral:
    """A ``mistralai.client.Mistral`` in ``mode``, else ``COOKBOOK_MODE``, else live if a key is found, else replay.

    - ``replay``: no network, no key; answers from the named cassette(s), or all bundled ones when none is named.
      A request with no recording raises :class:`cookbook.ReplayMiss`.
    - ``live``: the API at ``server_url`` (else ``MISTRAL_SERVER_URL``, else Mistral's), with the key from
      ``api_key``, ``MISTRAL_API_KEY`` or a ``.env`` file. Retries 429, 5xx and connection errors (``retries=True``:
      :func:`retry_config`; or an SDK ``RetryConfig``, or ``False``); each request gets ``timeout_ms``.
    - ``record``: live, and every exchange is written, scrubbed, to ``cassette``.

    Conversation and agent arguments are checked before a request is built (``cookbook.InvalidRequest`` names the
    fix); ``check_requests=False`` sends them as given.
    """
    mode, key = resolve_mode(mode, api_key=api_key)
    server_url = server_url or os.environ.get(SERVER_VARIABLE, "").strip() or None
    secrets = _cassette.Secrets([key] if key else [])
    transport, shown = _transport(mode, cassette, secrets)
    info = ClientInfo(mode, shown, version("mistralai"), server_url or "https://api.mistral.ai", transport=transport)
    hooks, async_hooks = _event_hooks(info, secrets)
    retry = retry_config() if retries is True else retries or None
    client = Mistral(
        api_key=key or REPLAY_KEY,
        server_url=server_url,
        client=httpx.Client(transport=transport, follow_redirects=True, event_hooks=hooks),
        async_client=httpx.AsyncClient(transport=transport, follow_redirects=True, event_hooks=async_hooks),
        retry_config=None if mode == "replay" else retry,
        timeout_ms=timeout_ms,
    )
    client.cookbook = info
    # trace (and check) the calls the displays explain
    checks = {("conversations", "start"): check_conversation, ("agents", "create"): check_agent}
    for name, methods in _TRACED.items():
        resource = getattr(client.beta, name)
        for method in (f"{base}{sync}" for base in methods for sync in ("", "_async")):
            check = checks.get((name, method.split("_")[0])) if check_requests else None
            setattr(resource, method, _traced(getattr(resource, method), info, check))
    return client


def oauth_token(variable: str, client: Mistral) -> str:
    """The OAuth token in environment variable ``variable``; in replay mode, a stand-in when it is unset.

    The token is never printed or stored; the variable's name is noted for :func:`cookbook.equivalents`.
    """
    if not variable or not variable.replace("_", "").isalnum():
        raise ConfigurationError(
            f"{variable!r} is not an environment variable name: pass the variable's NAME "
            "(e.g. 'GOOGLE_OAUTH_TOKEN'), never the token itself."
        )
    info = getattr(client, "cookbook", None)
    if info is not None and variable not in info.token_variables:
        info.token_variables.append(variable)
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    if getattr(info, "mode", "live") == "replay":
        return REPLAY_TOKEN
    raise ConfigurationError(
        f"No OAuth token in ${variable}. Set it to a valid access token (for Gmail, one with the "
        f"gmail.readonly scope), e.g. `export {variable}=...` before starting Jupyter, or run in replay mode."
    )
