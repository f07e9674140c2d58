"""``display_response``: a Conversations API response as HTML in Jupyter and as readable text anywhere else.

A response is read once into a small model (:class:`ResponseView`): its entries in order (messages, tool calls,
function calls, handoffs, anything else), its citations, who answered, the usage, and what the answer rests on
(a recording, an authored example, or the live API). The text form and the HTML template both read that model.

Tool calls are named as the API names them. A connector's calls come as ``<connector name>_<MCP tool name>``; the
view splits the two only when it knows which connectors the request sent (a cookbook client remembers that for
every call it makes, see :mod:`cookbook._client`), and otherwise shows the name as the API gave it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from . import _markup
from ._markup import Markup
from ._tools import BUILT_IN_TOOLS

__all__ = ["RenderedResponse", "ResponseView", "display_response", "show"]

MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # a citation's number in message text, between these


def as_json(value: Any) -> Any:
    """A JSON view of an SDK model (or a dict or list of them), as the API sent it."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    return value


def read_field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj``'s field ``name`` as the API sent it (None when absent: then ``default``)."""
    data = as_json(obj)
    value = data.get(name) if isinstance(data, dict) else getattr(obj, name, None)
    return default if value is None else value


# --------------------------------------------------------------------------- the model


@dataclass
class Citation:
    number: int
    title: str
    url: str | None  # http(s) only
    description: str = ""
    via: str = ""  # the tool that found it, and the search engine when the API names it


@dataclass
class Part:
    """A piece of a message: Markdown text (citations marked), or a non-text chunk shown as a labelled item."""

    kind: str  # "text", "thinking", "image", "document", "file", "reference", "other"
    text: str = ""
    url: str | None = None
    parts: list[Part] = field(default_factory=list)  # a thinking chunk's own parts
    data: Any = None  # an unknown chunk's JSON


@dataclass
class Message:
    role: str
    parts: list[Part]
    who: str | None = None  # the agent, when several answer
    kind: str = "message"


@dataclass
class ToolCall:
    """A tool the API ran (built-in or a connector's) or a function call the client must answer."""

    kind: str  # "builtin", "connector", "function"
    name: str  # as the API gave it
    connector: str | None  # the connector, when the request says which one this call belongs to
    tool: str  # the MCP tool (or the built-in tool, or the function)
    arguments: Any = None  # parsed JSON when it is JSON
    result: Any = None  # tool.execution info: the tool's result
    note: str = ""  # running, failed, confirmation status
    failed: bool = False


@dataclass
class Step:
    """A handoff, a function result, or an entry type this cookbook does not know."""

    kind: str  # "handoff", "result", "other"
    label: str
    data: Any = None


