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
_CONNECTOR_KEY_SET = frozenset(_CONNECTOR_KEYS)


# ------------------------------------------------------------------ field access


# class -> how its fields are read (asking the class each time is slow): a model's are its __dict__, a dict is
# its own; a model that may wrap JSON or carry extra fields needs a closer look, and other objects are read by getattr
_OTHER, _MODEL, _DICT, _CAREFUL = 0, 1, 2, 3
_PLANS: dict[type, int] = {dict: _DICT}


def _plan(cls: type) -> int:
    if issubclass(cls, dict):
        return _DICT
    fields = getattr(cls, "model_fields", None)
    if not isinstance(fields, dict):
        return _OTHER
    config = getattr(cls, "model_config", None) or {}
    return _CAREFUL if "is_unknown" in fields or config.get("extra") == "allow" else _MODEL


def _items(obj: Any) -> Any:
    """The dict :func:`field` reads ``obj`` from (a dict, a model's fields, an SDK "unknown" wrapper's JSON), or,
    for any other object, a view whose ``get`` is :func:`field`. Values are as stored: None and Unset included."""
    plan = _PLANS.get(type(obj))
    if plan == _MODEL:
        return obj.__dict__  # a pydantic model: fields live in __dict__ (a missing one would be a slow getattr)
    if plan == _DICT:
        return obj
    if plan is None:
        plan = _PLANS[type(obj)] = _plan(type(obj))
        return _items(obj)
    attrs = getattr(obj, "__dict__", None) if plan == _CAREFUL else None
    if attrs is None:
        return _Attrs(obj)
    if attrs.get("is_unknown") and isinstance(attrs.get("raw"), dict):
        return attrs["raw"]
    extra = getattr(obj, "__pydantic_extra__", None)
    return {**extra, **attrs} if extra else attrs


def _missing(value: Any) -> bool:
    return value is None or (not value and type(value).__name__ == "Unset")  # Unset is falsy


def _val(items: Any, name: str, default: Any = None) -> Any:
    """``items.get(name, default)`` as :func:`field` reads it: None and Unset become ``default``."""
    value = items.get(name, default)
    if value is None or (not value and type(value).__name__ == "Unset"):  # _missing(), inlined
        return default
    return value


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]``; SDK ``Unset`` and missing values become ``default``."""
    items = _items(obj)
    value = getattr(obj, name, default) if type(items) is _Attrs else items.get(name, default)
    return default if _missing(value) else value


class _Attrs:
    """The fields of an object that is neither a dict nor a model: ``get`` is :func:`field`."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def get(self, name: str, default: Any = None) -> Any:
        return field(self.obj, name, default)


def view(obj: Any) -> Any:
    """``obj``'s fields read at once: ``view(obj).get(name, default)`` is ``field(obj, name, default)``."""
    items = _items(obj)
    if type(items) is _Attrs:
        return items
    return {k: v for k, v in items.items() if v or not (v is None or type(v).__name__ == "Unset")}


def kind(obj: Any) -> str:
    """The ``type`` of an entry or chunk (the raw type for SDK "unknown" wrappers)."""
    return "text" if isinstance(obj, str) else _kind(obj, _items(obj))


def _kind(obj: Any, items: Any) -> str:
    value = items.get("type")
    return str(value) if value else type(obj).__name__  # None and Unset are falsy


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
    return "".join([_chunk_text(chunk) for chunk in content])


def _chunk_text(chunk: Any) -> str:
    if isinstance(chunk, dict):  # a chunk the SDK did not parse
        text = chunk.get("text")
        return text if isinstance(text, str) else r.one_line(chunk, limit=10_000)
    cls = type(chunk)
    textless = _TEXTLESS.get(cls)
    if textless is None:
        textless = _TEXTLESS[cls] = _textless(cls)
    if textless and "text" not in chunk.__dict__:  # hasattr would say False, slowly (pydantic raises inside)
        shown = _SHOWN.get(cls)
        if shown is None:
            return str(chunk)
        # str(chunk) as pydantic writes it (BaseModel.__str__ over __repr_args__; no extras: see _textless)
        parts = [f"{k}={v!r}" if v is not chunk else None for k, v in chunk.__dict__.items() if k in shown]
        return str(chunk) if None in parts else " ".join(parts)
    return chunk.text if hasattr(chunk, "text") else str(chunk)


