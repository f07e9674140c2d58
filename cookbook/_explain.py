"""``explain`` and ``explained_errors``: an API error as a card that says what went wrong and what to do.

``explain(error)`` reads an SDK error (``SDKError`` and the other
``MistralError`` subclasses, ``HTTPValidationError`` for 422), a client-side
pydantic ``ValidationError``, an httpx2 connection error or timeout, or a
stream's error event, and returns an :class:`ErrorCard`: status, the API's own
message, and the likely cause and fix for that status. The advice follows the
"Common errors & fixes" tables of the connectors recipe page.

In a notebook::

    with explained_errors():                 # shows the card, then the error propagates
        client.beta.conversations.start(...)

    with explained_errors(expected=404):     # a cell that demonstrates a 404 on purpose
        client.beta.conversations.start(...)

An error with an expected status is shown and swallowed; any other error is
shown and re-raised, so a papermill run still fails.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pydantic
from mistralai.client import errors

from . import _markup
from ._http import httpx

__all__ = ["Caught", "ErrorCard", "Skipped", "explain", "explained_errors", "replay_only"]


@dataclass(frozen=True)
class Advice:
    cause: str
    fix: str
    keywords: tuple[str, ...] = ()


# Likely causes per status, most common first. The cause with the most keywords
# found in the API message (or the 422 details) moves to the front.
ADVICE: dict[int, tuple[Advice, ...]] = {
    400: (
        Advice(
            "The request is valid JSON but the API refused one of its arguments or a combination of them.",
            "Look at the API message above for the argument it names, correct it and send the request again.",
        ),
        Advice(
            "A connector's tool_configuration sets both include and exclude; each connector takes one filter.",
            "Keep either include (only these tools) or exclude (all but these tools), not both.",
            ("include", "exclude", "tool_configuration"),
        ),
        Advice(
            "The model name is not one the API knows.",
            "Use an existing model such as mistral-small-latest; client.models.list() shows those your key can use.",
            ("model",),
        ),
    ),
    401: (
        Advice(
            "The request was not authenticated: the API key is missing, mistyped, or has been revoked.",
            "Put an active key from the Mistral console in MISTRAL_API_KEY (no quotes or trailing spaces), "
            "then restart the kernel so the new value is read.",
            ("api key", "apikey", "bearer", "no api key"),
        ),
        Advice(
            "The OAuth token passed in a connector's authorization has expired or was revoked.",
            "Get a fresh access token from the service (for example Google) and pass it as the "
            "connector's authorization value.",
            ("oauth", "token", "expired", "connector"),
        ),
    ),
    403: (
        Advice(
            "The connector's OAuth token does not carry the scopes the tool needs.",
            "Ask for a token with the scopes the connector needs (for Gmail reading, gmail.readonly) and retry.",
            ("scope", "oauth", "token"),
        ),
        Advice(
            "The API key is valid but not allowed to use this resource, e.g. a private connector while the key "
            "may only use connectors shared with the workspace.",
            "Use a key whose connector access covers private connectors, or share the connector with the workspace.",
            ("connector", "private", "permission", "access"),
        ),
    ),
    404: (
        Advice(
            "No connector with that name or ID is visible to this API key.",
            "Check the exact name with client.beta.connectors.get(...) or client.beta.connectors.list(), and "
            "create the connector before a conversation or an agent refers to it.",
            ("connector",),
        ),
        Advice(
            "The agent ID does not exist, or the agent was deleted.",
            "Create the agent first and pass agent.id from its response; client.beta.agents.list() shows them.",
            ("agent",),
        ),
        Advice(
            "The conversation ID is unknown, or that conversation was started with store=False.",
            "Use the conversation_id of a stored conversation, or start a new one.",
            ("conversation",),
        ),
    ),
    422: (
        Advice(
            "The model name is not one the API knows.",
            "Use an existing model such as mistral-small-latest; client.models.list() shows those your key can use.",
            ("model",),
        ),
        Advice(
            "Both model and agent_id were sent; a conversation takes one or the other.",
            "When you talk to an agent, pass only agent_id: its model and tools come with it.",
            ("agent_id", "agent"),
        ),
        Advice(
            "A tool entry has an unknown type, or a field of a tool is malformed.",
            'Spell built-in tools exactly ({"type": "web_search"}) and connectors as '
            '{"type": "connector", "connector_id": ...}.',
            ("tool type", "unknown tool", "'type'", "tag", "discriminator"),
        ),
        Advice(
            "A tool name in tool_configuration is not one the connector's MCP server exposes.",
            "List the connector's tools first (without a filter) and copy their exact names.",
            ("include", "exclude", "tool_configuration", "tool name"),
        ),
        Advice(
            "The same connector appears more than once in tools.",
            "List each connector once in the tools array.",
            ("duplicate", "twice", "more than once"),
        ),
        Advice(
            "The connector is inactive, or its MCP server could not be reached.",
            "Check the connector's server URL and that the MCP server answers, then activate the connector.",
            ("inactive", "unreachable", "mcp", "server"),
        ),
    ),
    429: (
        Advice(
            "Too many requests in a short time, or the workspace has used up its quota.",
            "Wait, then retry with exponential backoff (the SDK takes retries=RetryConfig(...)); send fewer "
            "requests at once, or check your plan's limits in the console.",
        ),
    ),
    500: (
        Advice(
            "Something failed on Mistral's side, or in a connector's MCP server, while handling the request.",
            "Retry after a short wait. If it keeps failing with a connector, call the tool directly with "
            "client.beta.connectors.call_tool(...) to see whether the MCP server is the problem.",
        ),
    ),
    502: (
        Advice(
            "A server between you and the model (a gateway, or a connector's MCP server) gave a bad answer.",
            "Retry after a short wait; if a connector is involved, check that its MCP server is up.",
        ),
    ),
    503: (
        Advice(
            "The service is overloaded or briefly down for maintenance.",
            "Retry later with backoff; the Mistral status page says whether an incident is under way.",
        ),
    ),
    504: (
        Advice(
            "The request took longer than the gateway allows, often a slow tool or MCP server.",
            "Retry; ask for less work per request, or check the connector's MCP server.",
        ),
    ),
}

CONNECTION = Advice(
    "The request never reached the API: no network, a proxy or firewall in the way, or a wrong server URL "
    "(MISTRAL_SERVER_URL, or make_client(server_url=...)).",
    "Check the connection, the proxy settings and the server URL. Without network access, run the notebooks in "
    "replay mode (COOKBOOK_MODE=replay), which answers from the bundled cassettes.",
)
DROPPED = Advice(
    "The connection dropped while the answer was on its way: an unstable network, or a proxy or gateway that "
    "cut it.",
    "Run the cell again. If it keeps happening, check the network and any proxy between you and the API.",
)
TIMEOUT = Advice(
    "The API did not answer within the client's timeout; requests that run tools (connectors, web search) can "
    "take a while.",
    "Allow more time: make_client(timeout_ms=300_000) for every request of the client (120 s by default), or "
    "timeout_ms=... on one call; then run the cell again.",
)
RESPONSE_SHAPE = Advice(
    "The API answered with data this version of the SDK does not recognise.",
    "Upgrade the SDK (pip install -U mistralai); the raw answer is kept in the error's body.",
)
MALFORMED = Advice(
    "The answer is not valid JSON: it was cut short or garbled on its way (a dropped connection, a proxy or a "
    "gateway in between), not sent so by the API.",
    "Run the cell again. If it repeats, check the server URL (MISTRAL_SERVER_URL) and any proxy in between.",
)
CLIENT_VALIDATION = Advice(
    "The arguments given to the SDK do not match the request schema, so nothing was sent.",
    "Fix the fields listed below; compare them with the recipe's code.",
)
NO_RESPONSE = Advice(
    "The connection closed before the server sent an answer.",
    "Retry; if it repeats, check the network and any proxy between you and the API.",
)
STREAM = Advice(
    "The response stream ended with an error event part-way through.",
    "Retry the request; if a connector was running, check its MCP server.",
)


@dataclass
class ErrorCard:
    """What went wrong, said once: displays as HTML in Jupyter and as text in ``print``."""

    title: str
    error_type: str
    status: int | None = None
    message: str = ""
    details: list[str] = field(default_factory=list)
    cause: str = ""
    fix: str = ""
    also: list[Advice] = field(default_factory=list)
    api_type: str | None = None
    api_code: str | None = None
    retry_after: str | None = None
    expected: bool = False
    listing: str = ""  # preformatted text (a diff, a list of prompts) shown as it is
    provenance: str | None = None  # for an error replayed from a cassette: what the exchange rests on

    @property
    def codes(self) -> str:
        return ", ".join(x for x in (self.api_type, f"code {self.api_code}" if self.api_code else None) if x)

    @property
    def heading(self) -> tuple[str, str]:
        """``(status, rest of the title)``: the status apart, so the HTML can set it off."""
        if self.status is not None and self.title.startswith(f"{self.status} "):
            return str(self.status), self.title[len(str(self.status)) + 1:]
        return "", self.title

    @property
    def provenance_note(self) -> str:
        from ._display import provenance_note

        return provenance_note(self.provenance)

    def __str__(self) -> str:
        lines = [f"{self.title} ({self.error_type})" + (" - expected" if self.expected else "")]
        if self.message:
            lines.append(f"{'API says' if self.status is not None else 'Message'}: {self.message}")
        lines.extend(f"  - {d}" for d in self.details)
        if self.listing:
            lines.append(self.listing)
        if self.codes:
            lines.append(f"Type: {self.codes}")
        if self.retry_after:
            lines.append(f"Retry after: {self.retry_after} s")
        if self.cause:
            lines.append(f"Cause: {self.cause}")
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        lines.extend(f"Also possible: {other.cause} Fix: {other.fix}" for other in self.also)
        if self.provenance_note:
            lines.append(f"({self.provenance_note})")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(str(self), str(_markup.render("card.html.j2", card=self)), include, exclude)


# ----------------------------------------------------------------------- parsing


def _short(value: Any, limit: int = 600) -> str:
    text = (value if isinstance(value, str) else _markup.one_line(value, limit)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body_fields(body: Any) -> dict[str, Any]:
    """message/type/code/param/detail from a Mistral (or FastAPI-style) JSON error body."""
    parsed, ok = _markup.parse_json(body) if isinstance(body, str) else (body, isinstance(body, dict))
    if not ok or not isinstance(parsed, dict):
        return {"message": _short(body) if body else ""}
    message, detail = parsed.get("message"), parsed.get("detail")
    if isinstance(message, dict | list):  # some errors nest the real message
        inner = message.get("detail") if isinstance(message, dict) else None
        message = _short(inner) if isinstance(inner, str) else _short(message)
    if message is None and isinstance(detail, str):
        message, detail = detail, None
    return {"message": "" if message is None else str(message), "type": parsed.get("type"),
            "code": parsed.get("code"), "param": parsed.get("param"),
            "detail": detail if isinstance(detail, list) else None}


def _loc(loc: Any) -> str:
    return ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) else str(loc)


def _detail_lines(detail: Any) -> list[str]:
    lines = []
    for item in list(detail or [])[:12]:
        loc = item.get("loc") if isinstance(item, dict) else getattr(item, "loc", None)
        msg = item.get("msg") if isinstance(item, dict) else getattr(item, "msg", None)
        lines.append(f"{_loc(loc)}: {msg}" if loc else str(msg if msg is not None else _short(item, 200)))
    return lines


def _pick(status: int | None, haystack: str) -> tuple[Advice | None, list[Advice]]:
    options = list(ADVICE.get(status or 0, ()))
    if not options and status:
        options = list(ADVICE[500]) if 500 <= status < 600 else [ADVICE[400][-1]] if 400 <= status < 500 else []
    if not options:
        return None, []
    hay = haystack.lower()

    def hits(advice: Advice) -> int:
        return sum(k in hay for k in advice.keywords)

    # the advice whose keywords the message mentions most comes first; ties keep the table's order.
    # When the message names the cause, that cause is the answer; only a guess lists the alternatives.
    ordered = sorted(options, key=lambda a: -hits(a))
    return ordered[0], ([] if hits(ordered[0]) else ordered[1:])


def _title(status: int | None, fallback: str) -> str:
    if status is None:
        return fallback
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"Error {status}"


def _advised(title: str, error: BaseException, advice: Advice, message: str = "") -> ErrorCard:
    return ErrorCard(title, type(error).__name__, message=message or _short(str(error)), cause=advice.cause,
                     fix=advice.fix)


@functools.singledispatch
def _card(error: BaseException) -> ErrorCard:
    own = getattr(error, "card", None)  # cookbook errors know their own card
    if isinstance(own, ErrorCard):
        return own
    return ErrorCard(type(error).__name__, type(error).__name__, message=_short(str(error)),
                     cause="This is not an error from the Mistral API.",
                     fix="Read the message and the traceback; the cause is in the code of the cell.")


@_card.register
def _(error: errors.MistralError) -> ErrorCard:
    """An HTTP error answer (SDKError, HTTPValidationError): the API's own words, and the likely cause."""
    status = error.status_code
    body = _body_fields(error.body)
    details = _detail_lines(body.get("detail"))
    data = getattr(error, "data", None)
    if data is not None and getattr(data, "detail", None):
        details = _detail_lines(data.detail)
    message = body.get("message") or ("Request validation failed." if details else "")
    advice, also = _pick(status, " ".join([message, *details, str(body.get("param") or "")]))
    retry_after = error.headers.get("retry-after") if error.headers is not None else None
    return ErrorCard(_title(status, type(error).__name__), type(error).__name__, status=status, message=message,
                     details=details, cause=advice.cause if advice else "", fix=advice.fix if advice else "",
                     also=also, api_type=str(body["type"]) if body.get("type") else None,
                     api_code=str(body["code"]) if body.get("code") not in (None, "") else None,
                     retry_after=str(retry_after) if retry_after else None)