@dataclass
class ResponseView:
    entries: list[Any]
    citations: list[Citation]
    conversation_id: str | None = None
    producers: list[str] = field(default_factory=list)  # models and agents, in order
    usage: dict[str, Any] | None = None
    guardrails: Any = None
    provenance: str | None = None  # what a replayed answer rests on (see provenance_note)
    status: str | None = None  # a live stream's status line
    error: str | None = None  # a stream that ended in an error

    # -- text/plain ------------------------------------------------------------------

    def text(self) -> str:
        lines: list[str] = []
        if self.status:
            lines.append(f"[{self.status}]")
        for entry in self.entries:
            lines.extend(_entry_text(entry))
        if self.citations:
            lines.append("Sources:")
            lines.extend(f"[{c.number}] {c.title}" + (f" - {c.url}" if c.url else "") for c in self.citations)
        if self.error:
            lines.append(f"[error] {self.error}")
        footer = self.footer(ids=False)
        if footer:
            lines.append(" · ".join(footer))
        return "\n".join(lines)

    def footer(self, *, ids: bool) -> list[str]:
        """The facts under an answer: conversation, who answered, tokens, tools used, guardrails, provenance."""
        parts = [f"conversation {self.conversation_id}"] if ids and self.conversation_id else []
        parts += [p for p in self.producers if ids or not p.startswith("agent ag_")]
        if self.usage:
            parts.append(usage_text(self.usage))
            calls = self.usage.get("connectors")
            if isinstance(calls, dict) and calls:
                parts.append("calls: " + ", ".join(f"{k} ×{v}" for k, v in sorted(calls.items())))
        if self.guardrails not in (None, [], {}):
            parts.append("guardrails " + _markup.one_line(self.guardrails, 200))
        note = provenance_note(self.provenance)
        if note:
            parts.append(note)
        return parts

    def answer(self, sentences: int = 2) -> str:
        """The first sentence or two of the last answer, as plain text (for reports and summaries)."""
        messages = [e for e in self.entries if isinstance(e, Message) and e.role == "assistant"]
        if not messages:
            return ""
        source = "\n\n".join(p.text for p in messages[-1].parts if p.kind == "text")
        words = _markup.plain_text(re.sub(f"{MARK_OPEN}\\d+{MARK_CLOSE}", "", source))
        return first_sentences(words, sentences)

    # -- text/html -------------------------------------------------------------------

    def html(self) -> str:
        return str(_markup.render("response.html.j2", view=self, footer=self.footer(ids=True),
                                  message_html=self.message_html))

    def message_html(self, text: str) -> Markup:
        """A message's Markdown as HTML, its citation marks turned into numbered links."""
        html = str(_markup.markdown(text))
        for citation in self.citations:
            mark = f"{MARK_OPEN}{citation.number}{MARK_CLOSE}"
            if mark in html:
                html = html.replace(mark, str(_markup.render("citation.html.j2", c=citation)))
        return Markup(html.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""))


def usage_text(usage: dict[str, Any]) -> str:
    prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    total, connector = usage.get("total_tokens") or 0, usage.get("connector_tokens")
    parts = f"{prompt} prompt + {completion} completion" + (f" + {connector} connector" if connector else "")
    return f"{total} tokens ({parts})"


PROVENANCE_NOTES = {
    "recorded": "recorded from the Mistral API",
    "authored": "authored example, shaped like public captures of the API",
    "authored-uncaptured": "authored example, no public capture of such an answer",
}


def provenance_note(provenance: str | None) -> str:
    """One short phrase for what a replayed exchange rests on (the ``cookbook-provenance`` header); live: none."""
    if not provenance:
        return ""
    if provenance == "recorded":
        return PROVENANCE_NOTES["recorded"]
    return PROVENANCE_NOTES["authored-uncaptured" if provenance.endswith("capture=none") else "authored"]


def first_sentences(text: str, count: int) -> str:
    out, start = [], 0
    for index, char in enumerate(text):
        if char in ".!?" and (index + 1 == len(text) or text[index + 1] == " ") and index - start > 1:
            out.append(text[start:index + 1].strip())
            start = index + 1
            if len(out) == count:
                break
    return " ".join(out) if out else text.strip()


def strip_marks(text: str) -> str:
    """Message text without citation marks (model text may not forge them)."""
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def _entry_text(entry: Any) -> list[str]:
    if isinstance(entry, Message):
        head = [f"[{entry.who}]"] if entry.who else []
        if entry.role != "assistant":
            return [f"[{entry.role}] " + " ".join(_part_text(p) for p in entry.parts)]
        return head + ["".join(_part_text(p) for p in entry.parts)]
    if isinstance(entry, ToolCall):
        label = {"builtin": "[tool]", "function": "[function]"}.get(entry.kind) or (
            f"[connector {entry.connector}]" if entry.connector else "[connector tool]")
        args = _markup.one_line(entry.arguments) if entry.arguments not in (None, "", {}) else ""
        line = f"{label} {entry.tool}" + (f" {args}" if args else "") + (f" ({entry.note})" if entry.note else "")
        result = _result_text(entry.result)
        return [line] + ([f"  result: {result}"] if result else [])
    if entry.kind == "other":
        return [f"[{entry.label}] {_markup.one_line(entry.data)}"]
    return [f"[{entry.label}]" + (f" {_markup.one_line(entry.data)}" if entry.data not in (None, "") else "")]


