"""``make_client``: a real ``mistralai.client.Mistral`` in replay, live or record mode."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import ConfigurationError

MODES = ("replay", "live", "record")
KEY_VARIABLE = "MISTRAL_API_KEY"
MODE_VARIABLE = "COOKBOOK_MODE"
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
    """A request as the client sent it, with secrets already replaced, and its response status."""

    method: str
    url: str
    body: Any = None
    status: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class ClientInfo:
    """What a cookbook client is wired to; displays as one line.

    ``sent`` lists the requests the client has sent (scrubbed), newest last.
    ``transport`` is the replay or record transport behind the client (None when
    live), for other HTTP clients that must answer from the same cassettes.
    """

    mode: str
    cassettes: tuple[str, ...]
    sdk_version: str
    server_url: str | None = None
    sent: list[SentRequest] = field(default_factory=list, compare=False, repr=False)
    transport: Any = field(default=None, compare=False, repr=False)

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
        color = {"replay": "#2e7d32", "live": "#c62828", "record": "#ef6c00"}[self.mode]
        badge = (
            f'<span style="background:{color};color:#fff;border-radius:3px;padding:0 .4em;'
            f'font-weight:600">{html.escape(self.mode)}</span>'
        )
        rest = html.escape(str(self).split(" · ", 1)[1])
        return {
            "text/plain": str(self),
            "text/html": f'<div style="font-family:var(--jp-code-font-family,monospace);font-size:90%">'
            f"Mistral client {badge} · {rest}</div>",
        }


def _request_log(sent: list[SentRequest], secrets: Sequence[str]) -> tuple[dict, dict]:
    """httpx event hooks (sync, async): each outgoing request is appended to ``sent``, its status noted."""
    import json
    import weakref

    from . import _cassette

    pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def note(request: Any) -> None:
        body = _cassette.scrub_body(request.content or None, secrets)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace") if body else None
        url = _cassette.scrub_url(str(request.url).split("#", 1)[0], secrets)
        pending[request] = entry = SentRequest(request.method, url, parsed)
        sent.append(entry)
        del sent[:-100]

    def answered(response: Any) -> None:
        entry = pending.pop(response.request, None)
        if entry is not None:
            entry.status = response.status_code

    async def anote(request: Any) -> None:
        note(request)

    async def aanswered(response: Any) -> None:
        answered(response)

    return {"request": [note], "response": [answered]}, {"request": [anote], "response": [aanswered]}


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


# client.beta's resources the recipes use, and where the SDK defines them. The SDK's own ``Beta`` imports all
# fifteen of its resources when it is first reached (about a second of pydantic models per kernel); a cookbook
# client makes these one by one, on first use. Any other name, or one of these the SDK has moved, comes from
# the SDK's ``Beta``.
_BETA_RESOURCES = {
    "conversations": ("mistralai.client.conversations", "Conversations"),
    "agents": ("mistralai.client.beta_agents", "BetaAgents"),
    "connectors": ("mistralai.client.connectors", "Connectors"),
}

_CLASS = None
_BETA_CLASS = None


def _lazy_beta_class() -> type:
    """``LazyBeta``: ``client.beta`` with each resource imported and made on first use."""
    global _BETA_CLASS
    if _BETA_CLASS is None:
        from importlib import import_module

        from mistralai.client.basesdk import BaseSDK

        class LazyBeta(BaseSDK):
            """The SDK's beta resources (``conversations``, ``agents``, ``connectors``, ...), each made on first use.

            A resource is handed to the client's ``_beta_hook`` (the request checks) before it is returned, and is
            then an ordinary attribute.
            """

            _sdk_beta: Any = None

            def __getattr__(self, name: str) -> Any:
                if name.startswith("_"):
                    raise AttributeError(name)
                resource = self._make(name)
                hook = getattr(self.parent_ref, "_beta_hook", None)
                if hook is not None:
                    resource = hook(name, resource)
                setattr(self, name, resource)
                return resource

            def _make(self, name: str) -> Any:
                where = _BETA_RESOURCES.get(name)
                if where is not None:
                    try:
                        resource_class = getattr(import_module(where[0]), where[1])
                    except (ImportError, AttributeError):
                        pass
                    else:
                        return resource_class(self.sdk_configuration, parent_ref=self.parent_ref)
                return getattr(self._sdk(), name)

            def _sdk(self) -> Any:
                """The SDK's own ``Beta`` (all its resources imported), for the names made here from it."""
                if self._sdk_beta is None:
                    from mistralai.client.beta import Beta

                    self._sdk_beta = Beta(self.sdk_configuration, parent_ref=self.parent_ref)
                return self._sdk_beta

            def __dir__(self) -> list[str]:
                return sorted(set(super().__dir__()) | set(vars(self._sdk())))

        _BETA_CLASS = LazyBeta
    return _BETA_CLASS


