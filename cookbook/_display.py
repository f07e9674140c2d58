"""``display_response``: a Conversations API response as rich HTML in Jupyter, clean text elsewhere.

The text form starts with exactly what the recipe page's ``display_response``
print helper prints (one line per ``message.output`` entry), followed by short,
stable lines for tool calls, citations and token usage. The HTML form renders
the same response with Markdown, numbered citations, visibly distinct tool
calls (built-in tool, connector tool, client-side function) and a footer.

Any object shaped like a ``ConversationResponse`` works: the SDK model, a plain
dict of its JSON, or a conversation history (``.entries``). Entry and chunk
types this module does not know are shown generically, never dropped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from . import _render as r

__all__ = [
    "BUILTIN_TOOLS",
    "RenderedResponse",
    "display_response",
    "render_html",
    "render_text",
]

# SDK 3.7 ``BuiltInConnectors``: tool.execution names that are Mistral's own tools.
BUILTIN_TOOLS = frozenset(
    {"web_search", "web_search_premium", "code_interpreter", "image_generation", "document_library", "mistral_mcp"}
)
# Keys of a tool.execution ``info`` that may name the connector that ran the tool.
_CONNECTOR_KEYS = ("connector_name", "connector", "connector_id", "connector_slug", "server_name")


# ------------------------------------------------------------------ field access


_IS_MODEL: dict[type, bool] = {}  # class -> is it a pydantic model (asking the class each time is slow)


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]``; SDK ``Unset`` and missing values become ``default``."""
    if isinstance(obj, dict):
        value = obj.get(name, default)
    else:
        attrs = getattr(obj, "__dict__", None)
        cls = type(obj)
        is_model = _IS_MODEL.get(cls)
        if is_model is None:
            is_model = _IS_MODEL[cls] = hasattr(cls, "model_fields")
        if attrs is not None and is_model:
            # a pydantic model: fields live in __dict__ (a missing one would be a slow getattr)
            if attrs.get("is_unknown") and isinstance(attrs.get("raw"), dict):
                value = attrs["raw"].get(name, default)
            elif name in attrs:
                value = attrs[name]
            else:
                extra = getattr(obj, "__pydantic_extra__", None) or {}
                value = extra.get(name, default)
        else:
            value = getattr(obj, name, default)
    if value is None or type(value).__name__ == "Unset":
        return default
    return value


def kind(obj: Any) -> str:
    """The ``type`` of an entry or chunk (the raw type for SDK "unknown" wrappers)."""
    if isinstance(obj, str):
        return "text"
    value = field(obj, "type", "")
    return str(value) if value else type(obj).__name__


def _coerce(response: Any) -> Any:
    """A dict in the shape of a ConversationResponse becomes the SDK model when it validates."""
    if isinstance(response, dict) and "outputs" in response:
        try:
            from mistralai.client.models import ConversationResponse

            return ConversationResponse.model_validate(response)
        except Exception:  # unknown entry types: keep the dict, render it generically
            return response
    return response


def entries_of(response: Any) -> list[Any]:
    """The output entries of a response (or the entries of a conversation history)."""
    for name in ("outputs", "entries"):
        value = field(response, name)
        if value is not None:
            return list(value)
    return []


