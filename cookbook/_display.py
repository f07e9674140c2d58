"""``display_response``: a Conversations API response as HTML in Jupyter and as readable text anywhere else.

A response is read once into a :class:`ResponseView` (messages and steps in order, citations, who answered,
usage, what a replay rests on); each kind of entry gives its text form (``text()``) and has its block in
``templates/response.html.j2``. A connector's calls come as ``<connector>_<MCP tool>``: the two are shown apart
only when the request says which connectors it sent (a cookbook client remembers, see ``_client.py``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from . import _markup
from ._markup import Markup, as_json, safe_url
from ._tools import BUILT_IN_TOOLS

MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # a citation's number in message text, between these
MARK = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")


def read_field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj``'s field ``name`` as the API sent it (None when absent: then ``default``)."""
    data = as_json(obj)
    value = data.get(name) if isinstance(data, dict) else getattr(obj, name, None)
    return default if value is None else value


def provenance_note(provenance: str | None) -> str:
    """One short phrase for what a replayed exchange rests on (the ``cookbook-provenance`` header); live: none."""
    if not provenance:
        return ""
    if provenance == "recorded":
        return "recorded from the Mistral API"
    if provenance.endswith("capture=none"):
        return "authored example, no public capture of such an answer"
    return "authored example, shaped like public captures of the API"


@dataclass
class Citation:
    number: int
    title: str
    url: str | None  # http(s) only
    description: str = ""
    via: str = ""  # the tool that found it, and the search engine when the API names it


@dataclass
class Part:
    """A piece of a message: Markdown text (citations marked), thinking (parts of its own), or a labelled chunk."""

    kind: str  # "text", "thinking", "image", "document", "file", "reference"
    body: str = ""
    url: str | None = None
    parts: list[Part | Step] = field(default_factory=list)

    def text(self) -> str:
        if self.kind == "text":
            return self.body.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]")
        if self.kind == "thinking":
            return "[thinking] " + "".join(p.text() for p in self.parts) + "\n"
        return f"[{self.kind}: {self.body}]"


@dataclass
class Message:
    role: str
    parts: list[Part | Step]  # a Step for a chunk type this cookbook does not know
    who: str | None = None  # the agent, when several answer
    kind: str = "message"

    def text(self) -> str:
        if self.role != "assistant":
            return f"[{self.role}] " + " ".join(p.text() for p in self.parts)
        return (f"[{self.who}]\n" if self.who else "") + "".join(p.text() for p in self.parts)


@dataclass
class Step:
    """A tool call, a function call or result, a handoff, or an entry (or chunk) type this cookbook does not know."""

    kind: str  # "builtin", "connector", "function", "result", "handoff", "other"
    label: str  # the badge in HTML
    name: str = ""  # the tool (for a connector's call, the MCP tool) or the function
    data: Any = None  # the arguments, or the JSON of what is not known
    result: Any = None  # the tool's result: its code output, or the API's ``info``
    note: str = ""  # running, failed, confirmation status
    connector: str | None = None  # the connector, when the request says which one this call belongs to
    failed: bool = False

    def text(self) -> str:
        tag = {"builtin": "tool", "connector": f"connector {self.connector or 'tool'}"}.get(self.kind, self.label)
        data = _markup.one_line(self.data) if self.data not in (None, "", {}) else ""
        line = " ".join(x for x in (f"[{tag}]", self.name, data, self.note and f"({self.note})") if x)
        return line + (f"\n  result: {_markup.one_line(self.result)}" if self.result else "")


@dataclass
class ResponseView:
    entries: list[Message | Step]
    citations: list[Citation]
    conversation_id: str | None = None
    producers: list[str] = field(default_factory=list)  # agents and models, in order
    usage: dict[str, Any] | None = None
    guardrails: Any = None
    provenance: str | None = None  # what a replayed answer rests on (see provenance_note)
    status: str | None = None  # a live stream's status line
    error: str | None = None  # a stream that ended in an error

    def text(self) -> str:
        lines = [f"[{self.status}]"] if self.status else []
        lines += [entry.text() for entry in self.entries]
        if self.citations:
            lines.append("Sources:")
            lines += [f"[{c.number}] {c.title}" + (f" - {c.url}" if c.url else "") for c in self.citations]
        if self.error:
            lines.append(f"[error] {self.error}")
        footer = self.footer(ids=False)
        return "\n".join(lines + ([" · ".join(footer)] if footer else []))

    def markdown(self, text: str) -> Markup:
        """A message's Markdown as HTML, its citation marks turned into numbered links."""
        cites = {str(c.number): c for c in self.citations}  # rendered only where a mark stands
        html = MARK.sub(lambda mark: str(_markup.macro("cite", cites[mark[1]])), str(_markup.markdown(text)))
        return Markup(html.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""))  # halves of a mark a long text's fold cut

    def footer(self, *, ids: bool) -> list[str]:
        """The facts under an answer: conversation, who answered, tokens, tools used, guardrails, provenance.

        Without ``ids`` (the text form), the conversation and agents known only by id are left out."""
        facts = [f"conversation {self.conversation_id}"] if ids and self.conversation_id else []
        facts += [p for p in self.producers if ids or not p.startswith("agent ag_")]
        facts += _usage_facts(self.usage or {})
        if self.guardrails not in (None, [], {}):
            facts.append("guardrails " + _markup.one_line(self.guardrails, 200))
        return facts + ([provenance_note(self.provenance)] if self.provenance else [])

    def answer(self, sentences: int = 2) -> str:
        """The first sentence or two of the last answer, as plain text (for reports and summaries)."""
        messages = [e for e in self.entries if isinstance(e, Message) and e.role == "assistant"]
        source = "\n\n".join(p.body for p in messages[-1].parts if p.kind == "text") if messages else ""
        words = _markup.plain_text(MARK.sub("", source))
        found = re.findall(r".{2,}?[.!?](?= |$)", words)  # a sentence ends with . ! or ? before a space
        return " ".join(s.strip() for s in found[:sentences]) if found else words.strip()