_TEXTLESS: dict[type, bool] = {}
_SHOWN: dict[type, frozenset[str] | None] = {}  # the fields str() shows, for models whose str() is pydantic's own


def _pydantic_base(cls: type) -> type | None:
    return next((c for c in cls.__mro__ if c.__name__ == "BaseModel" and c.__module__ == "pydantic.main"), None)


def _textless(cls: type) -> bool:
    """Whether an instance of ``cls`` has a ``text`` attribute only if its ``__dict__`` holds one: a pydantic model
    without such a field, class attribute, private attribute, extra fields or ``__getattr__`` of its own."""
    base = _pydantic_base(cls)
    if base is None or hasattr(cls, "text") or getattr(cls, "__getattr__", None) is not base.__getattr__:
        return False
    fields = getattr(cls, "model_fields", {})
    extra = (getattr(cls, "model_config", {}) or {}).get("extra") == "allow"
    textless = "text" not in fields and "text" not in (cls.__private_attributes__ or {}) and not extra
    plain_str = all(getattr(cls, name) is getattr(base, name) for name in ("__str__", "__repr_str__", "__repr_args__"))
    _SHOWN[cls] = (frozenset(k for k, f in cls.__pydantic_fields__.items() if f.repr)
                   if plain_str and not cls.__pydantic_computed_fields__ else None)
    return textless


# ------------------------------------------------------------------- tool naming


def tool_identity(entry: Any, usage: Any = None) -> tuple[str, str | None, str]:
    """``(kind, connector, tool)`` for a ``tool.execution`` entry.

    ``kind`` is ``"builtin"`` for Mistral's own tools (SDK ``BuiltInConnectors``)
    and ``"connector"`` for any other name, which is a tool of an MCP connector.
    SDK 3.7 names only the tool; the connector is taken from the entry's
    ``info`` when the API put it there, else from ``usage.connectors`` when
    exactly one non-built-in connector was used, else left unknown (None).
    """
    return _tool_identity(_items(entry), _only_connector(usage))


def _only_connector(usage: Any) -> str | None:
    """The one connector that is not a built-in tool in ``usage.connectors``, if there is exactly one."""
    counts = field(usage, "connectors") if usage is not None else None
    if isinstance(counts, dict):
        custom = [key for key in counts if key not in BUILTIN_TOOLS]
        if len(custom) == 1:
            return str(custom[0])
    return None


def _tool_identity(entry: Any, only_connector: str | None) -> tuple[str, str | None, str]:
    name = str(entry.get("name", "") or "?")
    if name in BUILTIN_TOOLS:
        return "builtin", None, name
    info = entry.get("info")
    if isinstance(info, dict) and not _CONNECTOR_KEY_SET.isdisjoint(info):
        for key in _CONNECTOR_KEYS:
            value = info.get(key)
            if isinstance(value, str) and value:
                return "connector", value, name
    return "connector", only_connector, name


def _tool_failed(entry: Any) -> bool:
    info = entry.get("info")
    if not isinstance(info, dict):
        return False
    meta = info.get("mcp_meta") if isinstance(info.get("mcp_meta"), dict) else info
    return bool(meta.get("isError") or meta.get("is_error"))


# -------------------------------------------------------------------- citations