def _result_text(info: Any) -> str:
    if not isinstance(info, dict) or not info:
        return ""
    if "code_output" in info:
        return _markup.one_line(str(info["code_output"]).strip())
    return _markup.one_line(info)


def _part_text(part: Part) -> str:
    if part.kind == "text":
        return part.text.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]")
    if part.kind == "thinking":
        return "[thinking] " + "".join(_part_text(p) for p in part.parts) + "\n"
    if part.kind == "other":
        return f"[{part.text}] {_markup.one_line(part.data)}"
    return f"[{part.kind}: {part.text}]"


# --------------------------------------------------------------------------- reading


@dataclass
class RequestContext:
    """What the request behind a response said: the connectors it sent (by name) and what answered it."""

    connectors: tuple[str, ...] = ()
    provenance: str | None = None


def split_tool_name(name: str, connectors: tuple[str, ...]) -> tuple[str, str] | None:
    """``(connector, tool)`` when ``name`` is ``<connector>_<tool>`` for one of ``connectors`` (the longest)."""
    for connector in sorted(connectors, key=len, reverse=True):
        if name.startswith(connector + "_") and len(name) > len(connector) + 1:
            return connector, name[len(connector) + 1:]
    return None


def _plain_part(kind: str, label: str, url: Any = None) -> Part:
    return Part(kind, label, _markup.safe_url(url))


def _image(chunk: dict) -> Part:
    image = chunk.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return _plain_part("image", "inline image (data URL)" if str(url).startswith("data:") else str(url), url)


def _document(chunk: dict) -> Part:
    url = chunk.get("document_url")
    return _plain_part("document", str(chunk.get("document_name") or url), url)


def _file(chunk: dict) -> Part:
    about = ", ".join(str(x) for x in (chunk.get("file_type"), chunk.get("tool")) if x)
    return Part("file", str(chunk.get("file_name") or chunk.get("file_id")) + (f" ({about})" if about else ""))


def _reference(chunk: dict) -> Part:
    return Part("reference", ", ".join(str(i) for i in chunk.get("reference_ids") or []))


# A message's non-text chunks, by type: each becomes a labelled part.
_CHUNKS = {"image_url": _image, "document_url": _document, "tool_file": _file, "reference": _reference}