def _usage_facts(usage: dict[str, Any]) -> list[str]:
    """The tokens an answer took, and the calls each connector made."""
    if not usage:
        return []
    tokens = f"{usage.get('prompt_tokens') or 0} prompt + {usage.get('completion_tokens') or 0} completion"
    if usage.get("connector_tokens"):
        tokens += f" + {usage['connector_tokens']} connector"
    facts = [f"{usage.get('total_tokens') or 0} tokens ({tokens})"]
    calls = usage.get("connectors")
    if isinstance(calls, dict) and calls:
        facts.append("calls: " + ", ".join(f"{k} ×{v}" for k, v in sorted(calls.items())))
    return facts


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


def _chip(kind: Any, chunk: Any) -> Part | Step:
    """A message's non-text chunk as a labelled part; a step for a chunk type this cookbook does not know."""
    if kind == "image_url":
        image = chunk.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return Part("image", "inline image (data URL)" if str(url).startswith("data:") else str(url), safe_url(url))
    if kind == "document_url":
        url = chunk.get("document_url")
        return Part("document", str(chunk.get("document_name") or url), safe_url(url))
    if kind == "tool_file":
        about = ", ".join(str(x) for x in (chunk.get("file_type"), chunk.get("tool")) if x)
        return Part("file", str(chunk.get("file_name") or chunk.get("file_id")) + (f" ({about})" if about else ""))
    if kind == "reference":
        return Part("reference", ", ".join(str(i) for i in chunk.get("reference_ids") or []))
    return Step("other", f"chunk {kind}", data=chunk)


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
            self.citations[key] = Citation(len(self.citations) + 1, title, safe_url(chunk.get("url")),
                                           str(chunk.get("description") or ""), via)
        return f"{MARK_OPEN}{self.citations[key].number}{MARK_CLOSE}"

    def parts(self, content: Any) -> list[Part | Step]:
        """A message's content: text and citations flow together as Markdown; other chunks are parts of their own."""
        parts: list[Part | Step] = []
        for chunk in [content] if isinstance(content, str) else list(content or []):
            chunk = {"type": "text", "text": chunk} if isinstance(chunk, str) else chunk
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if kind in ("text", "tool_reference"):
                self._add_text(parts, chunk, kind)
            elif kind == "thinking":
                parts.append(Part("thinking", parts=self.parts(chunk.get("thinking"))))
            else:
                parts.append(_chip(kind, chunk))
        return parts

    def _add_text(self, parts: list[Part | Step], chunk: dict, kind: str) -> None:
        if not parts or parts[-1].kind != "text":
            parts.append(Part("text"))
        text = parts[-1]
        if kind == "text":  # model text may not forge citation marks
            text.body += str(chunk.get("text") or "").replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
        elif text.body.rpartition("\n")[2].lstrip().startswith(("```", "~~~")):
            text.body += "\n" + self.cite(chunk)  # a mark glued to a closing code fence would turn the fence into text
        else:
            text.body += self.cite(chunk)

    def call(self, entry: dict, note: str) -> Step:
        """A tool the API ran (built-in or a connector's), or a function call the client must answer."""
        name = str(entry.get("name") or "?")
        arguments = _markup.parse_json(entry.get("arguments"))[0]
        if entry.get("type") == "function.call":
            status = entry.get("confirmation_status")
            return Step("function", "function", name, arguments,
                        note=", ".join(filter(None, (note, status and f"{status} confirmation"))))
        info = entry.get("info") if isinstance(entry.get("info"), dict) else {}
        failed = bool(info.get("isError") or info.get("is_error"))
        result = info.get("code_output") if "code_output" in info else info
        note = ", ".join(filter(None, (note, failed and "error")))
        if name in BUILT_IN_TOOLS:
            return Step("builtin", "built-in tool", name, arguments, result, note, failed=failed)
        connector, tool = split_tool_name(name, self.context.connectors) or (None, name)
        return Step("connector", "connector", tool, arguments, result, note, connector, failed)

    def entry(self, entry: Any, running: bool, who: str | None) -> Message | Step:
        if not isinstance(entry, dict):
            return Step("other", type(entry).__name__, data=str(entry))
        kind, note = entry.get("type"), "running…" if running else ""
        if kind in ("message.output", "message.input"):
            return Message(str(entry.get("role") or "assistant"), self.parts(entry.get("content")), who)
        if kind in ("tool.execution", "function.call"):
            return self.call(entry, note)
        if kind == "function.result":
            return Step("result", "function result", data=_markup.parse_json(entry.get("result"))[0])
        if kind == "agent.handoff":
            before = entry.get("previous_agent_name") or entry.get("previous_agent_id") or "?"
            after = entry.get("next_agent_name") or entry.get("next_agent_id") or "…"
            return Step("handoff", f"handoff {before} → {after}", note=note)
        return Step("other", str(kind or "entry"), data=entry)

    def read(self, data: Any, running: frozenset[int], status: str | None, error: str | None) -> ResponseView:
        data = data if isinstance(data, dict) else {}
        entries = data.get("outputs") or data.get("entries") or []
        agents = _agents(entries)
        several = len(set(filter(None, agents))) > 1
        views = [self.entry(entry, index in running, agent if several else None)
                 for index, (entry, agent) in enumerate(zip(entries, agents, strict=True))]
        models = [entry.get("model") if isinstance(entry, dict) else None for entry in entries]
        # who answered, in order of first appearance: agents (by name when known) and models
        producers = list(dict.fromkeys(str(x) for pair in zip(agents, models, strict=True) for x in pair if x))
        usage = data.get("usage")
        return ResponseView(views, list(self.citations.values()), data.get("conversation_id") or None, producers,
                            usage if isinstance(usage, dict) else None, data.get("guardrails"),
                            self.context.provenance, status, error)