@_card.register
def _(error: errors.ResponseValidationError) -> ErrorCard:
    malformed = not _markup.parse_json(error.body)[1]
    title = "Answer cut short or not JSON" if malformed else "Unexpected answer"
    card = _advised(f"{title} (HTTP {error.status_code})", error, MALFORMED if malformed else RESPONSE_SHAPE)
    card.status = error.status_code
    return card


@_card.register
def _(error: errors.NoResponseError) -> ErrorCard:
    return _advised("No response", error, NO_RESPONSE)


@_card.register
def _(error: httpx.TimeoutException) -> ErrorCard:
    return _advised("Timed out", error, TIMEOUT, str(error) or "No answer came within the client's timeout.")


@_card.register
def _(error: httpx.TransportError) -> ErrorCard:
    return _advised("Connection dropped", error, DROPPED, str(error) or "The connection closed mid-answer.")


@_card.register
def _(error: httpx.ConnectError) -> ErrorCard:
    return _advised("Could not connect", error, CONNECTION)


@_card.register
def _(error: pydantic.ValidationError) -> ErrorCard:
    problems = error.errors()
    details = [_short(f"{_loc(e.get('loc', ()))}: {e.get('msg')}", 200) for e in problems[:12]]
    if len(problems) > 12:
        details.append(f"…and {len(problems) - 12} more")
    where = "the request arguments" if error.title in ("", "Unmarshaller") else error.title
    return ErrorCard("Invalid arguments", type(error).__name__, message=f"{len(problems)} problem(s) in {where}",
                     details=details, cause=CLIENT_VALIDATION.cause, fix=CLIENT_VALIDATION.fix)


