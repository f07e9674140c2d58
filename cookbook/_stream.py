"""``display_stream``: show a streamed conversation live, and end with the same view as ``display_response``.

The SDK's event stream (``start_stream``, ``append_stream``, ``restart_stream`` and their ``_async`` twins) is
folded event by event into the ``ConversationResponse`` the same request returns without streaming. A tool call
comes as ``started`` (empty arguments), its arguments in ``delta`` pieces, then ``done`` with its result; several
may run at once. One :class:`LiveView` shows it: an output updated in place in Jupyter, printed text elsewhere.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mistralai.client.models import ConversationResponse

from ._client import context_of
from ._display import RenderedResponse, RequestContext, _ipython, display_response
from ._errors import CookbookError, rendered_traceback
from ._explain import DROPPED, STREAM, TIMEOUT, ErrorCard, pick_advice, status_title
from ._http import httpx
from ._markup import as_json


class ResponseStreamError(Exception):
    """The stream ended with a ``conversation.response.error`` event; ``partial`` is what had arrived."""

    def __init__(self, code: Any, message: str, partial: RenderedResponse | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.partial = code, message, partial

    @property
    def card(self) -> ErrorCard:
        status = self.code if isinstance(self.code, int) and 100 <= self.code < 600 else None
        advice, also = pick_advice(status, self.message) if status else (STREAM, [])
        return ErrorCard(status_title(status, "Stream error"), type(self).__name__, status=status,
                         message=self.message, cause=advice.cause, fix=advice.fix, also=also,
                         api_code=None if status else (str(self.code or "") or None))

    def _render_traceback_(self) -> list[str]:
        return rendered_traceback(self, f"ResponseStreamError: the response stream ended with error {self}")


class StreamInterrupted(CookbookError):
    """The connection dropped (or timed out) in the middle of a streamed answer; ``partial`` is what had arrived."""

    def __init__(self, cause: BaseException, partial: RenderedResponse, events: int) -> None:
        super().__init__(f"the connection dropped mid-answer, after {events} event(s): {type(cause).__name__}"
                         + (f": {cause}" if str(cause) else ""))
        self.cause, self.partial, self.events = cause, partial, events

    @property
    def card(self) -> ErrorCard:
        advice = TIMEOUT if isinstance(self.cause, httpx.TimeoutException) else DROPPED
        return ErrorCard("Connection dropped mid-answer", type(self).__name__, message=str(self),
                         cause=advice.cause, fix=advice.fix)


# --------------------------------------------------------------------------- folding

# event type -> the type of the output entry it builds (other events are kept as they are, one entry each)
_ENTRY_OF = {"message.output.delta": "message.output", "function.call.delta": "function.call",
             "tool.execution.started": "tool.execution", "tool.execution.delta": "tool.execution",
             "tool.execution.done": "tool.execution", "agent.handoff.started": "agent.handoff",
             "agent.handoff.done": "agent.handoff"}
_ENDS = ("tool.execution.done", "agent.handoff.done")
_SIDES = ("previous_agent_id", "previous_agent_name", "next_agent_id", "next_agent_name")
# entry type -> the fields it takes from the first event that has them
_FIELDS = {"message.output": ("created_at", "model", "agent_id"),
           "function.call": ("name", "tool_call_id", "created_at", "model", "agent_id"),
           "tool.execution": ("name", "created_at", "model", "agent_id"),
           "agent.handoff": (*_SIDES, "created_at")}


def _first(events: list[dict], *names: str) -> dict:
    """For each name, the first value any event gives it."""
    found: dict[str, Any] = {}
    for event in events:
        found.update((name, event[name]) for name in names if name not in found and event.get(name) is not None)
    return found


def _chunks(pieces: list[tuple[Any, Any]]) -> list[dict]:
    """Content pieces ``(content_index, piece)`` -> chunks: neighbouring text joined, and a thinking chunk's
    pieces when they share a content index."""
    chunks: list[dict] = []
    last: Any = object()
    for index, piece in pieces:
        chunk = {"type": "text", "text": piece} if isinstance(piece, str) else dict(piece)
        prev = chunks[-1] if chunks else {}
        if prev.get("type") == chunk.get("type") == "text":
            prev["text"] = prev.get("text", "") + chunk.get("text", "")
        elif prev.get("type") == chunk.get("type") == "thinking" and index == last:
            prev["thinking"] = [*prev.get("thinking", []), *chunk.get("thinking", [])]
        else:
            chunks.append(chunk)
        last = index
    for chunk in chunks:
        if chunk.get("type") == "thinking":
            chunk["thinking"] = _chunks([(None, piece) for piece in chunk.get("thinking", [])])
    return chunks


@dataclass
class _Slot:
    """The events of one output entry, in arrival order."""

    type: str | None  # the entry's type; None for an event kept as it is
    index: int  # the entry's output_index
    id: Any
    events: list[dict] = field(default_factory=list)
    done: bool = False  # a tool call or handoff that has ended: its next events start another entry

    def entry(self) -> dict:
        """The output entry, shaped as the non-streamed response has it."""
        if self.type is None:
            return dict(self.events[0])
        entry = {"object": "entry", **({"id": self.id} if self.id is not None else {}), "type": self.type,
                 **_first(self.events, *_FIELDS[self.type])}
        if self.type == "message.output":
            pieces = [(e.get("content_index", 0), e.get("content", "")) for e in self.events]
            strings = all(isinstance(piece, str) for _, piece in pieces)
            content = "".join(piece for _, piece in pieces) if strings else _chunks(pieces)
            return {**entry, "role": "assistant", "content": content}
        if self.type == "agent.handoff":
            return {**dict.fromkeys(_SIDES, ""), **entry}
        # a tool or function call: its arguments come in pieces; a tool's done event (its last) brings its result
        done = self.events[-1] if self.events[-1].get("type") == "tool.execution.done" else {}
        arguments = "".join(str(e.get("arguments") or "") for e in self.events if e is not done)
        entry = {"name": "?", **entry, "arguments": arguments, **_first(self.events[::-1], "confirmation_status"),
                 **_first([done], "info")}
        if done.get("created_at"):
            entry["completed_at"] = done["created_at"]
        return entry


class StreamAssembler:
    """Folds conversation stream events into a ``ConversationResponse``.

    Feed it every event (``ConversationEvents`` from the SDK, the event's ``data``, or the JSON of either).
    :meth:`response` builds the response at any point; :meth:`running` lists the entries still in progress.
    """

    def __init__(self) -> None:
        self.conversation_id: str | None = None
        self.usage: Any = None
        self.error: dict | None = None
        self.events = 0
        self._slots: list[_Slot] = []

    @staticmethod
    def data(event: Any) -> dict:
        """An event's data as JSON."""
        data = as_json(event)
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "type" not in data:
            data = data["data"]
        return data if isinstance(data, dict) else {"type": "unknown", "value": data}

    def feed(self, event: Any) -> str:
        """Take one event (an SDK event, or its :meth:`data`); return its type."""
        self.events += 1
        data = event if isinstance(event, dict) and "type" in event else self.data(event)
        kind = str(data.get("type") or "unknown")
        if kind == "conversation.response.started":
            self.conversation_id = data.get("conversation_id") or self.conversation_id
        elif kind == "conversation.response.done":
            self.usage = data.get("usage")
        elif kind == "conversation.response.error":
            self.error = data
        else:
            slot = self._slot(_ENTRY_OF.get(kind), data)
            slot.events.append(data)
            slot.done = kind in _ENDS
        return kind

    def _slot(self, entry_type: str | None, data: dict) -> _Slot:
        """The unfinished entry this event continues (the same type, index and id), or a new one."""
        index = data.get("output_index")
        index = index if isinstance(index, int) else (self._slots[-1].index if self._slots else 0)
        event_id = data.get("id")
        slot = next((s for s in reversed(self._slots) if s.type == entry_type and s.index == index
                     and (s.id == event_id or None in (s.id, event_id))), None)
        if entry_type is None or slot is None or slot.done:
            slot = _Slot(entry_type, index, event_id)
            self._slots.append(slot)
        return slot

    def _ordered(self) -> list[_Slot]:
        return sorted(self._slots, key=lambda s: s.index)  # stable: in arrival order within one index

    def running(self) -> list[int]:
        """Positions (in :meth:`response` outputs) of tool calls and handoffs not finished yet."""
        return [i for i, s in enumerate(self._ordered()) if s.type in ("tool.execution", "agent.handoff")
                and not s.done]

    def response(self) -> Any:
        """The ``ConversationResponse`` assembled so far (the SDK model; its JSON when the SDK cannot parse it)."""
        data = {"object": "conversation.response", "conversation_id": self.conversation_id or "",
                "outputs": [slot.entry() for slot in self._ordered()],
                "usage": self.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
        try:
            return ConversationResponse.model_validate(data)
        except ValueError:  # an entry type this SDK does not know: keep the JSON, which renders all the same
            return data

    def rendered(self, context: RequestContext | None = None, *, live: bool = False,
                 dropped: str | None = None) -> RenderedResponse:
        """The response so far, rendered; ``live``: with a status line naming the calls still running."""
        error = dropped if self.error is None else f"{self.error.get('code', '?')}: {self.error.get('message', '')}"
        response = self.response()
        if not live:
            return RenderedResponse(response, context, error=error)
        running = self.running()
        outputs = as_json(response)["outputs"] if running else []
        names = [str(outputs[i].get("name") or outputs[i].get("type")) for i in running]
        status = f"running {', '.join(names)}…" if names else "streaming…"
        return RenderedResponse(response, context, running=running, status=status, error=error)


# --------------------------------------------------------------------------- views

_EMPTY = {"text/plain": ""}


class _NotebookView:
    """A live output updated in place while the stream runs, emptied at the end, when the final view is displayed
    below it: a notebook re-run without display updates (nbval) then shows the same outputs as a saved one."""

    def __init__(self) -> None:
        self.handle: Any = None

    def update(self, rendered: RenderedResponse, live: bool) -> None:
        from IPython.display import display

        if live:
            self.handle = self.handle or display(_EMPTY, raw=True, display_id=True)
            self.handle.update(rendered._repr_mimebundle_(), raw=True)
            return
        if self.handle is not None:
            self.handle.update(_EMPTY, raw=True)
        rendered.show_once()


class _TerminalView:
    """Prints message text as it arrives, then the rest of the final text form."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.written = ""

    def delta(self, data: dict) -> None:
        content = data.get("content")
        piece = content.get("text") if isinstance(content, dict) else content
        if isinstance(piece, str):
            self.write(piece)

    def update(self, rendered: RenderedResponse, live: bool) -> None:
        """At the end, the rest of the final text: all of it, again, when tool calls came before the text."""
        if live:
            return
        text = rendered.text
        rest = text[len(self.written):] if text.startswith(self.written) else ("\n\n" if self.written else "") + text
        self.write(rest + "\n")

    def write(self, text: str) -> None:
        self.written += text
        self.out.write(text)
        self.out.flush()


class LiveView:
    """A stream shown as it arrives (by ``display_stream`` and the playground): each event folded in, then
    ``view.update(rendered, live)`` at most every ``interval`` seconds for text, at once when a tool starts or ends,
    and with ``live=False`` for the final view. ``view.delta(data)``, if the view has it, gets each text delta."""

    QUIET = ("message.output.delta", "function.call.delta", "tool.execution.delta")  # throttled: many and small

    def __init__(self, view: Any, context: RequestContext | None = None, *, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.view, self.context = view, context
        self.assembler = StreamAssembler()
        self.interval, self.clock = interval, clock
        self.last = float("-inf")

    def feed(self, event: Any) -> None:
        data = self.assembler.data(event)  # read once: the assembler takes the JSON as it is
        kind = self.assembler.feed(data)
        if kind == "message.output.delta" and hasattr(self.view, "delta"):
            self.view.delta(data)
        now = self.clock()
        if kind not in self.QUIET or now - self.last >= self.interval:
            self.view.update(self.assembler.rendered(self.context, live=True), True)
            self.last = now

    @contextlib.contextmanager
    def watching(self) -> Any:
        """Around the reading of the stream: a dropped connection (or a timeout) ends the view in an error state."""
        try:
            yield
        except httpx.TransportError as cause:
            events = self.assembler.events
            what = "timed out" if isinstance(cause, httpx.TimeoutException) else "dropped"
            rendered = self.assembler.rendered(self.context, dropped=f"the connection {what} mid-answer, after "
                                                                     f"{events} event(s)")
            self.view.update(rendered, False)
            raise StreamInterrupted(cause, rendered, events) from cause

    def finish(self) -> RenderedResponse:
        """The final view; raises :class:`ResponseStreamError` after showing it when the stream ended in error."""
        rendered = self.assembler.rendered(self.context)
        self.view.update(rendered, False)
        error = self.assembler.error
        if error is not None:
            raise ResponseStreamError(error.get("code", "?"), str(error.get("message", "")), rendered)
        return rendered


def _live_view(stream: Any, interval: float, clock: Callable[[], float], out: Any) -> LiveView:
    view = _NotebookView() if _ipython() is not None else _TerminalView(out or sys.stdout)
    return LiveView(view, context_of(stream), interval=interval, clock=clock)


def display_stream(stream: Any, *, interval: float = 0.1, clock: Callable[[], float] = time.monotonic,
                   out: Any = None) -> RenderedResponse:
    """Show a conversation event stream (``start_stream``, ``append_stream``, ``restart_stream``) live; return the
    final view, which renders like ``display_response`` of the same response (``.response`` is that response).

    In Jupyter one output is updated in place, at most every ``interval`` seconds for text and at once when a tool
    starts or finishes; elsewhere text is printed to ``out`` (default stdout) as it arrives. Raises
    :class:`ResponseStreamError`, after showing what arrived, when the stream ends with an error event.
    """
    if isinstance(stream, dict) or getattr(stream, "outputs", None) is not None:
        return display_response(stream)
    if hasattr(stream, "__aiter__") and not hasattr(stream, "__iter__"):
        raise TypeError("this is an async stream: use `await display_stream_async(stream)`")
    live = _live_view(stream, interval, clock, out)
    try:
        with live.watching():
            for event in stream:
                live.feed(event)
    finally:
        if callable(getattr(stream, "close", None)):
            stream.close()
    return live.finish()


async def display_stream_async(stream: Any, *, interval: float = 0.1, clock: Callable[[], float] = time.monotonic,
                               out: Any = None) -> RenderedResponse:
    """``await``-able twin of :func:`display_stream` for ``*_stream_async`` streams (sync ones work too)."""
    if not hasattr(stream, "__aiter__"):  # a sync stream, or a whole response
        return display_stream(stream, interval=interval, clock=clock, out=out)
    live = _live_view(stream, interval, clock, out)
    try:
        with live.watching():
            async for event in stream:
                live.feed(event)
    finally:  # the SDK's async stream closes with an awaitable ``close``, async generators with ``aclose``
        close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if callable(close) and inspect.isawaitable(result := close()):
            await result
    return live.finish()
