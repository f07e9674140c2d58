"""Error cards: what went wrong, the API's own words, the likely cause and its fix (the table in ``advice.yaml``).

Cookbook errors carry their own ``card``; SDK, HTTP and pydantic errors map to cards by type (``_card``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib.resources import files
from typing import Any

import pydantic
from mistralai.client import errors

from . import _markup
from ._cassette import read_yaml
from ._client import context_of
from ._display import provenance_note, show
from ._http import httpx


@dataclass(frozen=True)
class Advice:
    cause: str
    fix: str
    keywords: Sequence[str] = ()


_TABLE = read_yaml(files("cookbook").joinpath("advice.yaml").read_text(encoding="utf-8"))
ADVICE = {int(status): tuple(Advice(**entry) for entry in items) for status, items in _TABLE["by_status"].items()}
OTHER = {name: Advice(**entry) for name, entry in _TABLE["other"].items()}
STREAM, DROPPED, TIMEOUT = OTHER["stream"], OTHER["dropped"], OTHER["timeout"]  # also for the stream's errors
_GENERAL = {4: ADVICE[400][:1], 5: ADVICE[500]}  # for a 4xx or 5xx status the table does not list


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
    def heading(self) -> tuple[str, str]:
        """``(status, rest of the title)``: the status apart, so the HTML can set it off."""
        if self.status is not None and self.title.startswith(f"{self.status} "):
            return str(self.status), self.title[len(str(self.status)) + 1:]
        return "", self.title

    @property
    def rows(self) -> list[tuple[str, str]]:
        """The labelled lines under the message, for both views."""
        codes = ", ".join(x for x in (self.api_type, self.api_code and f"code {self.api_code}") if x)
        rows = [("Type", codes), ("Retry after", self.retry_after and f"{self.retry_after} s"),
                ("Cause", self.cause), ("Fix", self.fix)]
        return [(label, value) for label, value in rows if value]

    @property
    def provenance_note(self) -> str:
        return provenance_note(self.provenance)

    def __str__(self) -> str:
        said = "API says" if self.status is not None else "Message"
        lines = [f"{self.title} ({self.error_type})" + (" - expected" if self.expected else ""),
                 self.message and f"{said}: {self.message}", *(f"  - {d}" for d in self.details), self.listing,
                 *(f"{label}: {value}" for label, value in self.rows),
                 *(f"Also possible: {other.cause} Fix: {other.fix}" for other in self.also),
                 self.provenance_note and f"({self.provenance_note})"]
        return "\n".join(line for line in lines if line)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(str(self), str(_markup.render("card.html.j2", card=self)), include, exclude)


def _short(value: Any, limit: int = 600) -> str:
    text = (value if isinstance(value, str) else _markup.one_line(value, limit)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail_lines(problems: list) -> list[str]:
    """``where: what`` for each problem of a 422's ``detail`` or of a pydantic error, at most 12."""
    lines = []
    for problem in problems[:12]:
        where, what = (problem.get("loc"), problem.get("msg")) if isinstance(problem, dict) else (None, None)
        where = ".".join(map(str, where)) if isinstance(where, list | tuple) else where
        lines.append(_short(f"{where}: {what}" if where else problem if what is None else what, 200))
    return lines + ([f"…and {len(problems) - 12} more"] if len(problems) > 12 else [])


def _api_message(body: dict) -> str:
    """The API's own words in an error body: Mistral's ``message`` (sometimes nested) or FastAPI's ``detail``."""
    message = body.get("message")
    if isinstance(message, dict) and isinstance(message.get("detail"), str):
        message = message["detail"]
    if message is None and isinstance(body.get("detail"), str):
        message = body["detail"]
    return "" if message is None else _short(message)