def explain(error: BaseException) -> ErrorCard:
    """An :class:`ErrorCard` for an exception raised while calling the API (or by the cookbook itself)."""
    from ._client import context_of

    card = _card(error)
    context = context_of(error)
    if context is not None and card.provenance is None:
        card.provenance = context.provenance
    return card


# ---------------------------------------------------------------- context manager


Expected = int | type | Iterable[int | type] | None


def _is_expected(expected: Expected, error: BaseException, card: ErrorCard) -> bool:
    """Whether ``error`` is one the block announced: by HTTP status, or by exception class."""
    if expected is None:
        return False
    items = [expected] if isinstance(expected, (int, type)) else list(expected)
    for item in items:
        if isinstance(item, type) and isinstance(error, item):
            return True
        if isinstance(item, int) and not isinstance(item, bool) and card.status == item:
            return True
    return False


@dataclass
class Caught:
    """What ``explained_errors`` saw: the error and its card (both None when the block succeeded)."""

    error: BaseException | None = None
    card: ErrorCard | None = None


@contextmanager
def explained_errors(expected: Expected = None) -> Iterator[Caught]:
    """Show an :class:`ErrorCard` for an error raised in the block.

    An error named by ``expected`` (an HTTP status, an exception class, or several of either) is shown and
    swallowed; any other error is shown and re-raised unchanged. Yields a :class:`Caught` that holds the error
    and card afterwards.
    """
    from ._display import show

    caught = Caught()
    try:
        yield caught
    except Exception as error:
        card = explain(error)
        card.expected = _is_expected(expected, error, card)
        caught.error, caught.card = error, card
        show(card, file=sys.stderr)
        if card.expected:
            return
        raise


@dataclass
class Skipped:
    """An error demo that was not sent: one line saying why (see :func:`replay_only`)."""

    mode: str
    reason: str

    def __str__(self) -> str:
        return (f"Not sent in {self.mode} mode: {self.reason}. This demo runs from its recording in replay mode "
                "(COOKBOOK_MODE=replay).")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(str(self), str(_markup.render("skipped.html.j2", skipped=self)), include, exclude)


def replay_only(client: Any, reason: str) -> bool:
    """Whether an error demo that only a recording can show should run: True in replay mode.

    In live and record mode it shows one line saying the demo was skipped and why, and returns False, so the
    cell sends nothing (no billed request, nothing that touches an account, no retries)::

        if replay_only(client, "a 429 cannot be triggered on purpose"):
            with explained_errors(expected=429):
                ...
    """
    from ._display import show

    mode = getattr(getattr(client, "cookbook", None), "mode", "live")
    if mode == "replay":
        return True
    show(Skipped(mode, reason))
    return False