def helper_text(content: Any) -> str:
    """What the recipe page's print helper prints for one ``message.output`` content."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    return "".join(_chunk_text(chunk) for chunk in content)


def _chunk_text(chunk: Any) -> str:
    if isinstance(chunk, dict):  # a chunk the SDK did not parse
        text = chunk.get("text")
        return text if isinstance(text, str) else r.one_line(chunk, limit=10_000)
    return chunk.text if hasattr(chunk, "text") else str(chunk)


# ------------------------------------------------------------------- tool naming


def tool_identity(entry: Any, usage: Any = None) -> tuple[str, str | None, str]:
    """``(kind, connector, tool)`` for a ``tool.execution`` entry.

    ``kind`` is ``"builtin"`` for Mistral's own tools (SDK ``BuiltInConnectors``)
    and ``"connector"`` for any other name, which is a tool of an MCP connector.
    SDK 3.7 names only the tool; the connector is taken from the entry's
    ``info`` when the API put it there, else from ``usage.connectors`` when
    exactly one non-built-in connector was used, else left unknown (None).
    """
    name = str(field(entry, "name", "") or "?")
    if name in BUILTIN_TOOLS:
        return "builtin", None, name
    info = field(entry, "info")
    if isinstance(info, dict):
        for key in _CONNECTOR_KEYS:
            value = info.get(key)
            if isinstance(value, str) and value:
                return "connector", value, name
    counts = field(usage, "connectors") if usage is not None else None
    if isinstance(counts, dict):
        custom = [key for key in counts if key not in BUILTIN_TOOLS]
        if len(custom) == 1:
            return "connector", str(custom[0]), name
    return "connector", None, name


def _tool_failed(entry: Any) -> bool:
    info = field(entry, "info")
    if not isinstance(info, dict):
        return False
    meta = info.get("mcp_meta") if isinstance(info.get("mcp_meta"), dict) else info
    return bool(meta.get("isError") or meta.get("is_error"))


# -------------------------------------------------------------------- citations


class _Citations:
    """Numbers ``tool_reference`` chunks in order of appearance; one number per source."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[tuple[str, str], int] = {}

    def add(self, chunk: Any) -> int:
        key = (str(field(chunk, "url", "")), str(field(chunk, "title", "")))
        if key not in self._index:
            self.items.append(chunk)
            self._index[key] = len(self.items)
        return self._index[key]


def _walk_references(content: Any, cites: _Citations) -> None:
    if isinstance(content, str) or content is None:
        return
    for chunk in content:
        t = kind(chunk)
        if t == "tool_reference":
            cites.add(chunk)
        elif t == "thinking":
            _walk_references(field(chunk, "thinking", []), cites)


def _collect_citations(entries: list[Any], kinds: list[str]) -> _Citations:
    cites = _Citations()
    for entry, t in zip(entries, kinds, strict=True):
        if t in ("message.output", "message.input"):
            _walk_references(field(entry, "content"), cites)
    return cites


# --------------------------------------------------------------------- text form


def _agent_names(entries: list[Any], kinds: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for entry, t in zip(entries, kinds, strict=True):
        if t == "agent.handoff":
            for side in ("previous", "next"):
                agent_id = field(entry, f"{side}_agent_id")
                agent_name = field(entry, f"{side}_agent_name")
                if agent_id and agent_name:
                    names[str(agent_id)] = str(agent_name)
    return names


def _usage_numbers(usage: Any) -> tuple[Any, Any, Any, Any, list[tuple[Any, Any]]]:
    """Prompt, completion and total tokens, connector tokens, and per-connector counts (sorted by name)."""
    counts = field(usage, "connectors")
    pairs = [(k, counts[k]) for k in sorted(counts)] if isinstance(counts, dict) else []
    return (field(usage, "prompt_tokens", 0) or 0, field(usage, "completion_tokens", 0) or 0,
            field(usage, "total_tokens", 0) or 0, field(usage, "connector_tokens"), pairs)


def _usage_line(response: Any, entries: list[Any], kinds: list[str]) -> str | None:
    usage = field(response, "usage")
    if usage is None:
        return None
    prompt, completion, total, connector_tokens, counts = _usage_numbers(usage)
    parts = [f"prompt {prompt}, completion {completion}, total {total} tokens"]
    if connector_tokens is not None or counts:
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in counts) + ")" if counts else ""
        parts.append(f"connectors {connector_tokens if connector_tokens is not None else '?'}{detail}")
    who = _who(entries, kinds, agent_ids=False)
    head = f"[usage] {who}: " if who else "[usage] "
    return head + "; ".join(parts)


def _who(entries: list[Any], kinds: list[str], *, agent_ids: bool = True) -> str:
    """The models and agents that produced the entries, in order of first appearance.

    With ``agent_ids=False`` (text/plain) an agent shows only when its name is
    known, since agent ids change from run to run.
    """
    seen: list[str] = []
    names = _agent_names(entries, kinds)
    for entry in entries:
        agent = field(entry, "agent_id")
        model = field(entry, "model")
        agent_label = names.get(str(agent)) if agent else None
        if agent and agent_label is None and agent_ids:
            agent_label = str(agent)
        for label in (f"agent {agent_label}" if agent_label else None, str(model) if model else None):
            if label and label not in seen:
                seen.append(label)
    return ", ".join(seen)