def pick_advice(status: int | None, haystack: str) -> tuple[Advice, list[Advice]]:
    """The advice for ``status`` whose keywords ``haystack`` names most (ties keep the table's order).

    When the message names the cause, that cause is the answer; only a guess lists the alternatives.
    """
    options = ADVICE.get(status or 0) or _GENERAL.get((status or 0) // 100, (Advice("", ""),))
    hay = haystack.lower()

    def hits(advice: Advice) -> int:
        return sum(k in hay for k in advice.keywords)

    ordered = sorted(options, key=lambda a: -hits(a))
    return ordered[0], ([] if hits(ordered[0]) else ordered[1:])


def status_title(status: int | None, fallback: str) -> str:
    if status is None:
        return fallback
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"Error {status}"


def _advised(title: str, advice: Advice, default: str, error: BaseException) -> ErrorCard:
    return ErrorCard(title, type(error).__name__, message=_short(str(error)) or default, cause=advice.cause,
                     fix=advice.fix)


@functools.singledispatch
def _card(error: BaseException) -> ErrorCard:
    own = getattr(error, "card", None)  # cookbook errors know their own card
    return own if isinstance(own, ErrorCard) else _advised(type(error).__name__, OTHER["not_api"], "", error)


# errors said in a fixed way: (title, advice, message when the error has none)
for _kind, _said in {errors.NoResponseError: ("No response", OTHER["no_response"], ""),
                     httpx.TimeoutException: ("Timed out", TIMEOUT, "No answer came within the client's timeout."),
                     httpx.TransportError: ("Connection dropped", DROPPED, "The connection closed mid-answer."),
                     httpx.ConnectError: ("Could not connect", OTHER["connection"], "")}.items():
    _card.register(_kind, functools.partial(_advised, *_said))


@_card.register
def _(error: errors.MistralError) -> ErrorCard:
    """An HTTP error answer (SDKError, HTTPValidationError): the API's own words, and the likely cause."""
    parsed, is_json = _markup.parse_json(error.body)
    body = parsed if is_json and isinstance(parsed, dict) else {"message": error.body}
    details = _detail_lines(body["detail"]) if isinstance(body.get("detail"), list) else []
    message = _api_message(body) or ("Request validation failed." if details else "")
    advice, also = pick_advice(error.status_code, " ".join([message, *details, str(body.get("param") or "")]))
    return ErrorCard(status_title(error.status_code, ""), type(error).__name__, status=error.status_code,
                     message=message, details=details, cause=advice.cause, fix=advice.fix, also=also,
                     api_type=str(body["type"]) if body.get("type") else None,
                     api_code=str(body["code"]) if body.get("code") not in (None, "") else None,
                     retry_after=error.headers.get("retry-after") or None)


@_card.register
def _(error: errors.ResponseValidationError) -> ErrorCard:
    malformed = not _markup.parse_json(error.body)[1]
    title = "Answer cut short or not JSON" if malformed else "Unexpected answer"
    card = _advised(f"{title} (HTTP {error.status_code})", OTHER["malformed" if malformed else "response_shape"], "",
                    error)
    card.status = error.status_code
    return card


@_card.register
def _(error: pydantic.ValidationError) -> ErrorCard:
    problems = error.errors()
    where = "the request arguments" if error.title in ("", "Unmarshaller") else error.title
    advice = OTHER["client_validation"]
    return ErrorCard("Invalid arguments", type(error).__name__, message=f"{len(problems)} problem(s) in {where}",
                     details=_detail_lines(problems), cause=advice.cause, fix=advice.fix)


def explain(error: BaseException) -> ErrorCard:
    """An :class:`ErrorCard` for an exception raised while calling the API (or by the cookbook itself)."""
    card = _card(error)
    context = context_of(error)
    if context is not None and card.provenance is None:
        card.provenance = context.provenance
    return card


@dataclass
class Caught:
    """What ``explained_errors`` saw: the error and its card (both None when the block succeeded)."""

    error: BaseException | None = None
    card: ErrorCard | None = None


@contextmanager
def explained_errors(expected: int | type | Iterable[int | type] | None = None) -> Iterator[Caught]:
    """Show an :class:`ErrorCard` for an error raised in the block.

    An error named by ``expected`` (an HTTP status, an exception class, or several of either) is shown and
    swallowed; any other error is shown and re-raised unchanged.
    """
    caught = Caught()
    try:
        yield caught
    except Exception as error:
        card = explain(error)
        items = () if expected is None else (expected,) if isinstance(expected, int | type) else expected
        card.expected = any(isinstance(error, item) if isinstance(item, type) else item == card.status
                            for item in items)
        caught.error, caught.card = error, card
        show(card, file=sys.stderr)
        if not card.expected:
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
    """True in replay mode; in live and record mode, show why the error demo is skipped and return False, so
    the cell sends nothing (no billed request, nothing that touches an account)::

        if replay_only(client, "a 429 cannot be triggered on purpose"):
            with explained_errors(expected=429):
                ...
    """
    mode = getattr(getattr(client, "cookbook", None), "mode", "live")
    if mode != "replay":
        show(Skipped(mode, reason))
    return mode == "replay"
