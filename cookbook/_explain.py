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
from importlib.resources import files
from typing import Any

import pydantic
import yaml
from mistralai.client import errors

from . import _markup
from ._http import httpx

__all__ = ["Caught", "ErrorCard", "Skipped", "explain", "explained_errors", "replay_only"]


@dataclass(frozen=True)
class Advice:
    cause: str
    fix: str
    keywords: tuple[str, ...] = ()


def _load_advice() -> tuple[dict[int, tuple[Advice, ...]], dict[str, Advice]]:
    """The advice table (``cookbook/advice.yaml``): likely causes per HTTP status, and for other errors."""
    doc = yaml.safe_load(files("cookbook").joinpath("advice.yaml").read_text(encoding="utf-8"))
    by_status = {int(status): tuple(Advice(a["cause"], a["fix"], tuple(a.get("keywords", ()))) for a in items)
                 for status, items in doc["by_status"].items()}
    return by_status, {name: Advice(a["cause"], a["fix"]) for name, a in doc["other"].items()}


ADVICE, OTHER = _load_advice()
CONNECTION, DROPPED, TIMEOUT, MALFORMED = OTHER["connection"], OTHER["dropped"], OTHER["timeout"], OTHER["malformed"]
RESPONSE_SHAPE, CLIENT_VALIDATION, NO_RESPONSE, STREAM = (OTHER["response_shape"], OTHER["client_validation"],
                                                         OTHER["no_response"], OTHER["stream"])


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
