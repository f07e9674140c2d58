"""Widgets: a tool picker that builds a valid ``tools=[...]`` list, and a playground that sends it.

::

    picker = ToolPicker(client)          # check built-in tools and connectors, pick filters
    picker.tools                         # [{"type": "web_search"}, {"type": "connector", ...}]
    picker.observe(on_change, names="tools")

    Playground(client)                   # prompt, model, tools, stream, Run: the answer shows below

The picker lists the account's connectors (``client.beta.connectors.list()``)
and, for each connector checked, the names of its tools
(``client.beta.connectors.list_tools``), so filters use exact names. A filter
is one choice per connector (all tools, include or exclude), so the two can
never be sent together. A connector that takes OAuth gets a password field:
its token goes into ``tools`` (that is what the API needs) but is masked in
the preview and in every repr, and the field is emptied once read, so the
token is never shown, logged or saved with the notebook's widget state.

In replay mode every call is answered from the client's cassettes, at once, so
the widgets call the SDK synchronously. With a live client, requests run as
tasks on the kernel's event loop (the async SDK methods), so the kernel keeps
handling widget messages while the API answers; outside a running loop (a
script) they run synchronously.

The playground shows answers with the same renderers as ``display_response``
and ``display_stream`` (a :class:`RenderedResponse`, a stream folded by
``StreamAssembler``) and errors as :func:`explain` cards, written straight into
its ``ipywidgets.Output`` (``output.outputs``), which works from a click
handler, from a task and without a kernel alike.
"""

from __future__ import annotations

import asyncio
import copy
import html
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as W
import traitlets

from ._display import RenderedResponse
from ._display import read_field as field

__all__ = ["BUILTIN_CHOICES", "MASK", "Playground", "ToolPicker", "masked_tools"]

# The SDK's built-in tools a conversation can be given (``{"type": name}``).
BUILTIN_CHOICES = ("web_search", "web_search_premium", "code_interpreter", "image_generation")
MASK = "••••••"
FILTERS = (("all tools", "all"), ("include", "include"), ("exclude", "exclude"))
DEFAULT_MODELS = ("mistral-small-latest", "mistral-medium-latest", "mistral-large-latest")
MAX_PAGES = 20
STREAM_INTERVAL = 0.1

_CSS = """<style>
.cb-w-dim{color:var(--jp-ui-font-color2,#59636e);font-size:.9em}
.cb-w-note{color:var(--jp-warn-color0,#9a6700);font-size:.9em}
.cb-w-head{font-weight:600;margin:.4em 0 .1em}
.cb-w-badge{color:#fff;border-radius:3px;padding:0 .4em;font-weight:600}
.cb-tools-preview pre{margin:0;padding:.4em .6em;background:var(--jp-layout-color2,#f6f8fa);
 border-radius:4px;font-size:.85em;white-space:pre-wrap;max-height:30em;overflow:auto}
</style>"""