class _Citations:
    """Numbers ``tool_reference`` chunks in order of appearance; one number per source."""

    def __init__(self) -> None:
        self.items: list[Any] = []  # the first chunk of each source, as a view
        self._index: dict[tuple[str, str], int] = {}
        self._sups: dict[int, str] = {}

    def add(self, chunk: Any, items: Any) -> int:
        """The number of a ``tool_reference`` chunk's source (``items``: the chunk's fields)."""
        key = (str(_val(items, "url", "")), str(_val(items, "title", "")))
        number = self._index.get(key)
        if number is None:
            self.items.append(view(chunk))
            number = self._index[key] = len(self.items)
        return number

    def sup(self, n: int) -> str:
        """The superscript link that marks citation ``n`` in the text."""
        html = self._sups.get(n)
        if html is None:
            chunk = self.items[n - 1]
            title = str(chunk.get("title", ""))
            href = r.safe_url(chunk.get("url"))
            if href is None:
                html = f'<sup class="cb-cite" title="{r.esc(title)}">[{n}]</sup>'
            else:
                html = (
                    f'<sup class="cb-cite"><a href="{r.esc(href)}" title="{r.esc(title)}" target="_blank" '
                    f'rel="noopener noreferrer nofollow">[{n}]</a></sup>'
                )
            self._sups[n] = html
        return html


def _walk_references(content: Any, cites: _Citations) -> None:
    if isinstance(content, str) or content is None:
        return
    for chunk in content:
        if isinstance(chunk, str):
            continue
        items = _items(chunk)
        t = _kind(chunk, items)
        if t == "tool_reference":
            cites.add(chunk, items)
        elif t == "thinking":
            _walk_references(_val(items, "thinking", []), cites)


# ------------------------------------------------------------------ one reading


_HANDOFF_SIDES = (("previous_agent_id", "previous_agent_name"), ("next_agent_id", "next_agent_name"))


class _Reading:
    """A response read once for both forms: each entry's fields and kind, the agents' names, the citations."""

    def __init__(self, response: Any, running: frozenset[int], status: str | None, error: Any) -> None:
        self.response = response
        self.running = running
        self.status = status
        self.error = error
        self.entries = entries = entries_of(response)
        plans = _PLANS  # each entry's fields, values as stored: read them as field() would (_items(), inlined)
        self.fields = fields = [e.__dict__ if plans.get(type(e)) == _MODEL else _items(e) for e in entries]
        self.kinds = kinds = [str(t) if (t := f.get("type")) else type(e).__name__  # _kind(), inlined
                              for e, f in zip(entries, fields, strict=True)]
        # each entry's (agent id, model), None when missing
        self.producers = [(f.get("agent_id") or None, f.get("model") or None) for f in fields]
        self.names: dict[str, str] = {}  # agent id -> name, from handoffs
        for f, t in zip(fields, kinds, strict=True):
            if t == "agent.handoff":
                for id_key, name_key in _HANDOFF_SIDES:
                    agent_id = f.get(id_key)
                    agent_name = f.get(name_key)
                    if agent_id and agent_name:
                        self.names[str(agent_id)] = str(agent_name)
        self.usage = field(response, "usage")
        self.only_connector = _only_connector(self.usage)
        self.json: r.JsonBlocks = {}
        self._producers: list[tuple[Any, Any]] | None = None
        self._tools: dict[int, tuple[str, str | None, str, bool]] = {}
        self.cites = _Citations()  # numbered as the HTML meets them; all of them once it is rendered
        self.cites_complete = False

    def citations(self) -> _Citations:
        """Every citation, numbered in order of appearance (as the HTML numbers them)."""
        if not self.cites_complete:
            for fields, t in zip(self.fields, self.kinds, strict=True):
                if t in ("message.output", "message.input"):
                    _walk_references(fields.get("content") or None, self.cites)
            self.cites_complete = True
        return self.cites

    def tool(self, fields: Any) -> tuple[str, str | None, str, bool]:
        """``(kind, connector, tool, failed)`` of a ``tool.execution`` entry, worked out once for both forms."""
        known = self._tools.get(id(fields))
        if known is None:
            known = self._tools[id(fields)] = (*_tool_identity(fields, self.only_connector), _tool_failed(fields))
        return known

    def who(self, *, agent_ids: bool = True) -> str:
        """The models and agents that produced the entries, in order of first appearance.

        With ``agent_ids=False`` (text/plain) an agent shows only when its name is
        known, since agent ids change from run to run.
        """
        if self._producers is None:  # (agent, model) pairs, each once, in order
            try:
                unique = list(dict.fromkeys(self.producers))
            except TypeError:  # an id or a model that is not hashable
                unique = self.producers
            self._producers = list(dict.fromkeys([(a if a is None else str(a), m if m is None else str(m))
                                                  for a, m in unique]))
        seen: dict[str, None] = {}
        names = self.names
        for agent, model in self._producers:
            if agent:
                label = names.get(agent)
                if label is None and agent_ids:
                    label = agent
                if label:
                    seen[f"agent {label}"] = None
            if model:
                seen[model] = None
        return ", ".join(seen)