class _Reader:
    """Turns one response's JSON into a :class:`ResponseView`."""

    def __init__(self, context: RequestContext) -> None:
        self.context = context
        self.citations: dict[tuple[str, str], Citation] = {}

    def cite(self, chunk: dict) -> str:
        """The citation mark of a ``tool_reference`` chunk (one number per source)."""
        key = (str(chunk.get("url") or ""), str(chunk.get("title") or ""))
        if key not in self.citations:
            via = " ".join(str(x) for x in (chunk.get("tool"), chunk.get("source") and f"({chunk['source']})") if x)
            title = str(chunk.get("title") or chunk.get("url") or "source")
            self.citations[key] = Citation(len(self.citations) + 1, title, _markup.safe_url(chunk.get("url")),
                                           str(chunk.get("description") or ""), via)
        return f"{MARK_OPEN}{self.citations[key].number}{MARK_CLOSE}"

    def parts(self, content: Any) -> list[Part]:
        """A message's content: text and citations flow together as Markdown; other chunks are parts of their own."""
        chunks = [content] if isinstance(content, str) else list(content or [])
        parts: list[Part] = []
        for chunk in ({"type": "text", "text": c} if isinstance(c, str) else c for c in chunks):
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if kind in ("text", "tool_reference"):
                self._add_text(parts, chunk, kind)
            elif kind == "thinking":
                parts.append(Part("thinking", parts=self.parts(chunk.get("thinking"))))
            elif kind in _CHUNKS:
                parts.append(_CHUNKS[kind](chunk))
            else:
                parts.append(Part("other", f"chunk {kind}", data=chunk))
        return parts

    def _add_text(self, parts: list[Part], chunk: dict, kind: str) -> None:
        piece = strip_marks(str(chunk.get("text") or "")) if kind == "text" else self.cite(chunk)
        if not parts or parts[-1].kind != "text":
            parts.append(Part("text", piece))
            return
        if kind == "tool_reference" and parts[-1].text.rpartition("\n")[2].lstrip().startswith(("```", "~~~")):
            piece = "\n" + piece  # a mark glued to a closing code fence would turn the fence into text
        parts[-1].text += piece

    def tool_call(self, entry: dict, note: str) -> ToolCall:
        name = str(entry.get("name") or "?")
        arguments = _markup.parse_json(entry.get("arguments"))[0]
        info = entry.get("info")
        failed = isinstance(info, dict) and bool(info.get("isError") or info.get("is_error"))
        note = ", ".join(x for x in (note, "error" if failed else "") if x)
        if name in BUILT_IN_TOOLS:
            return ToolCall("builtin", name, None, name, arguments, info, note, failed)
        connector, tool = split_tool_name(name, self.context.connectors) or (None, name)
        return ToolCall("connector", name, connector, tool, arguments, info, note, failed)

    def function_call(self, entry: dict, state: str) -> ToolCall:
        status = entry.get("confirmation_status")
        note = ", ".join(x for x in (state, f"{status} confirmation" if status else "") if x)
        name = str(entry.get("name") or "?")
        return ToolCall("function", name, None, name, _markup.parse_json(entry.get("arguments"))[0], None, note)

    def entry(self, entry: Any, running: bool, who: str | None) -> Any:
        if not isinstance(entry, dict):
            return Step("other", type(entry).__name__, str(entry))
        kind, state = entry.get("type"), "running…" if running else ""
        if kind in ("message.output", "message.input"):
            return Message(str(entry.get("role") or "assistant"), self.parts(entry.get("content")), who)
        if kind == "tool.execution":
            return self.tool_call(entry, state)
        if kind == "function.call":
            return self.function_call(entry, state)
        if kind == "function.result":
            return Step("result", "function result", _markup.parse_json(entry.get("result"))[0])
        if kind == "agent.handoff":
            before = entry.get("previous_agent_name") or entry.get("previous_agent_id") or "?"
            after = entry.get("next_agent_name") or entry.get("next_agent_id") or "…"
            return Step("handoff", f"handoff {before} → {after}" + (f" ({state})" if state else ""))
        return Step("other", str(kind or "entry"), entry)

    def read(self, data: Any, running: frozenset[int], status: str | None, error: str | None) -> ResponseView:
        data = data if isinstance(data, dict) else {}
        entries = [e for e in (data.get("outputs") if data.get("outputs") is not None else data.get("entries") or [])]
        names = _agent_names(entries)
        agents = {e.get("agent_id") for e in entries if isinstance(e, dict) and e.get("agent_id")}
        views = []
        for index, entry in enumerate(entries):
            agent = entry.get("agent_id") if isinstance(entry, dict) else None
            who = f"agent {names.get(agent, agent)}" if agent and len(agents) > 1 else None
            views.append(self.entry(entry, index in running, who))
        usage = data.get("usage")
        return ResponseView(views, list(self.citations.values()), data.get("conversation_id") or None,
                            _producers(entries, names), usage if isinstance(usage, dict) else None,
                            data.get("guardrails"), self.context.provenance, status, error)


def _agent_names(entries: list) -> dict[str, str]:
    """Agent id -> name, from the handoffs that name them."""
    names = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") == "agent.handoff":
            for side in ("previous", "next"):
                if entry.get(f"{side}_agent_id") and entry.get(f"{side}_agent_name"):
                    names[entry[f"{side}_agent_id"]] = entry[f"{side}_agent_name"]
    return names