def _esc(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def masked_tools(tools: Iterable[dict]) -> list[dict]:
    """A copy of ``tools`` with every ``authorization.value`` (OAuth token) replaced by :data:`MASK`."""
    out = []
    for tool in tools:
        tool = copy.deepcopy(tool)
        auth = tool.get("authorization") if isinstance(tool, dict) else None
        if isinstance(auth, dict) and auth.get("value"):
            auth["value"] = MASK
        out.append(tool)
    return out


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _mode(client: Any) -> str:
    return getattr(getattr(client, "cookbook", None), "mode", "live")


def _short_error(error: BaseException) -> str:
    from ._explain import explain

    card = explain(error)
    first = (card.message or str(error)).splitlines()[0] if (card.message or str(error)) else ""
    return f"{card.title}: {first}" if first and first != card.title else card.title


class _Calls:
    """Runs an SDK call synchronously (replay, or no running loop) or as a task on the running loop (live)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def run(
        self,
        client: Any,
        sync: Callable[[], Any],
        async_: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> asyncio.Task | None:
        loop = _running_loop()
        if _mode(client) == "replay" or loop is None:
            try:
                result = sync()
            except Exception as error:
                failed(error)
            else:
                done(result)
            return None

        async def job() -> None:
            try:
                result = await async_()
            except Exception as error:
                failed(error)
            else:
                done(result)

        task = loop.create_task(job())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


# ----------------------------------------------------------------------- the tool picker


class _ConnectorRow:
    """One connector: a checkbox; when checked, its filter, its tool names and (OAuth) a token field."""

    def __init__(self, picker: ToolPicker, name: str, *, about: str = "", oauth: bool = False,
                 authenticated: bool = True, preflight: bool = False) -> None:
        self.picker = picker
        self.name = name
        self.preflight = preflight  # a server not registered yet: its names come from the preflight
        self.tools_loaded = False
        self.listed: list[str] = []
        self.source = ""
        self.token: str | None = None
        self._clearing = False
        self.check = W.Checkbox(value=False, description=name, indent=False, layout=W.Layout(width="auto"))
        self.about = W.HTML(f'<span class="cb-w-dim">{_esc(about)}</span>' if about else "")
        self.filter = W.ToggleButtons(options=FILTERS, value="all", style={"button_width": "6.5em"},
                                      tooltips=["every tool of the connector", "only the tools selected below",
                                                "every tool but those selected below"])
        self.names = W.SelectMultiple(options=[], rows=3, disabled=True,
                                      layout=W.Layout(width="22em", display="none"))  # shown once names are known
        self.hint = W.HTML('<span class="cb-w-dim">Ctrl-click (⌘-click on a Mac) selects several tools.</span>',
                           layout=W.Layout(display="none"))
        self.status = W.HTML()
        children: list[W.Widget] = [self.filter, self.names, self.hint, self.status]
        self.password: W.Password | None = None
        self.forget: W.Button | None = None
        if oauth:
            need = "" if authenticated else " (required: this connector is not connected to your account)"
            self.token_label = W.HTML(f'<span class="cb-w-dim">OAuth access token{_esc(need)}; never shown or '
                                      "saved</span>")
            self.password = W.Password(placeholder="paste the OAuth token, then press Enter",
                                       continuous_update=False, layout=W.Layout(width="22em"))
            self.password.add_class("cb-token")
            self.forget = W.Button(description="forget token", layout=W.Layout(width="auto", display="none"))
            self.password.observe(self._on_token, names="value")
            self.forget.on_click(lambda _: self.set_token(None))
            children.append(self.token_label)
            children.append(W.HBox([self.password, self.forget]))
        self.detail = W.VBox(children, layout=W.Layout(display="none", margin="0 0 .4em 1.6em"))
        self.box = W.VBox([W.HBox([self.check, self.about], layout=W.Layout(align_items="center")), self.detail])
        self.box.add_class("cb-connector")
        self.box.add_class(f"cb-connector-{''.join(c if c.isalnum() or c in '-_' else '_' for c in name)}")
        self.check.observe(self._on_check, names="value")
        self.filter.observe(self._on_filter, names="value")
        self.names.observe(lambda _: self.picker._changed(), names="value")

    # -- state ------------------------------------------------------------------

    def set_names(self, names: Sequence[str], *, source: str) -> None:
        """Fill the multi-select with the connector's tool names (keeping the selection)."""
        keep = [n for n in self.names.value if n not in names]
        options = [(n, n) for n in names] + [(f"{n} (not a listed tool)", n) for n in keep]
        selected = tuple(self.names.value)
        with self.picker._quiet():
            self.names.options = options
            self.names.rows = max(2, min(len(options), 6))
            self.names.value = selected
            self.names.layout.display = self.hint.layout.display = "" if options else "none"
        self.tools_loaded = True
        self.listed, self.source = list(names), source
        count = len(names)
        self.status.value = f'<span class="cb-w-dim">{count} tool{"s" if count != 1 else ""} ({_esc(source)})</span>'

    def select_names(self, names: Sequence[str]) -> None:
        options = [value for _, value in self.names.options]
        extra = [(f"{n} (not a listed tool)", n) for n in names if n not in options]
        with self.picker._quiet():
            if extra:
                self.names.options = list(self.names.options) + extra
                self.names.rows = max(2, min(len(self.names.options), 6))
                self.names.layout.display = self.hint.layout.display = ""
            self.names.value = tuple(names)

    def set_token(self, token: str | None) -> None:
        self.token = token or None
        if self.password is not None and self.forget is not None:
            self.password.placeholder = (
                f"token set ({MASK}); paste another to replace it" if self.token
                else "paste the OAuth token, then press Enter"
            )
            self.forget.layout.display = "" if self.token else "none"
        self.picker._changed()

    def tool(self) -> dict:
        spec: dict[str, Any] = {"type": "connector", "connector_id": self.name}
        names = list(self.names.value)
        if self.filter.value == "include" or (self.filter.value == "exclude" and names):  # exclude []: all tools
            spec["tool_configuration"] = {self.filter.value: names}
        if self.token:
            spec["authorization"] = {"type": "oauth2-token", "value": self.token}
        return spec

    # -- events -----------------------------------------------------------------

    def _on_check(self, change: dict) -> None:
        self.detail.layout.display = "" if change["new"] else "none"
        self.picker._selected(f"connector:{self.name}", change["new"])
        if change["new"] and not self.tools_loaded and not self.preflight:
            self.picker._load_tools(self)

    def _on_filter(self, change: dict) -> None:
        """include keeps the selected tools, exclude hides them: switching one for the other starts afresh."""
        self.names.disabled = change["new"] == "all"
        if {change["old"], change["new"]} == {"include", "exclude"} and self.names.value:
            with self.picker._quiet():
                self.names.value = ()
            self.status.value = (f'<span class="cb-w-note">Selection cleared: {change["new"]} '
                                 f'{"keeps only" if change["new"] == "include" else "hides"} the tools you select '
                                 "now.</span>")
        self.picker._changed()

    def _on_token(self, change: dict) -> None:
        if self._clearing or not change["new"]:
            return
        token = change["new"].strip()
        self._clearing = True
        try:  # the field is emptied at once: the token lives only in this object, never in widget state
            assert self.password is not None
            self.password.value = ""
        finally:
            self._clearing = False
        if token:
            self.set_token(token)


class ToolPicker(W.VBox):
    """Check built-in tools and connectors; ``.tools`` is the list to pass as ``tools=``.

    ``tools`` is a traitlet (not synced to the browser): ``picker.observe(callback,
    names="tools")`` calls ``callback`` with ``change["new"]`` whenever the list
    changes. ``tools=`` presets the picker from a list in the same shape.
    Entries keep the order in which they were checked (or preset).
    """

    tools = traitlets.List(help="The tools list to send, in the SDK's dict shape (tokens included).")

    def __init__(self, client: Any, *, tools: Sequence[dict] | None = None,
                 builtins: Sequence[str] = BUILTIN_CHOICES) -> None:
        self.client = client
        self._calls = _Calls()
        self._rows: dict[str, _ConnectorRow] = {}
        self._order: list[str] = []  # the selected entries, by rank
        self._rank: dict[str, int] = {}  # each entry's place in tools=: the preset's order, then first ticked
        self._hold = 0
        self._builtins = {
            name: W.Checkbox(value=False, description=name, indent=False, layout=W.Layout(width="auto"))
            for name in builtins
        }
        for name, box in self._builtins.items():
            box.observe(lambda change, key=f"builtin:{name}": self._selected(key, change["new"]), names="value")
        self.note = W.HTML()
        self.connectors = W.VBox([])
        self.preview = W.HTML()
        self.preview.add_class("cb-tools-preview")
        super().__init__([
            W.HTML(_CSS + '<div class="cb-w-head">Built-in tools</div>'),
            W.HBox(list(self._builtins.values()), layout=W.Layout(flex_flow="row wrap", grid_gap="0 1.2em")),
            W.HTML('<div class="cb-w-head">Connectors</div>'),
            self.connectors,
            self.note,
            W.HTML('<div class="cb-w-head">tools=</div>'),
            self.preview,
        ])
        self.add_class("cb-tool-picker")
        self._pending = list(tools or [])  # applied when the connectors are listed
        for tool in self._pending:
            self._check(tool)  # a preset the picker cannot show fails here, before any request
        self.reload()
        if self._pending:  # the listing failed, or comes later (live): show the preset now
            self.set_tools(self._pending)
            self._pending = []
        self._changed()

    # -- public -----------------------------------------------------------------

    @property
    def masked_tools(self) -> list[dict]:
        """``tools`` with OAuth tokens masked: what the preview shows."""
        return masked_tools(self.tools)

    @property
    def builtins(self) -> dict[str, W.Checkbox]:
        """The checkbox of each built-in tool, by name."""
        return dict(self._builtins)

    @property
    def connector_names(self) -> list[str]:
        return list(self._rows)

    def connector(self, name: str) -> _ConnectorRow:
        """The widgets of one connector: ``check``, ``filter``, ``names``, ``password`` (None without OAuth)."""
        try:
            return self._rows[name]
        except KeyError:
            raise KeyError(f"no connector {name!r} in the picker (it has: {', '.join(self._rows) or 'none'})") from None

    async def ready(self) -> None:
        """Wait for the connectors list and tool names still arriving (live mode lists them in the background)."""
        while self._calls.tasks:
            await asyncio.gather(*list(self._calls.tasks))

    def reload(self) -> asyncio.Task | None:
        """(Re)list the account's connectors; the current choices are kept where the connector still exists."""
        client = self.client

        def sync() -> list:
            return self._list(client, lambda **kw: client.beta.connectors.list(**kw))

        async def async_() -> list:
            items: list = []
            cursor = None
            for _ in range(MAX_PAGES):
                page = await (client.beta.connectors.list_async(cursor=cursor) if cursor
                              else client.beta.connectors.list_async())
                items += list(field(page, "items", []) or [])
                cursor = field(field(page, "pagination"), "next_cursor")
                if not cursor:
                    break
            return items

        return self._calls.run(client, sync, async_, self._connectors_listed, self._connectors_failed)

    def set_tools(self, tools: Sequence[dict]) -> None:
        """Check, filter and authorize exactly as ``tools`` says (built-in tools and connectors)."""
        for tool in tools:
            self._check(tool)
        with self._quiet():
            for box in self._builtins.values():
                box.value = False
            for row in self._rows.values():
                row.check.value = False
            self._order = []
            keys = [f"builtin:{t['type']}" if t["type"] in self._builtins else f"connector:{t['connector_id']}"
                    for t in tools]
            self._rank = {key: rank for rank, key in enumerate(dict.fromkeys(keys + list(self._rank)))}
            for tool in tools:
                kind = tool["type"]
                if kind in self._builtins:
                    self._builtins[kind].value = True
                    continue
                name = str(tool["connector_id"])
                row = self._rows.get(name) or self._add_row(name, about="not in the connectors list")
                config = tool.get("tool_configuration") or {}
                mode = next((m for m in ("include", "exclude") if config.get(m) is not None), "all")
                row.filter.value = mode
                if mode != "all":
                    row.select_names([str(n) for n in config[mode]])
                auth = tool.get("authorization")
                if isinstance(auth, dict) and auth.get("value"):
                    row.set_token(str(auth["value"]))
                row.check.value = True
        self._changed()

    def _check(self, tool: Any) -> None:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in self._builtins:
            return
        if kind != "connector" or not tool.get("connector_id"):
            shown = json.dumps(masked_tools([tool])[0]) if isinstance(tool, dict) else repr(tool)
            raise ValueError(f"the picker cannot show the tool {shown}: it offers "
                             f"{', '.join(self._builtins)} and connectors (type 'connector' with a connector_id)")
        config = tool.get("tool_configuration") or {}
        if config.get("include") is not None and config.get("exclude") is not None:
            raise ValueError(f"connector {tool['connector_id']!r}: tool_configuration sets both include and "
                             "exclude; the API takes one of them per connector")

    def add_preflight(self, name: str, info: Any, *, select: bool = True) -> None:
        """Offer connector ``name`` with the tool names of an MCP preflight (``inspect_mcp_server``).

        For a server not registered as a connector yet: pick include/exclude
        names from what the server itself lists, then register it under ``name``.
        """
        names = list(info.tool_names)
        url = getattr(info, "url", "")
        row = self._rows.get(name)
        if row is None:
            row = self._add_row(name, about=f"not registered yet · MCP server {url}", preflight=True)
        row.set_names(names, source=f"from an MCP preflight of {url}" if url else "from an MCP preflight")
        if select:
            row.check.value = True
        self._changed()

    def __repr__(self) -> str:
        chosen = [t.get("connector_id") or t.get("type") for t in self.tools]
        return f"ToolPicker({', '.join(str(c) for c in chosen) or 'no tools'})"

    # -- connectors ---------------------------------------------------------------

    @staticmethod
    def _list(client: Any, call: Callable[..., Any]) -> list:
        items: list = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = call(cursor=cursor) if cursor else call()
            items += list(field(page, "items", []) or [])
            cursor = field(field(page, "pagination"), "next_cursor")
            if not cursor:
                break
        return items

    def _add_row(self, name: str, **kwargs: Any) -> _ConnectorRow:
        row = _ConnectorRow(self, name, **kwargs)
        self._rows[name] = row
        self.connectors.children = [r.box for r in self._rows.values()]
        return row

    def _connectors_listed(self, items: list) -> None:
        current, self._pending = list(self.tools) or self._pending, []
        with self._quiet():
            old = self._rows
            keep = {n: r for n, r in old.items() if r.preflight}
            self._rows = {}
            for item in items:
                name = str(field(item, "name", "") or field(item, "id", ""))
                if not name:
                    continue
                methods = field(item, "supported_auth_methods", []) or []
                oauth = any(str(field(m, "method_type", "")) == "oauth2" for m in methods)
                title = field(item, "title")
                about = " · ".join(str(x) for x in (title, field(item, "description")) if x)
                row = self._rows[name] = _ConnectorRow(self, name, about=about, oauth=oauth,
                                                       authenticated=bool(field(item, "is_authenticated", True)))
                if name in old:  # what the old row already knew
                    if old[name].tools_loaded:
                        row.set_names(old[name].listed, source=old[name].source)
                    if old[name].token and row.password is not None:
                        row.set_token(old[name].token)
            for name, row in keep.items():
                self._rows.setdefault(name, row)
            self.connectors.children = [r.box for r in self._rows.values()]
            self.note.value = "" if items else '<span class="cb-w-dim">This account has no connectors yet.</span>'
        self.set_tools(current)  # the choices made so far, on the new rows

    def _connectors_failed(self, error: BaseException) -> None:
        from ._errors import ReplayMiss

        if isinstance(error, ReplayMiss):
            where = ", ".join(error.cassettes) or "the cassettes"
            text = (f"The account's connectors are not recorded in {where}: only built-in tools "
                    "(and connectors passed with tools=) are offered.")
        else:
            text = f"Could not list the connectors: {_short_error(error)}"
        self.note.value = f'<span class="cb-w-note">{_esc(text)}</span>'

    def _load_tools(self, row: _ConnectorRow) -> asyncio.Task | None:
        client = self.client
        row.status.value = '<span class="cb-w-dim">listing tools…</span>'

        def names_of(result: Any) -> list[str]:
            return [str(field(t, "name", "")) for t in (result or []) if field(t, "name", "")]

        def done(result: Any) -> None:
            row.set_names(names_of(result), source="list_tools")

        def failed(error: BaseException) -> None:
            from ._errors import ReplayMiss

            row.tools_loaded = False
            text = ("its tool list is not recorded in this cassette" if isinstance(error, ReplayMiss)
                    else _short_error(error))
            row.status.value = f'<span class="cb-w-note">Tool names unavailable: {_esc(text)}</span>'

        return self._calls.run(
            client,
            lambda: client.beta.connectors.list_tools(connector_id_or_name=row.name),
            lambda: client.beta.connectors.list_tools_async(connector_id_or_name=row.name),
            done,
            failed,
        )

    # -- the list -----------------------------------------------------------------

    def _selected(self, key: str, on: bool) -> None:
        """A tool ticked or unticked: ticked again, it takes its old place in tools= (a recorded request replays)."""
        self._rank.setdefault(key, len(self._rank))
        if on and key not in self._order:
            self._order = sorted([*self._order, key], key=self._rank.__getitem__)
        elif not on and key in self._order:
            self._order.remove(key)
        self._changed()

    def _quiet(self) -> Any:
        picker = self

        class Hold:
            def __enter__(self) -> None:
                picker._hold += 1

            def __exit__(self, *exc: Any) -> None:
                picker._hold -= 1

        return Hold()

    def _compute(self) -> list[dict]:
        out = []
        for key in self._order:
            kind, _, name = key.partition(":")
            if kind == "builtin":
                out.append({"type": name})
            elif name in self._rows:
                out.append(self._rows[name].tool())
        return out

    def _changed(self) -> None:
        if self._hold:
            return
        tools = self._compute()
        lines = json.dumps(masked_tools(tools), indent=2, ensure_ascii=False)
        warnings = [
            f"{t['connector_id']}: include lists no tool, so none of its tools is offered"
            for t in tools
            if t.get("tool_configuration", {}).get("include") == []
        ]
        self.preview.value = f"<pre>{_esc(lines)}</pre>" + "".join(
            f'<div class="cb-w-note">{_esc(w)}</div>' for w in warnings
        )
        self.tools = tools


# ------------------------------------------------------------------------- the playground


def _recorded(client: Any) -> list[tuple[str, str, list, bool]]:
    """``(prompt, model, tools, stream)`` of each answered conversation request in a replay client's cassettes."""
    from urllib.parse import urlsplit

    cassettes = getattr(getattr(getattr(client, "cookbook", None), "transport", None), "cassettes", None) or ()
    found: list[tuple[str, str, list, bool]] = []
    for cassette in cassettes:
        for request, response in cassette.data:
            if request.method != "POST" or urlsplit(request.uri).path != "/v1/conversations" or \
                    response["status"]["code"] >= 400:
                continue
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                continue
            inputs = body.get("inputs") if isinstance(body, dict) else None
            prompt = inputs[0].get("content") if isinstance(inputs, list) and inputs and \
                isinstance(inputs[0], dict) else inputs
            if isinstance(prompt, str) and isinstance(body.get("model"), str):
                found.append((prompt, body["model"], body.get("tools") or [], bool(body.get("stream"))))
    return found


def _comparable(tools: Sequence[dict]) -> list[dict]:
    """Tools as a recording holds them: any OAuth token replaced by the placeholder."""
    from ._cassette import PLACEHOLDER

    return [{**t, "authorization": {**t["authorization"], "value": PLACEHOLDER}} if isinstance(t.get(
        "authorization"), dict) else t for t in tools]


class Playground(W.VBox):
    """Prompt, model, tools and stream: Run sends the request and shows the answer (or an error card).

    In replay mode the recorded prompts are offered, so the playground runs
    without a key; an API key typed into its key field switches this
    playground, and only this one, to live mode.
    """

    def __init__(
        self,
        client: Any,
        *,
        prompt: str | None = None,
        model: str | None = None,
        tools: Sequence[dict] | None = None,
        stream: bool = False,
        models: Sequence[str] | None = None,
        server_url: str | None = None,
    ) -> None:
        self._client = client
        self._server_url = server_url
        self._calls = _Calls()
        self._busy = False
        self._clearing = False
        self.task: asyncio.Task | None = None

        self.recordings = _recorded(client) if _mode(client) == "replay" else []
        prompts = list(dict.fromkeys(p for p, _, _, _ in self.recordings))
        recorded_models = list(dict.fromkeys(m for _, m, _, _ in self.recordings))
        self.prompts = prompts
        self.recorded = W.Dropdown(
            options=prompts, value=prompt if prompt in prompts else (None if prompt else (prompts or [None])[0]),
            description="Recorded prompts", style={"description_width": "initial"},
            layout=W.Layout(width="100%", display="" if prompts else "none"),
        )
        self.recorded.add_class("cb-recorded")
        self.prompt = W.Textarea(
            value=prompt if prompt is not None else (prompts[0] if prompts else ""),
            placeholder="Ask something…", rows=3, layout=W.Layout(width="100%"),
        )
        self.prompt.add_class("cb-prompt")
        options = list(dict.fromkeys([*(models or []), *recorded_models, *(() if models else DEFAULT_MODELS)]))
        if model and model not in options:
            options.insert(0, model)
        self.model = W.Dropdown(options=options, value=model or options[0], description="Model",
                                layout=W.Layout(width="22em"))
        self.stream = W.Checkbox(value=stream, description="stream the answer", indent=False,
                                 layout=W.Layout(width="auto"))
        self.picker = ToolPicker(client, tools=tools)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("cb-run")
        self.status = W.HTML()
        self.output = W.Output(layout=W.Layout(width="100%"))
        self.output.add_class("cb-output")
        self.header = W.HTML()
        self.key = W.Password(placeholder="Mistral API key: sends this playground's requests to the API",
                              continuous_update=False, layout=W.Layout(width="30em"))
        self.key.add_class("cb-key")

        self.recorded.observe(self._on_recorded, names="value")
        self.key.observe(self._on_key, names="value")
        for widget in (self.model, self.stream, self.prompt):
            widget.observe(self._on_options, names="value")
        self.picker.observe(self._on_options, names="tools")
        self.run_button.on_click(lambda _: self.run())
        self._header()
        self._refresh_prompts()
        super().__init__([
            self.header,
            self.recorded,
            self.prompt,
            W.HBox([self.model, self.stream], layout=W.Layout(align_items="center", grid_gap="1.5em")),
            self.picker,
            W.HBox([self.run_button, self.status], layout=W.Layout(align_items="center", grid_gap="1em")),
            self.output,
            W.HBox([W.HTML('<span class="cb-w-dim">Live mode:</span>'), self.key],
                   layout=W.Layout(align_items="center", grid_gap=".6em")),
        ])
        self.add_class("cb-playground")

    # -- public -----------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client this playground sends with (a live one once a key was typed)."""
        return self._client

    @property
    def tools(self) -> list[dict]:
        return self.picker.tools

    def request(self) -> dict:
        """The keyword arguments of ``client.beta.conversations.start`` that Run sends."""
        kwargs: dict[str, Any] = {"model": self.model.value,
                                  "inputs": [{"role": "user", "content": self.prompt.value}]}
        if self.picker.tools:
            kwargs["tools"] = self.picker.tools
        return kwargs

    def run(self) -> asyncio.Task | None:
        """What the Run button does. With a live client in a running loop, returns the task."""
        if self._busy:
            return None
        if not self.prompt.value.strip():
            from ._explain import ErrorCard

            self._show(ErrorCard("Nothing to send", "EmptyPrompt", message="The prompt is empty.",
                                 fix="Type a prompt" + (", or pick a recorded one." if self.prompts else ".")))
            return None
        request, stream, client = self.request(), self.stream.value, self._client
        self._busy_state(True)
        started = time.monotonic()

        def done(rendered: Any) -> None:
            self._busy_state(False, f"{time.monotonic() - started:.1f} s · {_mode(client)}")

        def failed(error: BaseException) -> None:
            from ._explain import explain

            self._show(explain(error))
            self._busy_state(False, "failed")

        self.task = self._calls.run(
            client,
            lambda: self._start(client, request, stream),
            lambda: self._start_async(client, request, stream),
            done,
            failed,
        )
        return self.task

    def __repr__(self) -> str:
        info = getattr(self._client, "cookbook", None)
        where = ", ".join(getattr(info, "cassettes", ()) or ()) if _mode(self._client) == "replay" else ""
        return f"Playground({_mode(self._client)} mode{' · ' + where if where else ''})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget, and a static picture of it for pages that cannot run widgets (a report, GitHub)."""
        from . import _markup

        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = str(_markup.render(
            "playground.html.j2", mode=_mode(self._client), prompt=self.prompt.value, model=self.model.value,
            stream=self.stream.value, tools=json.dumps(masked_tools(self.picker.tools), indent=2, ensure_ascii=False)))
        return bundle

    # -- sending ------------------------------------------------------------------

    def _start(self, client: Any, request: dict, stream: bool) -> Any:
        conversations = client.beta.conversations
        if not stream:
            rendered = RenderedResponse(conversations.start(**request))
            self._show(rendered)
            return rendered
        events = conversations.start_stream(**request)
        view = self._live_view(events)
        try:
            for event in events:
                view.feed(event)
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()
        return self._finish(view)

    async def _start_async(self, client: Any, request: dict, stream: bool) -> Any:
        conversations = client.beta.conversations
        if not stream:
            rendered = RenderedResponse(await conversations.start_async(**request))
            self._show(rendered)
            return rendered
        events = await conversations.start_stream_async(**request)
        view = self._live_view(events)
        try:
            async for event in events:
                view.feed(event)
        finally:
            close = getattr(events, "aclose", None) or getattr(events, "close", None)
            if callable(close):
                result = close()
                if hasattr(result, "__await__"):
                    await result
        return self._finish(view)

    def _live_view(self, events: Any) -> Any:
        """The stream shown in this playground's output as it arrives (the same live view as display_stream)."""
        from ._client import context_of
        from ._stream import LiveView

        playground = self

        class InOutput:
            def update(self, rendered: RenderedResponse, live: bool) -> None:
                playground._show(rendered)

        return LiveView(InOutput(), context_of(events), interval=STREAM_INTERVAL)

    def _finish(self, view: Any) -> RenderedResponse:
        from ._explain import explain
        from ._stream import ResponseStreamError

        try:
            return view.finish()
        except ResponseStreamError as problem:
            self._show(problem.partial, explain(problem))
            return problem.partial

    def _show(self, *items: Any) -> None:
        self.output.outputs = tuple(
            {"output_type": "display_data", "data": item._repr_mimebundle_(), "metadata": {}} for item in items
        )

    def _busy_state(self, busy: bool, note: str = "") -> None:
        self._busy = busy
        self.run_button.disabled = busy
        self.run_button.description = "Running…" if busy else "Run"
        self.status.value = f'<span class="cb-w-dim">{_esc("waiting for the answer…" if busy else note)}</span>'

    # -- events -------------------------------------------------------------------

    def _on_recorded(self, change: dict) -> None:
        if change["new"]:
            self.prompt.value = change["new"]

    def _on_options(self, change: dict) -> None:
        """The request changed: the last answer no longer belongs to it, and other prompts may replay."""
        if self._busy:
            return
        self.output.outputs = ()
        self.status.value = ""
        if change["owner"] is not self.prompt:
            self._refresh_prompts()

    def _refresh_prompts(self) -> None:
        """Offer the recorded prompts that replay with the model, tools and stream choice set now."""
        if _mode(self._client) != "replay":
            self.recorded.layout.display = "none"
            return
        tools = _comparable(self.picker.tools)
        fitting = list(dict.fromkeys(p for p, model, recorded_tools, stream in self.recordings
                                     if model == self.model.value and recorded_tools == tools
                                     and stream == self.stream.value))
        current = self.prompt.value
        self.recorded.options = fitting
        self.recorded.value = current if current in fitting else None
        self.recorded.description = "Recorded prompts" if fitting else "No recorded prompt for these options"
        self.recorded.disabled = not fitting
        self.recorded.layout.display = "" if self.recordings else "none"

    def _on_key(self, change: dict) -> None:
        if self._clearing or not change["new"]:
            return
        key = change["new"].strip()
        self._clearing = True
        try:  # emptied at once: the key lives only in the new client, never in widget state
            self.key.value = ""
        finally:
            self._clearing = False
        if key:
            self._go_live(key)

    def _go_live(self, key: str) -> None:
        from ._client import make_client

        try:
            client = make_client("live", api_key=key, server_url=self._server_url)
        except Exception as error:
            from ._explain import explain

            self._show(explain(error))
            return
        self._client = client
        self.key.placeholder = "key set: this playground is live (paste another key to replace it)"
        self._header()
        self.picker.client = client
        self.picker.reload()

    def _header(self) -> None:
        mode = _mode(self._client)
        color = {"replay": "#2e7d32", "live": "#c62828", "record": "#ef6c00"}.get(mode, "#59636e")
        if mode == "replay":
            info = getattr(self._client, "cookbook", None)
            names = ", ".join(getattr(info, "cassettes", ()) or ())
            detail = (f"answers come from the recordings in {names}; pick a recorded prompt, or type an API key "
                      "below to ask anything")
        elif mode == "live":
            detail = "requests go to the Mistral API with your key (this playground only)"
        else:
            detail = "requests go to the Mistral API and are recorded"
        self.header.value = (
            f'{_CSS}<div><b>Playground</b> <span class="cb-w-badge" style="background:{color}">{_esc(mode)}</span> '
            f'<span class="cb-w-dim">{_esc(detail)}</span></div>'
        )