# --------------------------------------------------------------------- text form


def _usage_numbers(usage: Any) -> tuple[Any, Any, Any, Any, list[tuple[Any, Any]]]:
    """Prompt, completion and total tokens, connector tokens, and per-connector counts (sorted by name)."""
    counts = field(usage, "connectors")
    pairs = [(k, counts[k]) for k in sorted(counts)] if isinstance(counts, dict) else []
    return (field(usage, "prompt_tokens", 0) or 0, field(usage, "completion_tokens", 0) or 0,
            field(usage, "total_tokens", 0) or 0, field(usage, "connector_tokens"), pairs)


def _usage_line(doc: _Reading) -> str | None:
    if doc.usage is None:
        return None
    prompt, completion, total, connector_tokens, counts = _usage_numbers(doc.usage)
    parts = [f"prompt {prompt}, completion {completion}, total {total} tokens"]
    if connector_tokens is not None or counts:
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in counts) + ")" if counts else ""
        parts.append(f"connectors {connector_tokens if connector_tokens is not None else '?'}{detail}")
    who = doc.who(agent_ids=False)
    head = f"[usage] {who}: " if who else "[usage] "
    return head + "; ".join(parts)


def _entry_line(entry: Any, fields: Any, t: str, doc: _Reading, running: bool) -> str | None:
    state = " (running…)" if running else ""
    if t == "tool.execution":
        tkind, connector, tool, failed = doc.tool(fields)
        label = "[tool]" if tkind == "builtin" else f"[connector {connector}]" if connector else "[connector tool]"
        args = _val(fields, "arguments", "")
        args = r.one_line(args, blocks=doc.json)
        args = "" if args == "{}" else args
        failed = " (error)" if failed else ""
        return f"{label} {tool}" + (f" {args}" if args else "") + failed + state
    if t == "function.call":
        args = _val(fields, "arguments", "")
        args = r.one_line(args, blocks=doc.json)
        status = fields.get("confirmation_status")
        note = f" ({status} confirmation)" if status else ""
        return f"[function] {_val(fields, 'name', '?')}" + (f" {args}" if args else "") + note + state
    if t == "agent.handoff":
        before = fields.get("previous_agent_name") or _val(fields, "previous_agent_id", "?")
        after = fields.get("next_agent_name") or fields.get("next_agent_id") or "…"
        return f"[handoff] {before} -> {after}" + state
    if t == "message.input":
        return f"[{_val(fields, 'role', 'user')}] {r.one_line(helper_text(fields.get('content') or None))}"
    if t == "function.result":
        return f"[function result] {r.one_line(_val(fields, 'result', ''))}"
    if t == "message.output":
        return None
    return f"[{t}] {r.one_line(r.plain(entry))}"