def _entry_line(entry: Any, t: str, usage: Any, running: bool) -> str | None:
    state = " (running…)" if running else ""
    if t == "tool.execution":
        tkind, connector, tool = tool_identity(entry, usage)
        label = "[tool]" if tkind == "builtin" else f"[connector {connector}]" if connector else "[connector tool]"
        args = r.one_line(field(entry, "arguments", ""))
        args = "" if args == "{}" else args
        failed = " (error)" if _tool_failed(entry) else ""
        return f"{label} {tool}" + (f" {args}" if args else "") + failed + state
    if t == "function.call":
        args = r.one_line(field(entry, "arguments", ""))
        status = field(entry, "confirmation_status")
        note = f" ({status} confirmation)" if status else ""
        return f"[function] {field(entry, 'name', '?')}" + (f" {args}" if args else "") + note + state
    if t == "agent.handoff":
        before = field(entry, "previous_agent_name") or field(entry, "previous_agent_id", "?")
        after = field(entry, "next_agent_name") or field(entry, "next_agent_id") or "…"
        return f"[handoff] {before} -> {after}" + state
    if t == "message.input":
        return f"[{field(entry, 'role', 'user')}] {r.one_line(helper_text(field(entry, 'content')))}"
    if t == "function.result":
        return f"[function result] {r.one_line(field(entry, 'result', ''))}"
    if t == "message.output":
        return None
    return f"[{t}] {r.one_line(r.plain(entry))}"


def _text(
    response: Any, entries: list[Any], running: frozenset[int], status: str | None, error: Any
) -> str:
    kinds = [kind(e) for e in entries]
    cites = _collect_citations(entries, kinds)
    lines = [helper_text(field(e, "content")) for e, t in zip(entries, kinds, strict=True) if t == "message.output"]
    usage = field(response, "usage")
    for i, (entry, t) in enumerate(zip(entries, kinds, strict=True)):
        line = _entry_line(entry, t, usage, i in running)
        if line is not None:
            lines.append(line)
    for n, chunk in enumerate(cites.items, 1):
        url = field(chunk, "url")
        lines.append(f"[{n}] {field(chunk, 'title', '')}" + (f" - {url}" if url else ""))
    if error is not None:
        lines.append(f"[error] {field(error, 'code', '?')}: {field(error, 'message', '')}")
    if status:
        lines.append(f"[{status}]")
    else:
        usage_line = _usage_line(response, entries, kinds)
        if usage_line:
            lines.append(usage_line)
    return "\n".join(lines)


# --------------------------------------------------------------------- HTML form


def _cite_sup(n: int, chunk: Any) -> str:
    title = str(field(chunk, "title", ""))
    href = r.safe_url(field(chunk, "url"))
    if href is None:
        return f'<sup class="cb-cite" title="{r.esc(title)}">[{n}]</sup>'
    return (
        f'<sup class="cb-cite"><a href="{r.esc(href)}" title="{r.esc(title)}" target="_blank" '
        f'rel="noopener noreferrer nofollow">[{n}]</a></sup>'
    )


def _md_with_citations(src: str, cites: _Citations, chunks: dict[int, Any]) -> str:
    html = r.markdown(src)
    if r.MARK_OPEN in html:
        for n, chunk in chunks.items():
            html = html.replace(f"{r.MARK_OPEN}{n}{r.MARK_CLOSE}", _cite_sup(n, chunk))
    return html