def _agents(entries: list) -> list[str | None]:
    """The agent that wrote each entry, by name when a handoff names it."""
    names = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") == "agent.handoff":
            for side in ("previous", "next"):
                if entry.get(f"{side}_agent_id") and entry.get(f"{side}_agent_name"):
                    names[entry[f"{side}_agent_id"]] = entry[f"{side}_agent_name"]
    ids = [entry.get("agent_id") if isinstance(entry, dict) else None for entry in entries]
    return [f"agent {names.get(agent, agent)}" if agent else None for agent in ids]


def _ipython() -> Any:
    """The running IPython shell, if any (without importing IPython when nobody has)."""
    module = sys.modules.get("IPython")
    try:
        return module.get_ipython() if module is not None else None
    except Exception:
        return None


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
        reader = _Reader(self.context or RequestContext())
        self.view = reader.read(as_json(response), frozenset(running), status, error)
        self._shown_in: int | None = None

    @property
    def text(self) -> str:
        return self.view.text()

    @property
    def html(self) -> str:
        return str(_markup.render("response.html.j2", view=self.view))

    def __getattr__(self, name: str) -> Any:
        if name not in ("conversation_id", "outputs", "usage"):
            raise AttributeError(name)
        return self.response.get(name) if isinstance(self.response, dict) else getattr(self.response, name, None)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<RenderedResponse: {len(self.view.entries)} outputs>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _markup.mimebundle(self.text, self.html, include, exclude)

    def display_metadata(self) -> dict[str, Any]:
        """Marks the output as a response, with its answer in plain text (``cookbook run`` reads it)."""
        return {"cookbook": {"kind": "response", "answer": self.view.answer()}}

    def _ipython_display_(self) -> None:
        # display_response() already showed it in this cell: as the cell's last expression, not a second time
        if self._shown_in is None or self._shown_in != getattr(_ipython(), "execution_count", None):
            show(self)
        else:
            self._shown_in = None

    def show_once(self) -> None:
        """Show it now; as the same cell's last expression it is then not shown a second time."""
        show(self)
        self._shown_in = getattr(_ipython(), "execution_count", None)


def show(obj: Any, *, file: Any = None) -> None:
    """Display an object that has ``_repr_mimebundle_`` in IPython, or print its text."""
    if _ipython() is None:
        print(str(obj), file=file or sys.stdout)
        return
    from IPython.display import display

    metadata = obj.display_metadata() if hasattr(obj, "display_metadata") else None
    display(obj._repr_mimebundle_(), metadata=metadata, raw=True)


def display_response(response: Any) -> RenderedResponse:
    """Show a Conversations API response and return it as a :class:`RenderedResponse`.

    In Jupyter it displays HTML (once, even as a cell's last line); anywhere else it prints the text form.
    """
    if not hasattr(response, "model_dump") and any(hasattr(response, name) for name in ("__next__", "__aiter__")):
        raise TypeError("this is an event stream: use display_stream(stream), or await display_stream_async(stream) "
                        "for one from a *_stream_async call")
    rendered = response if isinstance(response, RenderedResponse) else RenderedResponse(response)
    rendered.show_once()
    return rendered
