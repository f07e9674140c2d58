"""``make_client``: a real ``mistralai.client.Mistral`` in replay, live or record mode."""

from __future__ import annotations

import functools
import inspect
import json
import os
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import _cassette
from ._display import RequestContext
from ._errors import ConfigurationError
from ._transport import PROVENANCE_HEADER

MODES = ("replay", "live", "record")
KEY_VARIABLE = "MISTRAL_API_KEY"
MODE_VARIABLE = "COOKBOOK_MODE"
SERVER_VARIABLE = "MISTRAL_SERVER_URL"  # the API's base URL (a proxy, a gateway, a local stand-in)
REPLAY_KEY = "replay-mode-needs-no-key"


def find_api_key(api_key: str | None = None) -> str | None:
    """The API key from the argument, the environment, or a ``.env`` file (in that order)."""
    if api_key:
        return api_key
    if os.environ.get(KEY_VARIABLE):
        return os.environ[KEY_VARIABLE]
    from dotenv import dotenv_values, find_dotenv

    path = find_dotenv(usecwd=True)
    return (dotenv_values(path).get(KEY_VARIABLE) or None) if path else None


def resolve_mode(mode: str | None = None, *, api_key: str | None = None) -> tuple[str, str | None]:
    """The mode to use and the key for it: argument > ``COOKBOOK_MODE`` > live when a key is found > replay."""
    chosen = (mode or os.environ.get(MODE_VARIABLE) or "").strip().lower()
    if chosen and chosen not in MODES:
        where = "mode=" if mode else MODE_VARIABLE
        raise ConfigurationError(f"Unknown mode {chosen!r} (from {where}): use one of {', '.join(MODES)}.")
    key = find_api_key(api_key) if chosen != "replay" else None
    if not chosen:
        chosen = "live" if key else "replay"
    if chosen in ("live", "record") and not key:
        raise ConfigurationError(
            f"Mode {chosen!r} talks to the Mistral API and needs a key: set {KEY_VARIABLE} in the "
            "environment or in a .env file, or pass api_key=... . Without a key, use mode='replay' "
            "to run from the bundled recordings."
        )
    return chosen, key


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
    """What a cookbook client is wired to; displays as one line.

    ``sent`` lists the requests the client has sent (scrubbed), newest last. ``transport`` is the replay or
    record transport behind the client (None when live), for other HTTP clients that must answer from the same
    cassettes. ``agents`` and ``connectors`` are what the client learnt from the API's answers (an agent's
    tools, a connector's name by id), so a response can say which connector ran a tool.
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
            parts.append(
                f"cassette {', '.join(self.cassettes)}" if len(self.cassettes) == 1
                else f"all {len(self.cassettes)} bundled cassettes"
            )
        elif self.mode == "record":
            parts.append(f"recording to {self.cassettes[0]}")
        if self.server_url and self.mode != "replay":
            parts.append(self.server_url)
        parts.append(f"mistralai {self.sdk_version}")
        return " · ".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from . import _markup

        return _markup.mimebundle(str(self), str(_markup.render("client.html.j2", info=self)), include, exclude)

    def context(self, sent: SentRequest | None) -> RequestContext:
        """What a response to ``sent`` needs to know: the connectors the request sent (by name), and provenance."""
        if sent is None:
            return RequestContext()
        body = sent.body if isinstance(sent.body, dict) else {}
        path = urlsplit(sent.url).path.rstrip("/")
        conversation = path.split("/")[3] if path.count("/") >= 3 and path.startswith("/v1/conversations/") else None
        if conversation and not body.get("tools") and conversation in self.conversations:
            return RequestContext(self.conversations[conversation].connectors, sent.provenance)
        tools = list(body.get("tools") or []) + list(self.agents.get(str(body.get("agent_id")), []))
        names = [self.connectors.get(str(t["connector_id"]), str(t["connector_id"])) for t in tools
                 if isinstance(t, dict) and t.get("type") == "connector" and t.get("connector_id")]
        return RequestContext(tuple(dict.fromkeys(names)), sent.provenance)

    def learn(self, request: Any, data: Any) -> None:
        """Note an agent's tools and connectors' names from an answer of the agents or connectors endpoints."""
        path = urlsplit(str(request.url)).path
        items = data.get("items") if isinstance(data, dict) and isinstance(data.get("items"), list) else [data]
        for item in items if isinstance(data, dict | list) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if path.startswith("/v1/agents"):
                self.agents[str(item["id"])] = list(item.get("tools") or [])
            elif path.startswith("/v1/connectors") and item.get("name"):
                self.connectors[str(item["id"])] = str(item["name"])


# --------------------------------------------------------------------------- what answered what

# The requests sent during the SDK call under way in this task or thread (see _traced).
_CALL: ContextVar[list[SentRequest] | None] = ContextVar("cookbook_call", default=None)
# The last results and errors of cookbook clients' calls, each with the context of its request. Objects are kept
# alive here while listed, so an id cannot be reused by another object meanwhile.
_RESULTS: OrderedDict[int, tuple[Any, RequestContext]] = OrderedDict()
_KEPT_RESULTS = 128


def remember(obj: Any, context: RequestContext) -> None:
    _RESULTS[id(obj)] = (obj, context)
    _RESULTS.move_to_end(id(obj))
    while len(_RESULTS) > _KEPT_RESULTS:
        _RESULTS.popitem(last=False)


def context_of(obj: Any) -> RequestContext | None:
    """The request context of a response, stream or error a cookbook client returned or raised (else None)."""
    hit = _RESULTS.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else None


def _request_log(info: ClientInfo, secrets: _cassette.Secrets) -> tuple[dict, dict]:
    """httpx event hooks (sync, async): log each request scrubbed, note its status and provenance, and learn
    agents' tools and connectors' names from the answers that hold them."""
    pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def note(request: Any) -> None:
        secrets.learn(request.method, str(request.url), request.headers, request.content)
        body = secrets.body(request.content or None)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace") if body else None
        url = secrets.url(str(request.url).split("#", 1)[0])
        pending[request] = entry = SentRequest(request.method, url, parsed)
        info.sent.append(entry)
        del info.sent[:-100]
        call = _CALL.get()
        if call is not None:
            call.append(entry)

    def answered(response: Any) -> bool:
        entry = pending.pop(response.request, None)
        if entry is not None:
            entry.status = response.status_code
            entry.provenance = response.headers.get(PROVENANCE_HEADER)
        path = urlsplit(str(response.request.url)).path
        return response.status_code < 300 and path.startswith(("/v1/agents", "/v1/connectors")) and \
            "json" in response.headers.get("content-type", "")

    def learn(response: Any) -> None:
        try:
            info.learn(response.request, response.json())
        except ValueError:
            pass

    def on_response(response: Any) -> None:
        if answered(response):
            response.read()
            learn(response)

    async def anote(request: Any) -> None:
        note(request)

    async def aon_response(response: Any) -> None:
        if answered(response):
            await response.aread()
            learn(response)

    return {"request": [note], "response": [on_response]}, {"request": [anote], "response": [aon_response]}


# The methods whose results and errors the displays explain (conversations' start* and agents' create are also
# checked before sending, see _wire).
_TRACED = {
    "conversations": [f"{verb}{stream}{sync}" for verb in ("start", "append", "restart")
                      for stream in ("", "_stream") for sync in ("", "_async")],
    "agents": [f"{verb}{sync}" for verb in ("create", "get", "update", "delete") for sync in ("", "_async")],
    "connectors": [f"{verb}{sync}" for verb in ("create", "get", "list", "list_tools", "delete")
                   for sync in ("", "_async")],
}


def _traced(method: Any, info: ClientInfo, check: Any) -> Any:
    """``method`` (sync or async) that checks its arguments first (when ``check``), and remembers which request
    its result (or error) answers, for the displays."""
    signature = inspect.signature(method)

    def before(args: tuple, kwargs: dict) -> Any:
        if check is not None:
            try:
                arguments = dict(signature.bind(*args, **kwargs).arguments)
            except TypeError:
                arguments = dict(kwargs)  # the SDK itself will say what is wrong with the call
            check(arguments)
        return _CALL.set([])

    def after(token: Any, outcome: Any) -> None:
        sent = _CALL.get() or []
        _CALL.reset(token)
        context = info.context(sent[-1] if sent else None)
        remember(outcome, context)
        conversation = getattr(outcome, "conversation_id", None)
        if isinstance(conversation, str) and sent and sent[-1].ok:
            info.conversations[conversation] = context

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            token = before(args, kwargs)
            try:
                result = await method(*args, **kwargs)
            except Exception as error:
                after(token, error)
                raise
            after(token, result)
            return result

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = before(args, kwargs)
        try:
            result = method(*args, **kwargs)
        except Exception as error:
            after(token, error)
            raise
        after(token, result)
        return result

    return run


def _wire(client: Any, info: ClientInfo, check_requests: bool) -> Any:
    """Give ``client`` its ``cookbook`` info, and trace (and check) the calls the recipes display."""
    from ._tools import check_agent, check_conversation

    client.cookbook = info
    checks = {("conversations", "start"): check_conversation, ("agents", "create"): check_agent}
    for name, methods in _TRACED.items():
        resource = getattr(client.beta, name)
        for method in methods:
            check = checks.get((name, method.split("_")[0])) if check_requests else None
            setattr(resource, method, _traced(getattr(resource, method), info, check))
    return client


DEFAULT_TIMEOUT_MS = 120_000  # requests that run tools (web search, MCP servers) can take a while


def retry_config(
    *,
    initial_ms: int = 500,
    max_interval_ms: int = 8_000,
    max_elapsed_ms: int = 30_000,
    exponent: float = 2.0,
    jitter_ms: int = 250,
) -> Any:
    """The SDK retry policy of live clients: exponential backoff on 429, 5xx and connection errors, bounded.

    The first retry waits about ``initial_ms`` (plus up to ``jitter_ms``), each next one ``exponent`` times
    longer, at most ``max_interval_ms``; after ``max_elapsed_ms`` the last error is raised. A
    ``Retry-After`` header from the API takes precedence over this schedule (the SDK's rule).
    """
    from mistralai.client.utils import BackoffStrategy, RetryConfig

    from ._transport import RETRIED

    backoff = BackoffStrategy(initial_ms, max_interval_ms, exponent, max_elapsed_ms, jitter_ms=jitter_ms)
    statuses = [str(code) for code in sorted(RETRIED)]
    return RetryConfig("backoff", backoff, retry_connection_errors=True, status_codes_override=statuses)


def make_client(
    mode: str | None = None,
    *,
    cassette: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    api_key: str | None = None,
    server_url: str | None = None,
    retries: Any = True,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    check_requests: bool = True,
) -> Any:
    """A ``mistralai.client.Mistral`` client for one of three modes.

    - ``replay``: no network, no key; every request is answered from the named
      cassette(s), or from all bundled cassettes when none is named. A request
      with no recording raises :class:`cookbook.ReplayMiss`.
    - ``live``: the real API, with the key from ``api_key``, ``MISTRAL_API_KEY``
      or a ``.env`` file.
    - ``record``: live, and every exchange is written, scrubbed, to ``cassette``.

    The mode is the argument, else ``COOKBOOK_MODE``, else ``live`` when a key
    is found, else ``replay``. ``client.cookbook`` tells which was chosen.

    Live and record clients retry 429 and 5xx answers and connection errors
    with bounded exponential backoff (``retries=True``, see :func:`retry_config`;
    pass an SDK ``RetryConfig`` to change it, or ``False`` for none), and give
    each request ``timeout_ms``. Replay answers at once and never retries.
    Every client checks conversation and agent arguments before a request
    is built (``cookbook.InvalidRequest`` names the fix); ``check_requests=False``
    sends them as given, to see what the API itself answers.
    """
    from importlib.metadata import version

    from mistralai.client import Mistral

    from ._http import httpx
    from ._transport import LiveTransport, ReplayTransport

    mode, key = resolve_mode(mode, api_key=api_key)
    server_url = server_url or os.environ.get(SERVER_VARIABLE, "").strip() or None
    names = [cassette] if isinstance(cassette, str | os.PathLike) else list(cassette or [])
    secrets = _cassette.Secrets([key] if key else [])
    transport: Any = None
    if mode == "live":
        transport = LiveTransport(secrets)
        shown: tuple[str, ...] = ()
    elif mode == "record":
        if len(names) != 1:
            raise ConfigurationError(
                "Record mode writes to one cassette: pass cassette='NN_name' (a bundled name) or a file path.")
        path = _cassette.resolve(names[0], must_exist=False, recording=True)
        transport = LiveTransport(secrets, path)
        shown = (str(path),)
    else:
        paths = [_cassette.resolve(n, must_exist=True) for n in names or _cassette.bundled_names()]
        transport = ReplayTransport([_cassette.load_recordings(p) for p in paths])
        shown = tuple(p.stem for p in paths)
        key = REPLAY_KEY

    info = ClientInfo(mode, shown, version("mistralai"), server_url or "https://api.mistral.ai", transport=transport)
    hooks, async_hooks = _request_log(info, secrets)
    if mode == "replay" or retries is False or retries is None:
        retry = None
    else:
        retry = retry_config() if retries is True else retries
    client = Mistral(
        api_key=key,
        server_url=server_url,
        client=httpx.Client(transport=transport, follow_redirects=True, event_hooks=hooks),
        async_client=httpx.AsyncClient(transport=transport, follow_redirects=True, event_hooks=async_hooks),
        retry_config=retry,
        timeout_ms=timeout_ms,
    )
    return _wire(client, info, check_requests)


REPLAY_TOKEN = "replay-mode-needs-no-token"


def oauth_token(variable: str, client: Any) -> str:
    """The OAuth token held in environment variable ``variable``, for ``client``'s mode.

    In replay mode no token is needed: when the variable is unset, a stand-in is
    returned (recordings hold a placeholder in its place). In live and record
    mode an unset variable is an error that says how to set it, raised before
    any request is sent. The token is never printed or stored by the cookbook;
    the variable's name is noted in ``client.cookbook.token_variables``, so the
    snippets of :func:`cookbook.equivalents` read the token from it too.
    """
    if not variable or not variable.replace("_", "").isalnum():
        raise ConfigurationError(
            f"{variable!r} is not an environment variable name: pass the variable's NAME "
            "(e.g. 'GOOGLE_OAUTH_TOKEN'), never the token itself."
        )
    noted = getattr(getattr(client, "cookbook", None), "token_variables", None)
    if isinstance(noted, list) and variable not in noted:
        noted.append(variable)  # the variable's name (never its value), for the curl and TypeScript snippets
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    if getattr(getattr(client, "cookbook", None), "mode", "live") == "replay":
        return REPLAY_TOKEN
    raise ConfigurationError(
        f"No OAuth token in ${variable}. Set it to a valid access token (for Gmail, one with the "
        f"gmail.readonly scope), e.g. `export {variable}=...` before starting Jupyter, or run in replay mode."
    )
