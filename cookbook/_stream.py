"""``display_stream``: show a streamed conversation live, end with the same view as ``display_response``.

The SDK's event stream (``client.beta.conversations.start_stream(...)``,
``append_stream``, ``restart_stream`` and their ``_async`` twins) is folded
event by event into a ``ConversationResponse`` by :class:`StreamAssembler`, so
the renderer never sees events: a stream renders exactly like the response
the same request returns without streaming.

Two functions, like the SDK's own pairs::

    result = display_stream(client.beta.conversations.start_stream(...))
    result = await display_stream_async(await client.beta.conversations.start_stream_async(...))

In Jupyter one output is created and updated in place as text arrives and
tools start and finish; elsewhere the text is printed as it arrives.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from ._display import RenderedResponse, field, helper_text, kind

__all__ = ["ResponseStreamError", "StreamAssembler", "display_stream", "display_stream_async"]

_MESSAGE, _TOOL, _FUNCTION, _HANDOFF, _OTHER = "message", "tool", "function", "handoff", "other"
_FAMILY = {
    "message.output.delta": _MESSAGE,
    "tool.execution.started": _TOOL,
    "tool.execution.delta": _TOOL,
    "tool.execution.done": _TOOL,
    "function.call.delta": _FUNCTION,
    "agent.handoff.started": _HANDOFF,
    "agent.handoff.done": _HANDOFF,
}


class ResponseStreamError(Exception):
    """The stream ended with a ``conversation.response.error`` event.

    ``partial`` is what had arrived before the error, as a RenderedResponse.
    """

    def __init__(self, code: Any, message: str, partial: RenderedResponse | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.partial = partial

    @property
    def status_code(self) -> int | None:
        return self.code if isinstance(self.code, int) and 100 <= self.code < 600 else None

    def _render_traceback_(self) -> list[str]:
        return [f"ResponseStreamError: the response stream ended with error {self}"]


class _Slot:
    """Events of one output entry, in arrival order."""

    def __init__(self, family: str, index: int, seq: int, event_id: Any) -> None:
        self.family = family
        self.index = index
        self.seq = seq
        self.id = event_id
        self.events: list[Any] = []
        self.done = False


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", by_alias=True) if callable(dump) else value


def _merge_thinking(parts: list[Any]) -> list[Any]:
    """Thinking chunk contents, adjacent text joined."""
    out: list[Any] = []
    for part in parts:
        part = _plain(part)
        if isinstance(part, str):
            part = {"type": "text", "text": part}
        if out and out[-1].get("type") == "text" and part.get("type") == "text":
            out[-1] = {**out[-1], "text": out[-1]["text"] + part.get("text", "")}
        else:
            out.append(dict(part))
    return out


def _message_content(events: list[Any]) -> Any:
    """Deltas -> the content a non-streamed message entry has: a string, or chunks."""
    deltas = [(field(e, "content_index", 0), field(e, "content", "")) for e in events]
    if all(isinstance(content, str) for _, content in deltas):
        return "".join(content for _, content in deltas)
    chunks: list[dict[str, Any]] = []
    last_index: Any = None
    for index, content in deltas:
        chunk = {"type": "text", "text": content} if isinstance(content, str) else dict(_plain(content))
        prev = chunks[-1] if chunks else None
        same_part = prev is not None and index == last_index
        if prev is not None and prev.get("type") == "text" and chunk.get("type") == "text":
            prev["text"] = prev.get("text", "") + chunk.get("text", "")
        elif same_part and prev.get("type") == "thinking" and chunk.get("type") == "thinking":
            prev["thinking"] = _merge_thinking(list(prev.get("thinking", [])) + list(chunk.get("thinking", [])))
        else:
            if chunk.get("type") == "thinking":
                chunk["thinking"] = _merge_thinking(list(chunk.get("thinking", [])))
            chunks.append(chunk)
        last_index = index
    return chunks


def _copy(target: dict[str, Any], event: Any, *names: str) -> None:
    for name in names:
        value = field(event, name)
        if value is not None and name not in target:
            target[name] = value.isoformat() if hasattr(value, "isoformat") else value


class StreamAssembler:
    """Folds conversation stream events into a ``ConversationResponse``.

    Feed it every event (``ConversationEvents`` from the SDK, the event's
    ``data``, or the JSON dict of either). :meth:`response` builds the
    response at any point; entries still in progress are listed by
    :meth:`running`.
    """

    def __init__(self) -> None:
        self.conversation_id: str | None = None
        self.usage: Any = None
        self.error: Any = None
        self.events = 0
        self._slots: list[_Slot] = []
        self._seq = 0

    # -- feeding -----------------------------------------------------------------

    @staticmethod
    def _data(event: Any) -> Any:
        if isinstance(event, dict):
            data = event.get("data", event)
            if isinstance(data, dict):
                try:
                    from mistralai.client.models import ConversationEvents

                    name = data.get("type") or event.get("event") or "unknown"
                    return ConversationEvents.model_validate({"event": name, "data": data}).data
                except Exception:
                    return data
            return data
        data = getattr(event, "data", None)
        return event if data is None or kind(event) in _FAMILY else data

    def feed(self, event: Any) -> str:
        """Take one event; returns its type (``"unknown"`` types come back as their raw name)."""
        self.events += 1
        data = self._data(event)
        t = kind(data)
        if t == "conversation.response.started":
            self.conversation_id = field(data, "conversation_id", self.conversation_id)
        elif t == "conversation.response.done":
            self.usage = field(data, "usage")
        elif t == "conversation.response.error":
            self.error = data
        elif t in _FAMILY:
            slot = self._slot(_FAMILY[t], data)
            slot.events.append(data)
            if t in ("tool.execution.done", "agent.handoff.done"):
                slot.done = True
        else:  # an event type this SDK/cookbook does not know: kept, shown generically
            slot = _Slot(_OTHER, self._index(data), self._next_seq(), None)
            slot.events.append(data)
            self._slots.append(slot)
        return t

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _index(self, data: Any) -> int:
        value = field(data, "output_index")
        if value is None and isinstance(getattr(data, "raw", None), dict):
            value = data.raw.get("output_index")
        return value if isinstance(value, int) else (self._slots[-1].index if self._slots else 0)

    def _slot(self, family: str, data: Any) -> _Slot:
        index = self._index(data)
        event_id = field(data, "id")
        for slot in reversed(self._slots):
            if slot.index == index and slot.family == family and (slot.id is None or event_id in (None, slot.id)):
                if family in (_TOOL, _HANDOFF) and slot.done:
                    break  # a finished tool call: this event starts another one
                return slot
        slot = _Slot(family, index, self._next_seq(), event_id)
        self._slots.append(slot)
        return slot

    # -- building ----------------------------------------------------------------

    def _ordered(self) -> list[_Slot]:
        return sorted(self._slots, key=lambda s: (s.index, s.seq))

    def running(self) -> list[int]:
        """Positions (in :meth:`response` outputs) of tool calls and handoffs not finished yet."""
        return [i for i, s in enumerate(self._ordered()) if s.family in (_TOOL, _HANDOFF) and not s.done]

    def _entry(self, slot: _Slot) -> dict[str, Any]:
        events = slot.events
        first = events[0]
        if slot.family == _OTHER:
            raw = getattr(first, "raw", None)
            return dict(raw) if isinstance(raw, dict) else dict(_plain(first))
        entry: dict[str, Any] = {"object": "entry"}
        if slot.id is not None:
            entry["id"] = slot.id
        if slot.family == _MESSAGE:
            entry.update(type="message.output", role="assistant", content=_message_content(events))
            for e in events:
                _copy(entry, e, "created_at", "model", "agent_id")
        elif slot.family == _FUNCTION:
            entry.update(type="function.call", arguments="".join(str(field(e, "arguments", "")) for e in events))
            for e in events:
                _copy(entry, e, "name", "tool_call_id", "created_at", "model", "agent_id")
            statuses = [field(e, "confirmation_status") for e in events if field(e, "confirmation_status")]
            if statuses:
                entry["confirmation_status"] = statuses[-1]
        elif slot.family == _TOOL:
            entry["type"] = "tool.execution"
            arguments = ""
            for e in events:
                t = kind(e)
                if t in ("tool.execution.started", "tool.execution.delta"):
                    arguments += str(field(e, "arguments", ""))
                    _copy(entry, e, "name", "created_at", "model", "agent_id")
                elif t == "tool.execution.done":
                    _copy(entry, e, "name", "info")
                    created = field(e, "created_at")
                    if created is not None:
                        entry["completed_at"] = created.isoformat() if hasattr(created, "isoformat") else created
            entry.setdefault("name", "?")
            entry["arguments"] = arguments
        else:  # handoff
            entry["type"] = "agent.handoff"
            for e in events:
                _copy(
                    entry,
                    e,
                    "previous_agent_id",
                    "previous_agent_name",
                    "next_agent_id",
                    "next_agent_name",
                    "created_at",
                )
            for side in ("previous", "next"):  # required by the model; empty until known
                entry.setdefault(f"{side}_agent_id", "")
                entry.setdefault(f"{side}_agent_name", "")
        return entry

    def response(self) -> Any:
        """The ``ConversationResponse`` assembled so far (SDK model; unknown events stay dicts)."""
        from mistralai.client import models

        classes = {
            "message.output": models.MessageOutputEntry,
            "tool.execution": models.ToolExecutionEntry,
            "function.call": models.FunctionCallEntry,
            "agent.handoff": models.AgentHandoffEntry,
        }
        outputs: list[Any] = []
        for slot in self._ordered():
            entry = self._entry(slot)
            cls = classes.get(entry.get("type", ""))
            if cls is None:
                outputs.append(entry)
                continue
            try:
                outputs.append(cls.model_validate(entry))
            except Exception:
                outputs.append(entry)
        usage = self.usage if self.usage is not None else models.ConversationUsageInfo()
        if not isinstance(usage, models.ConversationUsageInfo):
            usage = models.ConversationUsageInfo.model_validate(_plain(usage))
        data = {"conversation_id": self.conversation_id or "", "outputs": outputs, "usage": usage}
        if all(not isinstance(o, dict) for o in outputs):
            return models.ConversationResponse.model_validate(data)
        return models.ConversationResponse.model_construct(**data)

    def rendered(self, *, live: bool = False) -> RenderedResponse:
        response = self.response()
        if not live:
            return RenderedResponse(response, error=self.error)
        running = self.running()
        status = "streaming…"
        if running:
            names = [field(response.outputs[i], "name") or kind(response.outputs[i]) for i in running]
            status = "running " + ", ".join(str(n) for n in names) + "…"
        return RenderedResponse(response, running=running, status=status, error=self.error)


# ------------------------------------------------------------------------ views


_EMPTY = {"text/plain": ""}


class _NotebookView:
    """A live output updated in place while the stream runs; the final view is an output of its own.

    The live output is displayed empty, updated as events arrive, and emptied
    again at the end, when the final rendering is displayed below it. A saved
    notebook thus holds the live output empty and the final view, and a tool
    that re-runs the notebook without applying display updates (nbval) sees
    exactly the same outputs.
    """

    def __init__(self) -> None:
        self.handle: Any = None

    def update(self, assembler: StreamAssembler, live: bool) -> RenderedResponse:
        from IPython.display import display

        rendered = assembler.rendered(live=live)
        bundle = rendered._repr_mimebundle_()
        if live:
            if self.handle is None:
                self.handle = display(_EMPTY, raw=True, display_id=True)
            self.handle.update(bundle, raw=True)
        else:
            if self.handle is not None:
                self.handle.update(_EMPTY, raw=True)
            display(bundle, metadata=rendered.display_metadata(), raw=True)
        return rendered


class _TerminalView:
    """Prints message text as it arrives, then whatever of the final text is still missing.

    Everything printed is a prefix of the final text form, so the whole output
    equals ``print(result)``. Thinking deltas are merged in the final form, so
    printing pauses at the first one and the rest comes at the end.
    """

    def __init__(self, out: Any) -> None:
        self.out = out
        self.written = ""
        self.current: Any = None
        self.paused = False

    def delta(self, data: Any) -> None:
        content = field(data, "content", "")
        if self.paused or kind(content) == "thinking":
            self.paused = True
            return
        key = (field(data, "output_index", 0), field(data, "id"))
        piece = helper_text([content])
        if key != self.current:
            piece = ("\n" if self.current is not None else "") + piece
            self.current = key
        self.written += piece
        self.out.write(piece)
        self.out.flush()

    def finish(self, rendered: RenderedResponse) -> None:
        text = rendered.text
        if text.startswith(self.written):
            self.out.write(text[len(self.written) :] + "\n")
        else:  # cannot happen for well-formed streams; never lose the final text
            self.out.write("\n" + text + "\n")
        self.out.flush()


class _Driver:
    """What both the sync and async loops do with each event."""

    def __init__(self, interval: float, clock: Callable[[], float], out: Any) -> None:
        from ._display import _ipython

        self.assembler = StreamAssembler()
        self.notebook = _NotebookView() if _ipython() is not None else None
        self.terminal = None if self.notebook else _TerminalView(out or sys.stdout)
        self.interval = interval
        self.clock = clock
        self.last = float("-inf")
        self.updates = 0

    def on(self, event: Any) -> None:
        t = self.assembler.feed(event)
        if self.terminal is not None:
            if t == "message.output.delta":
                self.terminal.delta(self.assembler._data(event))
            return
        urgent = t not in ("message.output.delta", "function.call.delta", "tool.execution.delta")
        now = self.clock()
        if urgent or now - self.last >= self.interval:
            self.notebook.update(self.assembler, live=True)
            self.last = now
            self.updates += 1

    def finish(self) -> RenderedResponse:
        if self.notebook is not None:
            rendered = self.notebook.update(self.assembler, live=False)
            rendered._mark_shown()
        else:
            rendered = self.assembler.rendered()
            self.terminal.finish(rendered)
        error = self.assembler.error
        if error is not None:
            raise ResponseStreamError(field(error, "code", "?"), str(field(error, "message", "")), rendered)
        return rendered


def _forgot_to_stream(stream: Any) -> bool:
    return field(stream, "outputs") is not None


def display_stream(
    stream: Any, *, interval: float = 0.1, clock: Callable[[], float] = time.monotonic, out: Any = None
) -> RenderedResponse:
    """Show a synchronous conversation event stream live and return the final view.

    ``stream`` is what ``client.beta.conversations.start_stream(...)`` (or
    ``append_stream``/``restart_stream``) returns. In Jupyter one output is
    updated in place, at most every ``interval`` seconds for text and at once
    when a tool starts or finishes; elsewhere text is printed as it arrives
    (to ``out``, default stdout). The returned :class:`RenderedResponse`
    renders exactly like ``display_response`` of the same, non-streamed
    response; ``.response`` is the assembled ``ConversationResponse``.

    Raises :class:`ResponseStreamError` (after showing what arrived) when the
    stream ends with an error event. For a stream from ``*_stream_async``,
    use ``await display_stream_async(stream)``.
    """
    from ._display import display_response

    if _forgot_to_stream(stream):
        return display_response(stream)
    if hasattr(stream, "__aiter__") and not hasattr(stream, "__iter__"):
        raise TypeError("this is an async stream: use `await display_stream_async(stream)`")
    driver = _Driver(interval, clock, out)
    try:
        for event in stream:
            driver.on(event)
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()
    return driver.finish()


async def display_stream_async(
    stream: Any, *, interval: float = 0.1, clock: Callable[[], float] = time.monotonic, out: Any = None
) -> RenderedResponse:
    """``await``-able twin of :func:`display_stream` for ``*_stream_async`` streams (sync ones work too)."""
    from ._display import display_response

    if _forgot_to_stream(stream):
        return display_response(stream)
    driver = _Driver(interval, clock, out)
    try:
        if hasattr(stream, "__aiter__"):
            async for event in stream:
                driver.on(event)
        else:
            for event in stream:
                driver.on(event)
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            result = close()
            if hasattr(result, "__await__"):
                await result
    return driver.finish()