def _producers(entries: list, names: dict[str, str]) -> list[str]:
    """Who answered, in order of first appearance: agents (by name when known) and models."""
    found: dict[str, None] = {}
    for entry in (e for e in entries if isinstance(e, dict)):
        if entry.get("agent_id"):
            found[f"agent {names.get(entry['agent_id'], entry['agent_id'])}"] = None
        if entry.get("model"):
            found[str(entry["model"])] = None
    return list(found)


def read_response(response: Any, context: RequestContext | None = None, *, running: frozenset[int] = frozenset(),
                  status: str | None = None, error: str | None = None) -> ResponseView:
    """The :class:`ResponseView` of a response (SDK model or its JSON, or a conversation history)."""
    return _Reader(context or RequestContext()).read(as_json(response), running, status, error)


# --------------------------------------------------------------------------- showing


def _ipython() -> Any:
    """The running IPython shell, if any (without importing IPython when nobody has)."""
    module = sys.modules.get("IPython")
    try:
        return module.get_ipython() if module is not None else None
    except Exception:
        return None


RESPONSE_KIND = "response"  # display metadata: {"cookbook": {"kind": "response", "answer": ...}}


class RenderedResponse:
    """A response that displays itself: HTML in Jupyter, text in ``print`` and terminals.

    ``response`` is the object rendered (for ``display_stream``, the assembled ``ConversationResponse``);
    ``conversation_id``, ``outputs`` and ``usage`` read through to it, so a result can feed the next call.
    """

    def __init__(self, response: Any, context: RequestContext | None = None, *, running: Any = (),
                 status: str | None = None, error: str | None = None) -> None:
        from ._client import context_of

        self.response = response
        self.context = context if context is not None else context_of(response)
        self.view = read_response(response, self.context, running=frozenset(running), status=status, error=error)
        self._shown_in: int | None = None

    @property
    def text(self) -> str:
        return self.view.text()

    @property
    def html(self) -> str:
        return self.view.html()

    def __getattr__(self, name: str) -> Any:
        if name in ("conversation_id", "outputs", "usage"):
            return getattr(self.response, name, None) if not isinstance(self.response, dict) else \
                self.response.get(name)
        raise AttributeError(name)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<RenderedResponse: {len(self.view.entries)} outputs>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(self.text, self.html, include, exclude)

    def display_metadata(self) -> dict[str, Any]:
        """Marks the output as a response, with its answer in plain text (``cookbook run`` reads it)."""
        return {"cookbook": {"kind": RESPONSE_KIND, "answer": self.view.answer()}}

    def _ipython_display_(self) -> None:
        # display_response() already showed it in this cell: as the cell's last expression, not a second time
        shell = _ipython()
        if self._shown_in is not None and shell is not None and shell.execution_count == self._shown_in:
            self._shown_in = None
            return
        from IPython.display import display

        display(self._repr_mimebundle_(), metadata=self.display_metadata(), raw=True)

    def mark_shown(self) -> None:
        shell = _ipython()
        self._shown_in = shell.execution_count if shell is not None else None


def show(obj: Any, *, file: Any = None) -> None:
    """Display an object that has ``_repr_mimebundle_`` in IPython, or print its text."""
    if _ipython() is None:
        print(str(obj), file=file or sys.stdout)
        return
    from IPython.display import display

    metadata = obj.display_metadata() if hasattr(obj, "display_metadata") else None
    display(obj._repr_mimebundle_(), metadata=metadata, raw=True)
    if hasattr(obj, "mark_shown"):
        obj.mark_shown()


def display_response(response: Any) -> RenderedResponse:
    """Show a Conversations API response and return it as a :class:`RenderedResponse`.

    In Jupyter it displays HTML (once, even as a cell's last line); anywhere else it prints the text form.
    """
    if as_json(response) is response and not isinstance(response, dict) and (
            hasattr(response, "__next__") or hasattr(response, "__anext__") or hasattr(response, "__aiter__")):
        raise TypeError("this is an event stream: use display_stream(stream), or await display_stream_async(stream) "
                        "for one from a *_stream_async call")
    rendered = response if isinstance(response, RenderedResponse) else RenderedResponse(response)
    show(rendered)
    return rendered