def _text_tail(doc: _Reading, lines: list[str]) -> str:
    """The text form: ``lines`` (the helper's lines, then one per other entry), then citations, status, usage."""
    for n, chunk in enumerate(doc.citations().items, 1):
        url = chunk.get("url")
        lines.append(f"[{n}] {chunk.get('title', '')}" + (f" - {url}" if url else ""))
    if doc.error is not None:
        lines.append(f"[error] {field(doc.error, 'code', '?')}: {field(doc.error, 'message', '')}")
    if doc.status:
        lines.append(f"[{doc.status}]")
    else:
        usage_line = _usage_line(doc)
        if usage_line:
            lines.append(usage_line)
    return "\n".join(lines)


# --------------------------------------------------------------------- HTML form


def _md_with_citations(src: str, cites: _Citations, numbers: dict[int, None]) -> str:
    html = r.markdown(src)
    if r.MARK_OPEN in html:
        for n in numbers:
            html = html.replace(f"{r.MARK_OPEN}{n}{r.MARK_CLOSE}", cites.sup(n))
    return html


def _content_html(content: Any, cites: _Citations) -> str:
    """Text and citation chunks flow together as one Markdown document; other chunks are blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return r.markdown(r.strip_markers(content))
    parts: list[str] = []
    buf: list[str] = []
    numbers: dict[int, None] = {}  # the citations in buf, in order
    for chunk in content:
        if isinstance(chunk, str):
            buf.append(r.strip_markers(chunk))
            continue
        items = chunk.__dict__ if _PLANS.get(type(chunk)) == _MODEL else _items(chunk)  # _items(), inlined
        t = items.get("type")
        t = str(t) if t else type(chunk).__name__  # _kind(), inlined
        if t == "text":
            text = items.get("text")
            buf.append(r.strip_markers(text if type(text) is str else str(_val(items, "text", ""))))
        elif t == "tool_reference":
            n = cites.add(chunk, items)
            numbers[n] = None
            gap = ""
            if buf:  # a marker glued to a closing code fence would turn the fence into text
                last = buf[-1]
                line = (last if "\n" in last else "".join(buf)).rpartition("\n")[2]
                if line.lstrip().startswith(("```", "~~~")):
                    gap = "\n"
            buf.append(f"{gap}{r.MARK_OPEN}{n}{r.MARK_CLOSE}")
        else:
            if buf:
                parts.append(_md_with_citations("".join(buf), cites, numbers))
                buf, numbers = [], {}
            parts.append(_chunk_html(chunk, view(chunk), t, cites))
    if buf:
        parts.append(_md_with_citations("".join(buf), cites, numbers))
    return "".join(parts)


def _chunk_html(chunk: Any, fields: Any, t: str, cites: _Citations) -> str:
    if t == "thinking":
        inner = _content_html(list(fields.get("thinking", [])), cites)
        return f'<details class="cb-think"><summary>thinking</summary>{inner}</details>'
    if t == "reference":
        ids = ", ".join(str(i) for i in fields.get("reference_ids", []))
        return f'<span class="cb-desc">[references {r.esc(ids)}]</span>'
    if t == "image_url":
        image = fields.get("image_url")
        url = image if isinstance(image, str) else field(image, "url")
        tag = r.img(url, cls="cb-img", alt="image")
        if tag:
            return f"<div>{tag}</div>"
        what = "inline image (data URL) not shown" if str(url).startswith("data:") else "image with an unsupported URL"
        return f'<div class="cb-chip">[{r.esc(what)}]</div>'
    if t == "document_url":
        url = fields.get("document_url")
        label = fields.get("document_name") or url or "document"
        return f'<div class="cb-chip">📄 {r.link(url, str(label))}</div>'
    if t == "tool_file":
        name = fields.get("file_name") or "file"
        ftype = fields.get("file_type")
        tool = fields.get("tool")
        meta = ", ".join(str(x) for x in (ftype, f"from {tool}" if tool else None) if x)
        return (
            f'<div class="cb-chip">📎 {r.esc(name)}'
            + (f' <span class="cb-desc">({r.esc(meta)})</span>' if meta else "")
            + f" <code>{r.esc(fields.get('file_id', ''))}</code></div>"
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


def _tool_html(fields: Any, doc: _Reading, running: bool) -> str:
    tkind, connector, tool, failed = doc.tool(fields)
    if tkind == "builtin":  # one of BUILTIN_TOOLS: nothing to escape
        head = f'<span class="cb-badge">built-in</span><code>{tool}</code>'
    else:
        owner = f"<b>{r.esc(connector)}</b> › " if connector else ""
        head = f'<span class="cb-badge">connector</span>{owner}<code>{r.esc(tool)}</code>'
    args = _val(fields, "arguments", "")
    body = r.json_block(args, blocks=doc.json) if args not in ("", "{}", {}) else ""
    info = fields.get("info")
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


def _entry_html(entry: Any, fields: Any, t: str, doc: _Reading, running: bool, who: str | None) -> str:
    if t == "message.output":
        label = f'<div class="cb-who">{r.esc(who)}</div>' if who else ""
        body = _content_html(fields.get("content") or None, doc.cites)
        return f'<div class="cb-msg">{label}<div class="cb-md">{body}</div></div>'
    if t == "tool.execution":
        return _tool_html(fields, doc, running)
    if t == "function.call":
        status = fields.get("confirmation_status")
        note = f"{status} confirmation" if status else None
        args = _val(fields, "arguments", "")
        return (
            f'<div class="cb-step cb-step--function"><span class="cb-badge">function</span>'
            f"<code>{r.esc(_val(fields, 'name', '?'))}</code>{_state_html(running, note=note)}"
            f"{r.json_block(args, blocks=doc.json) if args not in ('', {}) else ''}</div>"
        )
    if t == "agent.handoff":
        before = fields.get("previous_agent_name") or _val(fields, "previous_agent_id", "?")
        after = fields.get("next_agent_name") or fields.get("next_agent_id") or "…"
        return (
            f'<div class="cb-step cb-step--handoff"><span class="cb-badge">handoff</span>'
            f"{r.esc(before)} → <b>{r.esc(after)}</b>{_state_html(running)}</div>"
        )
    if t == "message.input":
        role = _val(fields, "role", "user")
        return (
            f'<div class="cb-msg"><div class="cb-who">{r.esc(role)}</div>'
            f'<div class="cb-md">{_content_html(fields.get("content") or None, doc.cites)}</div></div>'
        )
    if t == "function.result":
        return (
            '<div class="cb-step cb-step--function"><span class="cb-badge">function result</span>'
            f"{r.json_block(_val(fields, 'result', ''))}</div>"
        )
    return _unknown_html(t, entry)


def _sources_html(cites: _Citations) -> str:
    if not cites.items:
        return ""
    items = []
    for chunk in cites.items:
        title = str(chunk.get("title", "") or chunk.get("url", "") or "source")
        favicon = r.img(chunk.get("favicon"), cls="cb-favicon", size=16)
        desc = chunk.get("description")
        tool = chunk.get("tool")
        items.append(
            f"<li>{favicon}{r.link(chunk.get('url'), title)}"
            + (f' <span class="cb-desc">— {r.esc(desc)}</span>' if desc else "")
            + (f' <span class="cb-via">via {r.esc(tool)}</span>' if tool else "")
            + "</li>"
        )
    return f'<ol class="cb-sources">{"".join(items)}</ol>'


def _footer_html(doc: _Reading) -> str:
    spans = []
    response = doc.response
    conversation_id = field(response, "conversation_id")
    if conversation_id:
        spans.append(f"conversation <code>{r.esc(conversation_id)}</code>")
    who = doc.who()
    if who:
        spans.append(r.esc(who))
    if doc.usage is not None:
        prompt, completion, total, connector_tokens, counts = _usage_numbers(doc.usage)
        spans.append(f"{r.esc(total)} tokens ({r.esc(prompt)} prompt + {r.esc(completion)} completion)")
        if connector_tokens is not None or counts:
            detail = " (" + ", ".join(f"{r.esc(k)}: {r.esc(v)}" for k, v in counts) + ")" if counts else ""
            shown = connector_tokens if connector_tokens is not None else "?"
            spans.append(f"connector tokens {r.esc(shown)}{detail}")
    guardrails = field(response, "guardrails")
    if guardrails:
        spans.append(f"guardrails {r.esc(r.one_line(guardrails, 200))}")
    return '<div class="cb-foot">' + "".join(f"<span>{s}</span>" for s in spans) + "</div>" if spans else ""


def _forms(doc: _Reading, *, text: bool = True, html: bool = True) -> tuple[str, str]:
    """The text and HTML forms (each only if asked, else ""), from one pass over the entries. The HTML of an entry
    comes first: the text takes a tool's one-line arguments from its JSON block, and its citations from the HTML's."""
    running = doc.running
    messages = (f for f, t in zip(doc.fields, doc.kinds, strict=True) if t == "message.output")
    lines = [helper_text(f.get("content") or None) for f in messages] if text else []
    names = doc.names
    if html and len({str(a) for a, _ in doc.producers if a}) > 1:  # several agents: each message says whose it is
        whos = [names.get(str(a), str(a)) if a else None for a, _ in doc.producers]
    else:
        whos = [None] * len(doc.entries)
    body = ['<div class="cb-resp"><style>', r.CSS, "</style>"]  # one join makes the whole page: it is large
    if html and doc.status:
        body.append(f'<div class="cb-live">{r.esc(doc.status)}</div>')
    for i, (entry, fields, t, who) in enumerate(zip(doc.entries, doc.fields, doc.kinds, whos, strict=True)):
        active = i in running
        if html:
            body.append(_entry_html(entry, fields, t, doc, active, who))
        if text and t != "message.output":
            line = _entry_line(entry, fields, t, doc, active)
            if line is not None:
                lines.append(line)
    if not html:
        return _text_tail(doc, lines), ""
    if doc.error is not None:
        body.append(
            f'<div class="cb-banner"><b>stream error {r.esc(field(doc.error, "code", "?"))}</b>: '
            f"{r.esc(field(doc.error, 'message', ''))}</div>"
        )
    doc.cites_complete = True  # the entries numbered every citation, in order
    body.append(_sources_html(doc.cites))
    body.append(_footer_html(doc))
    body.append("</div>")
    return (_text_tail(doc, lines) if text else ""), "".join(body)


# ------------------------------------------------------------------- public API


def render_text(response: Any, *, running: Iterable[int] = (), status: str | None = None, error: Any = None) -> str:
    """The text/plain form of a response (what ``print`` shows).

    ``running`` (indexes of entries still in progress), ``status`` (a live
    status line) and ``error`` (a stream's error event) serve ``display_stream``.
    """
    return _forms(_Reading(_coerce(response), frozenset(running), status, error), html=False)[0]


def render_html(response: Any, *, running: Iterable[int] = (), status: str | None = None, error: Any = None) -> str:
    """The text/html form of a response: self-contained, scoped CSS, no external assets."""
    return _forms(_Reading(_coerce(response), frozenset(running), status, error), text=False)[1]


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

    def _reading(self) -> _Reading:
        return _Reading(self.response, self._running, self._status, self.error)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _forms(self._reading(), html=False)[0]
        return self._text

    @property
    def html(self) -> str:
        if self._html is None:
            self._html = _forms(self._reading(), text=False)[1]
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
        if self._text is None and self._html is None:  # both forms from one reading of the response
            self._text, self._html = _forms(self._reading())
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