def _content_html(content: Any, cites: _Citations) -> str:
    """Text and citation chunks flow together as one Markdown document; other chunks are blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return r.markdown(r.strip_markers(content))
    parts: list[str] = []
    buf: list[str] = []
    marks: dict[int, Any] = {}

    def flush() -> None:
        if buf:
            parts.append(_md_with_citations("".join(buf), cites, dict(marks)))
            buf.clear()
            marks.clear()

    for chunk in content:
        t = kind(chunk)
        if t == "text":
            text = chunk if isinstance(chunk, str) else field(chunk, "text", "")
            buf.append(r.strip_markers(str(text)))
        elif t == "tool_reference":
            n = cites.add(chunk)
            marks[n] = chunk
            last_line = "".join(buf).rsplit("\n", 1)[-1].lstrip() if buf else ""
            # a marker glued to a closing code fence would turn the fence into text
            gap = "\n" if last_line.startswith(("```", "~~~")) else ""
            buf.append(f"{gap}{r.MARK_OPEN}{n}{r.MARK_CLOSE}")
        else:
            flush()
            parts.append(_chunk_html(chunk, cites))
    flush()
    return "".join(parts)


def _chunk_html(chunk: Any, cites: _Citations) -> str:
    t = kind(chunk)
    if t == "thinking":
        inner = _content_html(list(field(chunk, "thinking", [])), cites)
        return f'<details class="cb-think"><summary>thinking</summary>{inner}</details>'
    if t == "reference":
        ids = ", ".join(str(i) for i in field(chunk, "reference_ids", []))
        return f'<span class="cb-desc">[references {r.esc(ids)}]</span>'
    if t == "image_url":
        image = field(chunk, "image_url")
        url = image if isinstance(image, str) else field(image, "url")
        tag = r.img(url, cls="cb-img", alt="image")
        if tag:
            return f"<div>{tag}</div>"
        what = "inline image (data URL) not shown" if str(url).startswith("data:") else "image with an unsupported URL"
        return f'<div class="cb-chip">[{r.esc(what)}]</div>'
    if t == "document_url":
        url = field(chunk, "document_url")
        label = field(chunk, "document_name") or url or "document"
        return f'<div class="cb-chip">📄 {r.link(url, str(label))}</div>'
    if t == "tool_file":
        name = field(chunk, "file_name") or "file"
        ftype = field(chunk, "file_type")
        tool = field(chunk, "tool")
        meta = ", ".join(str(x) for x in (ftype, f"from {tool}" if tool else None) if x)
        return (
            f'<div class="cb-chip">📎 {r.esc(name)}'
            + (f' <span class="cb-desc">({r.esc(meta)})</span>' if meta else "")
            + f" <code>{r.esc(field(chunk, 'file_id', ''))}</code></div>"
        )
    return _unknown_html(f"chunk: {t}", chunk)


def _unknown_html(label: str, obj: Any) -> str:
    """A type this module does not know: its name and its JSON (compact when short)."""
    value = r.plain(obj)
    compact, complete = r.format_json(value, indent=None, max_depth=6, max_chars=240)
    shown = f"<code>{r.esc(compact)}</code>" if complete else r.json_block(value)
    return f'<div class="cb-step cb-step--unknown"><span class="cb-badge">{r.esc(label)}</span>{shown}</div>'


def _state_html(running: bool, failed: bool = False, note: str | None = None) -> str:
    out = ""
    if note:
        out += f'<span class="cb-state">{r.esc(note)}</span>'
    if failed:
        out += '<span class="cb-state cb-state--error">error</span>'
    if running:
        out += '<span class="cb-state">running…</span>'
    return out


def _tool_html(entry: Any, usage: Any, running: bool) -> str:
    tkind, connector, tool = tool_identity(entry, usage)
    failed = _tool_failed(entry)
    if tkind == "builtin":
        head = f'<span class="cb-badge">built-in</span><code>{r.esc(tool)}</code>'
    else:
        owner = f"<b>{r.esc(connector)}</b> › " if connector else ""
        head = f'<span class="cb-badge">connector</span>{owner}<code>{r.esc(tool)}</code>'
    args = field(entry, "arguments", "")
    body = r.json_block(args) if args not in ("", "{}", {}) else ""
    info = field(entry, "info")
    if isinstance(info, dict) and info:
        if "code" in info or "code_output" in info:  # code_interpreter
            extra = "".join(
                f"<div class='cb-desc'>{r.esc(k)}</div><pre>{r.esc(str(info[k])[: r.JSON_FULL_CHARS])}</pre>"
                for k in ("code", "code_output")
                if k in info
            )
        else:
            extra = r.json_block(info)
        body += f"<details><summary>result</summary>{extra}</details>"
    cls = "cb-step--error" if failed else f"cb-step--{tkind}"
    return f'<div class="cb-step {cls}">{head}{_state_html(running, failed)}{body}</div>'


def _entry_html(entry: Any, t: str, usage: Any, running: bool, cites: _Citations, who: str | None) -> str:
    if t == "message.output":
        label = f'<div class="cb-who">{r.esc(who)}</div>' if who else ""
        body = _content_html(field(entry, "content"), cites)
        return f'<div class="cb-msg">{label}<div class="cb-md">{body}</div></div>'
    if t == "tool.execution":
        return _tool_html(entry, usage, running)
    if t == "function.call":
        status = field(entry, "confirmation_status")
        note = f"{status} confirmation" if status else None
        args = field(entry, "arguments", "")
        return (
            f'<div class="cb-step cb-step--function"><span class="cb-badge">function</span>'
            f"<code>{r.esc(field(entry, 'name', '?'))}</code>{_state_html(running, note=note)}"
            f"{r.json_block(args) if args not in ('', {}) else ''}</div>"
        )
    if t == "agent.handoff":
        before = field(entry, "previous_agent_name") or field(entry, "previous_agent_id", "?")
        after = field(entry, "next_agent_name") or field(entry, "next_agent_id") or "…"
        return (
            f'<div class="cb-step cb-step--handoff"><span class="cb-badge">handoff</span>'
            f"{r.esc(before)} → <b>{r.esc(after)}</b>{_state_html(running)}</div>"
        )
    if t == "message.input":
        role = field(entry, "role", "user")
        return (
            f'<div class="cb-msg"><div class="cb-who">{r.esc(role)}</div>'
            f'<div class="cb-md">{_content_html(field(entry, "content"), cites)}</div></div>'
        )
    if t == "function.result":
        return (
            '<div class="cb-step cb-step--function"><span class="cb-badge">function result</span>'
            f"{r.json_block(field(entry, 'result', ''))}</div>"
        )
    return _unknown_html(t, entry)


def _sources_html(cites: _Citations) -> str:
    if not cites.items:
        return ""
    items = []
    for chunk in cites.items:
        title = str(field(chunk, "title", "") or field(chunk, "url", "") or "source")
        favicon = r.img(field(chunk, "favicon"), cls="cb-favicon", size=16)
        desc = field(chunk, "description")
        tool = field(chunk, "tool")
        items.append(
            f"<li>{favicon}{r.link(field(chunk, 'url'), title)}"
            + (f' <span class="cb-desc">— {r.esc(desc)}</span>' if desc else "")
            + (f' <span class="cb-via">via {r.esc(tool)}</span>' if tool else "")
            + "</li>"
        )
    return f'<ol class="cb-sources">{"".join(items)}</ol>'


def _footer_html(response: Any, entries: list[Any], kinds: list[str]) -> str:
    spans = []
    conversation_id = field(response, "conversation_id")
    if conversation_id:
        spans.append(f"conversation <code>{r.esc(conversation_id)}</code>")
    who = _who(entries, kinds)
    if who:
        spans.append(r.esc(who))
    usage = field(response, "usage")
    if usage is not None:
        prompt, completion, total, connector_tokens, counts = _usage_numbers(usage)
        spans.append(f"{r.esc(total)} tokens ({r.esc(prompt)} prompt + {r.esc(completion)} completion)")
        if connector_tokens is not None or counts:
            detail = " (" + ", ".join(f"{r.esc(k)}: {r.esc(v)}" for k, v in counts) + ")" if counts else ""
            shown = connector_tokens if connector_tokens is not None else "?"
            spans.append(f"connector tokens {r.esc(shown)}{detail}")
    guardrails = field(response, "guardrails")
    if guardrails:
        spans.append(f"guardrails {r.esc(r.one_line(guardrails, 200))}")
    return '<div class="cb-foot">' + "".join(f"<span>{s}</span>" for s in spans) + "</div>" if spans else ""


def _html(response: Any, entries: list[Any], running: frozenset[int], status: str | None, error: Any) -> str:
    cites = _Citations()
    usage = field(response, "usage")
    kinds = [kind(e) for e in entries]
    names = _agent_names(entries, kinds)
    agent_ids = [field(e, "agent_id") for e in entries]
    agents = {str(a) for a in agent_ids if a}
    body = []
    if status:
        body.append(f'<div class="cb-live">{r.esc(status)}</div>')
    for i, (entry, t, agent) in enumerate(zip(entries, kinds, agent_ids, strict=True)):
        who = None
        if len(agents) > 1 and agent:
            who = names.get(str(agent), str(agent))
        body.append(_entry_html(entry, t, usage, i in running, cites, who))
    if error is not None:
        body.append(
            f'<div class="cb-banner"><b>stream error {r.esc(field(error, "code", "?"))}</b>: '
            f"{r.esc(field(error, 'message', ''))}</div>"
        )
    body.append(_sources_html(cites))
    body.append(_footer_html(response, entries, kinds))
    return f'<div class="cb-resp"><style>{r.CSS}</style>{"".join(body)}</div>'


# ------------------------------------------------------------------- public API


def render_text(response: Any, *, running: Iterable[int] = (), status: str | None = None, error: Any = None) -> str:
    """The text/plain form of a response (what ``print`` shows).

    ``running`` (indexes of entries still in progress), ``status`` (a live
    status line) and ``error`` (a stream's error event) serve ``display_stream``.
    """
    response = _coerce(response)
    entries = entries_of(response)
    return _text(response, entries, frozenset(running), status, error)


def render_html(response: Any, *, running: Iterable[int] = (), status: str | None = None, error: Any = None) -> str:
    """The text/html form of a response: self-contained, scoped CSS, no external assets."""
    response = _coerce(response)
    return _html(response, entries_of(response), frozenset(running), status, error)


def _ipython() -> Any:
    """The running IPython shell, without importing IPython when nobody has."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:
        return None


class RenderedResponse:
    """A response that displays itself: HTML in Jupyter, text in ``print`` and terminals.

    ``response`` is the object rendered (for ``display_stream``, the assembled
    ``ConversationResponse``); ``conversation_id``, ``outputs`` and ``usage``
    read through to it, so a result can feed the next ``append`` call.
    """

    def __init__(
        self, response: Any, *, running: Iterable[int] = (), status: str | None = None, error: Any = None
    ) -> None:
        self.response = _coerce(response)
        self.error = error
        self._running = frozenset(running)
        self._status = status
        self._text: str | None = None
        self._html: str | None = None
        self._shown_in: int | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = render_text(self.response, running=self._running, status=self._status, error=self.error)
        return self._text

    @property
    def html(self) -> str:
        if self._html is None:
            self._html = render_html(self.response, running=self._running, status=self._status, error=self.error)
        return self._html

    @property
    def conversation_id(self) -> Any:
        return field(self.response, "conversation_id")

    @property
    def outputs(self) -> list[Any]:
        return entries_of(self.response)

    @property
    def usage(self) -> Any:
        return field(self.response, "usage")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<RenderedResponse: {len(self.outputs)} outputs>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return r.mimebundle(self.text, self.html, include, exclude)

    def display_metadata(self) -> dict[str, Any]:
        """The display metadata that marks this output as a response (``cookbook run`` reads the answer by it)."""
        return {"cookbook": {"kind": "response"}}

    def _ipython_display_(self) -> None:
        # display_response() already showed this object in the current cell: when the
        # call is also the cell's last expression, do not show it a second time.
        shell = _ipython()
        if self._shown_in is not None and shell is not None and shell.execution_count == self._shown_in:
            self._shown_in = None
            return
        from IPython.display import display

        display(self._repr_mimebundle_(), metadata=self.display_metadata(), raw=True)

    def _mark_shown(self) -> None:
        shell = _ipython()
        self._shown_in = shell.execution_count if shell is not None else None


def show(rendered: Any, *, file: Any = None) -> None:
    """Display an object with ``_repr_mimebundle_`` in IPython, or print its text."""
    shell = _ipython()
    if shell is not None:
        from IPython.display import display

        metadata = rendered.display_metadata() if hasattr(rendered, "display_metadata") else None
        display(rendered._repr_mimebundle_(), metadata=metadata, raw=True)
        if hasattr(rendered, "_mark_shown"):
            rendered._mark_shown()
    else:
        print(str(rendered), file=file or sys.stdout)


def display_response(response: Any) -> RenderedResponse:
    """Show a Conversations API response and return it as a :class:`RenderedResponse`.

    In Jupyter it displays rich HTML (once, even as a cell's last line); anywhere
    else it prints the text form, which begins with exactly what the recipe
    page's print helper prints.
    """
    if field(response, "outputs") is None and (hasattr(response, "__next__") or hasattr(response, "__anext__")):
        raise TypeError(
            "this is an event stream: use display_stream(stream), or await display_stream_async(stream) "
            "for one from a *_stream_async call"
        )
    rendered = response if isinstance(response, RenderedResponse) else RenderedResponse(response)
    show(rendered)
    return rendered