def _client_class() -> type:
    """``CookbookClient``: ``mistralai.client.Mistral`` plus one attribute, ``cookbook``, that says how it is wired.

    Its ``beta`` makes each resource on first use (see ``_BETA_RESOURCES``).
    """
    global _CLASS
    if _CLASS is None:
        from mistralai.client import Mistral

        class CookbookClient(Mistral):
            cookbook: ClientInfo
            # called as hook(name, resource) on each client.beta resource as it is made (cookbook._tools.guard)
            _beta_hook: Any = None

            def __getattr__(self, name: str) -> Any:
                if name == "beta":
                    beta = _lazy_beta_class()(self.sdk_configuration, parent_ref=self)
                    self.beta = beta
                    return beta
                return super().__getattr__(name)

            def __repr__(self) -> str:
                return f"<{self.cookbook}>"

            def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
                return self.cookbook._repr_mimebundle_(include, exclude)

        _CLASS = CookbookClient
    return _CLASS


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

    from . import _cassette
    from ._http import httpx
    from ._transport import RecordTransport, ReplayTransport

    mode, key = resolve_mode(mode, api_key=api_key)
    names = [cassette] if isinstance(cassette, (str, os.PathLike)) else list(cassette or [])
    sdk_version = version("mistralai")
    cls = _client_class()

    sent: list[SentRequest] = []
    hooks, async_hooks = _request_log(sent, [key or ""] if mode != "replay" else [])
    transport: Any = None
    if mode == "live":
        shown: tuple[str, ...] = ()
    elif mode == "record":
        if len(names) != 1:
            raise ConfigurationError(
                "Record mode writes to one cassette: pass cassette='NN_name' (a bundled name) or a file path."
            )
        path = _cassette.resolve(names[0], must_exist=False)
        transport = RecordTransport(_cassette.open_cassette(path, secrets=[key or ""]))
        shown = (str(path),)
    else:
        paths = [_cassette.resolve(n, must_exist=True) for n in names] or [
            _cassette.resolve(n, must_exist=True) for n in _cassette.bundled_names()
        ]
        transport = ReplayTransport([_cassette.load_recordings(p) for p in paths])
        shown = tuple(p.stem for p in paths)
        key = REPLAY_KEY

    from ._tools import guard

    if mode == "replay" or retries is False or retries is None:
        retry = None
    else:
        retry = retry_config() if retries is True else retries
    client = cls(
        api_key=key,
        server_url=server_url,
        client=httpx.Client(transport=transport, follow_redirects=True, event_hooks=hooks),
        async_client=httpx.AsyncClient(transport=transport, follow_redirects=True, event_hooks=async_hooks),
        retry_config=retry,
        timeout_ms=timeout_ms,
    )
    client.cookbook = ClientInfo(mode, shown, sdk_version, server_url or "https://api.mistral.ai", sent, transport)
    return guard(client) if check_requests else client


REPLAY_TOKEN = "replay-mode-needs-no-token"


def oauth_token(variable: str, client: Any) -> str:
    """The OAuth token held in environment variable ``variable``, for ``client``'s mode.

    In replay mode no token is needed: when the variable is unset, a stand-in is
    returned (recordings hold a placeholder in its place). In live and record
    mode an unset variable is an error that says how to set it, raised before
    any request is sent. The token is never printed or stored by the cookbook.
    """
    if not variable or not variable.replace("_", "").isalnum():
        raise ConfigurationError(
            f"{variable!r} is not an environment variable name: pass the variable's NAME "
            "(e.g. 'GOOGLE_OAUTH_TOKEN'), never the token itself."
        )
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    if getattr(getattr(client, "cookbook", None), "mode", "live") == "replay":
        return REPLAY_TOKEN
    raise ConfigurationError(
        f"No OAuth token in ${variable}. Set it to a valid access token (for Gmail, one with the "
        f"gmail.readonly scope), e.g. `export {variable}=...` before starting Jupyter, or run in replay mode."
    )
