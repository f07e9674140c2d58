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
shown and re-raised (with a one-line traceback in IPython), so a papermill run
still fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from . import _render as r

__all__ = ["ErrorCard", "Caught", "explain", "explained_errors"]


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
    "The request never reached the API: no network, a proxy or firewall in the way, or a wrong server_url.",
    "Check the connection and proxy settings. Without network access, run the notebooks in replay mode "
    "(COOKBOOK_MODE=replay), which answers from the recorded cassettes.",
)
TIMEOUT = Advice(
    "The API did not answer in time; requests that run tools (connectors, web search) can take a while.",
    "Retry, or allow more time: Mistral(timeout_ms=...) for the client, or timeout_ms=... on the call.",
)
RESPONSE_SHAPE = Advice(
    "The API answered with data this version of the SDK does not recognise.",
    "Upgrade the SDK (pip install -U mistralai); the raw answer is kept in the error's body.",
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

    def __str__(self) -> str:
        lines = [f"{self.title} ({self.error_type})" + (" - expected" if self.expected else "")]
        if self.message:
            lines.append(f"{'API says' if self.status is not None else 'Message'}: {self.message}")
        lines.extend(f"  - {d}" for d in self.details)
        codes = ", ".join(x for x in (self.api_type, f"code {self.api_code}" if self.api_code else None) if x)
        if codes:
            lines.append(f"Type: {codes}")
        if self.retry_after:
            lines.append(f"Retry after: {self.retry_after} s")
        if self.cause:
            lines.append(f"Cause: {self.cause}")
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        for other in self.also:
            lines.append(f"Also possible: {other.cause} Fix: {other.fix}")
        return "\n".join(lines)

    def _html(self) -> str:
        title, status = self.title, ""
        if self.status is not None and title.startswith(f"{self.status} "):
            status = f'<span class="cb-card-status">{r.esc(self.status)}</span>'
            title = title[len(str(self.status)) :].strip()
        parts = [
            f'<div class="cb-card-head">{status}{r.esc(title)} '
            f'<span class="cb-desc">({r.esc(self.error_type)}{" — expected" if self.expected else ""})</span></div>'
        ]
        if self.message:
            parts.append(f"<div>{r.esc(self.message)}</div>")
        if self.details:
            parts.append("<ul>" + "".join(f"<li>{r.esc(d)}</li>" for d in self.details) + "</ul>")
        rows = []
        codes = ", ".join(x for x in (self.api_type, f"code {self.api_code}" if self.api_code else None) if x)
        if codes:
            rows.append(("Type", codes))
        if self.retry_after:
            rows.append(("Retry after", f"{self.retry_after} s"))
        if self.cause:
            rows.append(("Cause", self.cause))
        if self.fix:
            rows.append(("Fix", self.fix))
        if rows:
            parts.append("<dl>" + "".join(f"<dt>{r.esc(k)}</dt><dd>{r.esc(v)}</dd>" for k, v in rows) + "</dl>")
        if self.also:
            items = "".join(f"<li>{r.esc(a.cause)} <i>Fix:</i> {r.esc(a.fix)}</li>" for a in self.also)
            parts.append(f'<details class="cb-more"><summary>other possible causes</summary><ul>{items}</ul></details>')
        klass = "cb-card cb-card--expected" if self.expected else "cb-card"
        return f'<div class="{klass}"><style>{r.CSS}</style>{"".join(parts)}</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return r.mimebundle(str(self), self._html(), include, exclude)


# ----------------------------------------------------------------------- parsing


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else r.one_line(value, limit)
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body_fields(body: Any) -> dict[str, Any]:
    """message/type/code/param/detail from a Mistral (or FastAPI-style) JSON error body."""
    parsed, ok = r.parse_json(body) if isinstance(body, str) else (body, isinstance(body, dict))
    if not ok or not isinstance(parsed, dict):
        return {"message": _short(body) if body else ""}
    message = parsed.get("message")
    detail = parsed.get("detail")
    if isinstance(message, (dict, list)):  # some errors nest the real message
        inner = message.get("detail") if isinstance(message, dict) else None
        message = _short(inner) if isinstance(inner, str) else _short(message)
    if message is None and isinstance(detail, str):
        message, detail = detail, None
    return {
        "message": "" if message is None else str(message),
        "type": parsed.get("type"),
        "code": parsed.get("code"),
        "param": parsed.get("param"),
        "detail": detail if isinstance(detail, list) else None,
    }


def _loc(loc: Any) -> str:
    return ".".join(str(p) for p in loc) if isinstance(loc, (list, tuple)) else str(loc)


def _detail_lines(detail: Any) -> list[str]:
    lines = []
    for item in list(detail or [])[:12]:
        loc = getattr(item, "loc", None) if not isinstance(item, dict) else item.get("loc")
        msg = getattr(item, "msg", None) if not isinstance(item, dict) else item.get("msg")
        lines.append(f"{_loc(loc)}: {msg}" if loc else str(msg if msg is not None else _short(item, 200)))
    return lines


def _pick(status: int | None, haystack: str) -> tuple[Advice | None, list[Advice]]:
    options = list(ADVICE.get(status or 0, ()))
    if not options and status:
        if 500 <= status < 600:
            options = list(ADVICE[500])
        elif 400 <= status < 500:
            options = [ADVICE[400][-1]]
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


def _is(error: BaseException, module: str, names: tuple[str, ...]) -> bool:
    return any(cls.__module__.startswith(module) and cls.__name__ in names for cls in type(error).__mro__)


def explain(error: BaseException) -> ErrorCard:
    """An :class:`ErrorCard` for an exception raised while calling the API."""
    error_type = type(error).__name__
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None

    # Stream error events (cookbook._stream.ResponseStreamError).
    if error_type == "ResponseStreamError":
        card = ErrorCard(
            title=_title(status, "Stream error"), error_type=error_type, status=status, message=str(error.message)
        )
        advice, also = _pick(status, card.message) if status else (STREAM, [])
        card.cause, card.fix, card.also = advice.cause, advice.fix, also
        if not status:
            card.api_code = str(getattr(error, "code", "") or "") or None
        return card

    # HTTP errors from the SDK (SDKError, HTTPValidationError, ...): they carry the raw response.
    if status is not None and hasattr(error, "body"):
        body = _body_fields(getattr(error, "body", ""))
        details = _detail_lines(body.get("detail"))
        data = getattr(error, "data", None)
        if data is not None and getattr(data, "detail", None):
            details = _detail_lines(data.detail)
        message = body.get("message") or ("Request validation failed." if details else "")
        headers = getattr(error, "headers", None) or {}
        retry_after = headers.get("retry-after") if hasattr(headers, "get") else None
        title = _title(status, error_type)
        if error_type == "ResponseValidationError":
            advice, also = RESPONSE_SHAPE, []
            message = _short(str(error))
            title = f"Unexpected answer (HTTP {status})"
        else:
            haystack = " ".join([message, *details, str(body.get("param") or "")])
            advice, also = _pick(status, haystack)
        return ErrorCard(
            title=title,
            error_type=error_type,
            status=status,
            message=message,
            details=details,
            cause=advice.cause if advice else "",
            fix=advice.fix if advice else "",
            also=also,
            api_type=str(body["type"]) if body.get("type") else None,
            api_code=str(body["code"]) if body.get("code") not in (None, "") else None,
            retry_after=str(retry_after) if retry_after else None,
        )

    own = getattr(error, "card", None)  # errors that know their own card (e.g. McpPreflightError)
    if isinstance(own, ErrorCard):
        return own
    if error_type == "InvalidRequest":
        return ErrorCard(
            "Refused before sending",
            error_type,
            message=str(error),
            cause="The cookbook checks each request before it is sent; the API would have refused this one.",
            fix="Change the call as the message says. (make_client(..., check_requests=False) sends it anyway, "
            "to see the API's own answer.)",
        )
    if error_type == "ReplayMiss":
        first, *rest = str(error).splitlines() or [""]
        return ErrorCard(
            "No recording for this request",
            error_type,
            message=first,
            details=[line for line in rest if line.strip()][:40],
            cause="Replay mode answers only the requests recorded in the cassette; this one (a changed prompt, "
            "model or tool list) was never recorded.",
            fix="Use a recorded prompt (listed above), or set MISTRAL_API_KEY to send it to the API for real "
            "(COOKBOOK_MODE=record also saves the answer).",
        )
    if _is(error, "httpx", ("TimeoutException",)):
        return ErrorCard("Timed out", error_type, message=_short(str(error)), cause=TIMEOUT.cause, fix=TIMEOUT.fix)
    if _is(error, "httpx", ("TransportError", "NetworkError", "ConnectError")):
        return ErrorCard(
            "Could not connect", error_type, message=_short(str(error)), cause=CONNECTION.cause, fix=CONNECTION.fix
        )
    if error_type == "NoResponseError":
        return ErrorCard(
            "No response", error_type, message=_short(str(error)), cause=NO_RESPONSE.cause, fix=NO_RESPONSE.fix
        )
    if _is(error, "pydantic", ("ValidationError",)) and callable(getattr(error, "errors", None)):
        try:
            problems = error.errors()
        except Exception:
            problems = []
        details = [_short(f"{_loc(e.get('loc', ()))}: {e.get('msg')}", 200) for e in problems[:12]]
        if len(problems) > 12:
            details.append(f"…and {len(problems) - 12} more")
        title = getattr(error, "title", "") or ""
        where = "the request arguments" if title in ("", "Unmarshaller") else title
        return ErrorCard(
            "Invalid arguments",
            error_type,
            message=f"{len(problems)} problem(s) in {where}",
            details=details,
            cause=CLIENT_VALIDATION.cause,
            fix=CLIENT_VALIDATION.fix,
        )
    return ErrorCard(
        error_type,
        error_type,
        message=_short(str(error)),
        cause="This is not an error from the Mistral API.",
        fix="Read the message and the traceback; the cause is in the code of the cell.",
    )


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


def _compact(error: BaseException, card: ErrorCard) -> None:
    """Make IPython print one line for this error instead of a long SDK traceback."""
    line = f"{type(error).__name__}: {card.title} (explained above)"
    try:
        error._render_traceback_ = lambda: [line]  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # exceptions with __slots__ keep their traceback
        pass


@contextmanager
def explained_errors(expected: Expected = None, *, compact: bool = True) -> Iterator[Caught]:
    """Show an :class:`ErrorCard` for an error raised in the block.

    An error named by ``expected`` (an HTTP status, an exception class, or
    several of either) is shown and swallowed; any other error is shown and
    re-raised unchanged (in IPython its traceback shrinks to one line when
    ``compact``). Yields a :class:`Caught` that holds the error and card afterwards.
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
        if compact:
            _compact(error, card)
        raise
