"""Widgets: ``ToolPicker`` builds a valid ``tools=[...]`` list, ``Playground`` sends it and shows the answer.

Secrets typed in (an OAuth token, an API key) are read, then emptied from their field; tokens are masked wherever they
show. SDK calls run at once in replay mode or outside an event loop; live, in a worker thread awaited by a task on the
kernel's loop, so the kernel keeps handling widget messages.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import ipywidgets as W
import traitlets

from . import _markup
from ._cassette import PLACEHOLDER, answered_bodies
from ._client import context_of, make_client
from ._display import RenderedResponse
from ._display import read_field as field
from ._errors import ReplayMiss
from ._explain import ErrorCard, explain
from ._stream import LiveView, ResponseStreamError, StreamInterrupted
from ._tools import as_dict, check_tools, user_texts

__all__ = ["Playground", "ToolPicker", "masked_tools"]

# the built-in tools for which {"type": t} suffices (document_library needs library ids, mistral_mcp a server)
BUILTINS = ("web_search", "web_search_premium", "code_interpreter", "image_generation")
MASK = "••••••"
FILTERS = (("all tools", "all"), ("include", "include"), ("exclude", "exclude"))
FILTER_TIPS = ["every tool of the connector", "only the tools selected below", "every tool but those selected below"]
ASK_TOKEN = "paste the OAuth token, then press Enter"
DEFAULT_MODELS = ("mistral-small-latest", "mistral-medium-latest", "mistral-large-latest")


def _token(tool: dict) -> Any:
    auth = tool.get("authorization")
    return auth.get("value") if isinstance(auth, dict) else None


def masked_tools(tools: Sequence[dict], mask: str = MASK) -> list[dict]:
    """A copy of ``tools`` with every OAuth token (``authorization.value``) replaced by ``mask``."""
    return [{**tool, "authorization": {**tool["authorization"], "value": mask}} if _token(tool) else dict(tool)
            for tool in tools]


def _tools_json(tools: Sequence[dict]) -> str:
    return json.dumps(masked_tools(tools), indent=2, ensure_ascii=False)


def _html(template: str, **context: Any) -> str:
    return str(_markup.render(f"widgets-{template}.html.j2", **context))


def _line(text: str, *, warn: bool = False) -> str:
    return _html("line", text=text, warn=warn)


def _mode(client: Any) -> str:
    return getattr(getattr(client, "cookbook", None), "mode", "live")


def _short_error(error: BaseException) -> str:
    """An error in a few words, for a status line."""
    if isinstance(error, ReplayMiss):
        return f"not recorded in {', '.join(error.cassettes) or 'the cassettes'}"
    card = explain(error)
    first = card.message.partition("\n")[0]
    return f"{card.title}: {first}" if first and first != card.title else card.title


def _secret(placeholder: str, use: Callable[[str], None], *, width: str, css: str) -> W.Password:
    """A field whose text goes to ``use`` on Enter and is emptied at once: it never stays in widget state."""
    box = W.Password(placeholder=placeholder, continuous_update=False, layout=W.Layout(width=width)).add_class(css)

    def read(change: dict) -> None:
        value = change["new"].strip()
        if change["new"]:
            box.value = ""  # calls read again, with nothing to read
        if value:
            use(value)

    box.observe(read, names="value")
    return box


def _call(owner: Any, call: Callable[[Any], Any], done: Callable[[Any], None],
          failed: Callable[[BaseException], None]) -> asyncio.Task | None:
    """``done(call(owner.client))``, or ``failed(error)``: at once in replay mode or outside a running loop, else in
    a worker thread awaited by a task on the loop (returned, and kept in ``owner._tasks`` until it ends)."""
    client = owner.client

    def settle(result: Callable[[], Any]) -> None:
        try:
            value = result()
        except Exception as error:
            return failed(error)
        done(value)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None or _mode(client) == "replay":
        return settle(lambda: call(client))

    async def job() -> None:
        worker = asyncio.ensure_future(asyncio.to_thread(call, client))
        await asyncio.wait([worker])
        settle(worker.result)  # back on the loop

    task = loop.create_task(job())
    owner._tasks.add(task)
    task.add_done_callback(owner._tasks.discard)
    return task


# ----------------------------------------------------------------------- the tool picker


def _all_connectors(client: Any) -> list:
    """Every connector of the account, page after page (a cursor seen twice ends the listing)."""
    page, seen = client.beta.connectors.list(), set()
    items = list(field(page, "items", []))
    while (cursor := field(field(page, "pagination"), "next_cursor")) and cursor not in seen:
        seen.add(cursor)
        page = client.beta.connectors.list(cursor=cursor)
        items += field(page, "items", [])
    return items


class _Connector:
    """One connector: a checkbox; when checked, its filter, its tool names and (OAuth) a token field."""

    def __init__(self, picker: ToolPicker, name: str, *, about: str = "", oauth: bool = False,
                 authenticated: bool = True, preflight: bool = False) -> None:
        self.picker, self.name, self.preflight = picker, name, preflight  # preflight: not registered yet
        self.listed: list[str] | None = None  # the connector's tool names, once known
        self.token: str | None = None
        self.password = _secret(ASK_TOKEN, self.set_token, width="22em", css="cb-token") if oauth else None
        self.check = W.Checkbox(description=name, indent=False, layout=W.Layout(width="auto"))
        self.filter = W.ToggleButtons(options=FILTERS, style={"button_width": "6.5em"}, tooltips=FILTER_TIPS)
        self.names = W.SelectMultiple(rows=3, disabled=True, layout=W.Layout(width="22em", display="none"))
        self.hint = W.HTML(_line("Ctrl-click (⌘-click on a Mac) selects several tools."),
                           layout=W.Layout(display="none"))  # shown with the names, once they are known
        self.status = W.HTML()
        self.forget = W.Button(description="forget token", layout=W.Layout(width="auto", display="none"))
        self.detail = W.VBox([self.filter, self.names, self.hint, self.status],
                             layout=W.Layout(display="none", margin="0 0 .4em 1.6em"))
        if oauth:
            need = "" if authenticated else " (required: this connector is not connected to your account)"
            self.forget.on_click(lambda _: self.set_token(None))
            self.detail.children += (W.HTML(_line(f"OAuth access token{need}; never shown or saved")),
                                     W.HBox([self.password, self.forget]))
        self.box = W.VBox([W.HBox([self.check, W.HTML(_line(about))]), self.detail]).add_class("cb-connector")
        self.box.add_class("cb-connector-" + re.sub(r"[^\w-]", "_", name))
        self.check.observe(self._on_check, names="value")
        self.filter.observe(self._on_filter, names="value")
        self.names.observe(picker._changed, names="value")

    def set_names(self, names: Sequence[str], *, source: str) -> None:
        """The connector's tool names, offered in the multi-select (the selection is kept)."""
        self.listed = list(names)
        self.select(self.names.value)
        self.note(f"{len(names)} tool{'s' if len(names) != 1 else ''} ({source})")

    def note(self, text: str, *, warn: bool = False) -> None:
        self.status.value = _line(text, warn=warn)

    def select(self, names: Sequence[str]) -> None:
        """Select ``names``; one the connector does not list is offered too, marked."""
        listed = self.listed or []
        options = [(n, n) for n in listed] + [(f"{n} (not a listed tool)", n) for n in names if n not in listed]
        with self.picker._batch():
            self.names.options = options  # (selects nothing)
            self.names.value = tuple(names)
            self.names.rows = max(2, min(len(options), 6))
            self.names.layout.display = self.hint.layout.display = "" if options else "none"

    def set_token(self, token: str | None) -> None:
        self.token = token
        self.forget.layout.display = "" if token else "none"
        if self.password is not None:
            self.password.placeholder = f"token set ({MASK}); paste another to replace it" if token else ASK_TOKEN
        self.picker._changed()

    def apply(self, tool: dict) -> None:
        """Filter and authorize as ``tool`` (one entry of ``tools=``) says."""
        config = tool.get("tool_configuration") or {}
        self.filter.value = next((mode for mode in ("include", "exclude") if config.get(mode) is not None), "all")
        if self.filter.value != "all":
            self.select(config[self.filter.value])
        if _token(tool):
            self.set_token(_token(tool))

    def tool(self) -> dict:
        spec: dict[str, Any] = {"type": "connector", "connector_id": self.name}
        names = list(self.names.value)
        if self.filter.value == "include" or (self.filter.value == "exclude" and names):  # excluding none: all
            spec["tool_configuration"] = {self.filter.value: names}
        if self.token:
            spec["authorization"] = {"type": "oauth2-token", "value": self.token}
        return spec

    def _on_check(self, change: dict) -> None:
        self.detail.layout.display = "" if change["new"] else "none"
        self.picker._changed()
        if change["new"] and self.listed is None:
            self.picker._load_tools(self)

    def _on_filter(self, change: dict) -> None:
        """include keeps the selected tools, exclude hides them: switching one for the other starts afresh."""
        self.names.disabled = change["new"] == "all"
        if {change["old"], change["new"]} == {"include", "exclude"} and self.names.value:
            self.names.value = ()
            verb = "keeps only" if change["new"] == "include" else "hides"
            self.note(f"Selection cleared: {change['new']} {verb} the tools you select now.", warn=True)
        self.picker._changed()


class ToolPicker(W.VBox):
    """Check built-in tools and connectors; ``.tools`` is the list to pass as ``tools=``.

    ``tools`` is a traitlet (not synced to the browser): ``picker.observe(callback, names="tools")`` calls
    ``callback`` whenever the list changes. ``tools=`` presets the picker. Entries keep the order in which they
    were first checked (or preset): a tool unticked and ticked again takes its old place, so a recording replays.
    """

    tools = traitlets.List(help="The tools list to send, in the SDK's dict shape (tokens included).")

    def __init__(self, client: Any, *, tools: Sequence[Any] | None = None) -> None:
        self.client, self._tasks, self._hold = client, set(), 0
        self._rows: dict[str, _Connector] = {}
        self._order: list[str] = []  # "builtin:<type>" and "connector:<name>" in tools= order, unticked ones too
        self.builtins = {name: W.Checkbox(description=name, indent=False, layout=W.Layout(width="auto"))
                         for name in BUILTINS}
        for box in self.builtins.values():
            box.observe(self._changed, names="value")
        self.note, self.connectors = W.HTML(), W.VBox()
        self.preview = W.HTML().add_class("cb-tools-preview")
        super().__init__([
            W.HTML(_html("heading", title="Built-in tools", styled=True)),
            W.HBox(list(self.builtins.values()), layout=W.Layout(flex_flow="row wrap", grid_gap="0 1.2em")),
            W.HTML(_html("heading", title="Connectors")), self.connectors, self.note,
            W.HTML(_html("heading", title="tools=")), self.preview,
        ])
        self.add_class("cb-tool-picker")
        self.reload()
        self.set_tools(tools or [])  # kept when the connectors list comes later (live)

    @property
    def masked_tools(self) -> list[dict]:
        """``tools`` with OAuth tokens masked: what the preview shows."""
        return masked_tools(self.tools)

    @property
    def connector_names(self) -> list[str]:
        return list(self._rows)

    def connector(self, name: str) -> _Connector:
        """The widgets of one connector: ``check``, ``filter``, ``names``, ``password`` (None without OAuth)."""
        return self._rows[name]

    async def ready(self) -> None:
        """Wait for the connectors list and tool names still arriving (live mode lists them in the background)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)

    def reload(self) -> asyncio.Task | None:
        """(Re)list the account's connectors; the current choices are kept."""
        return _call(self, _all_connectors, self._listed, self._not_listed)

    def set_tools(self, tools: Sequence[Any]) -> None:
        """Check and filter as ``tools`` says, keeping a token set before that ``tools`` does not carry; a list the
        picker cannot show changes nothing."""
        check_tools(list(tools))
        tools = [as_dict(tool) for tool in tools]
        for tool in tools:
            if tool["type"] not in (*self.builtins, "connector"):
                raise ValueError(f"the picker cannot show the tool {json.dumps(masked_tools([tool])[0])}: it offers "
                                 f"{', '.join(self.builtins)} and connectors (type 'connector' with a connector_id)")
        keys = [f"connector:{t['connector_id']}" if t["type"] == "connector" else f"builtin:{t['type']}" for t in tools]
        with self._batch():
            self._order = list(dict.fromkeys(keys + self._order))
            for tool in tools:
                if tool["type"] == "connector":
                    self._row(tool["connector_id"], about="not in the connectors list").apply(tool)
            for name, box in self.builtins.items():
                box.value = f"builtin:{name}" in keys
            for name, row in self._rows.items():
                row.check.value = f"connector:{name}" in keys

    def add_preflight(self, name: str, info: Any, *, select: bool = True) -> None:
        """Offer connector ``name`` with the tool names of an MCP preflight (``inspect_mcp_server``): for a server
        not registered yet, pick include/exclude names from what it lists, then register it under ``name``."""
        url = getattr(info, "url", "")
        row = self._row(name, about=f"not registered yet · MCP server {url}", preflight=True)
        row.set_names(list(info.tool_names), source="from an MCP preflight" + (f" of {url}" if url else ""))
        if select:
            row.check.value = True

    def __repr__(self) -> str:
        chosen = [str(tool.get("connector_id") or tool["type"]) for tool in self.tools]
        return f"ToolPicker({', '.join(chosen) or 'no tools'})"

    def _row(self, name: str, **kwargs: Any) -> _Connector:
        """Connector ``name``'s row, made with ``kwargs`` when there is none yet."""
        if name not in self._rows:
            self._rows[name] = _Connector(self, name, **kwargs)
        return self._rows[name]

    def _listed(self, items: list) -> None:
        """A row for each listed connector (and each preflight), then the choices made so far on them."""
        current, rows = list(self.tools), self._rows
        with self._batch():
            self._rows = {}
            for item in items:
                methods = field(item, "supported_auth_methods", []) or []
                about = (field(item, "title"), field(item, "description"))
                name = str(field(item, "name", "") or field(item, "id", ""))
                self._rows[name] = _Connector(self, name, about=" · ".join(str(text) for text in about if text),
                                              oauth=any(str(field(m, "method_type", "")) == "oauth2" for m in methods),
                                              authenticated=bool(field(item, "is_authenticated", True)))
            for name, row in rows.items():
                if row.preflight:
                    self._rows.setdefault(name, row)
            self.note.value = "" if items else _line("This account has no connectors yet.")
            self.set_tools(current)

    def _not_listed(self, error: BaseException) -> None:
        self.note.value = _line(f"Could not list the connectors ({_short_error(error)}): only built-in tools and "
                                "connectors passed with tools= are offered.", warn=True)

    def _load_tools(self, row: _Connector) -> asyncio.Task | None:
        row.note("listing tools…")
        return _call(self, lambda client: client.beta.connectors.list_tools(connector_id_or_name=row.name),
                     lambda result: row.set_names([str(field(t, "name")) for t in result or [] if field(t, "name")],
                                                  source="list_tools"),
                     lambda error: row.note(f"Tool names unavailable: {_short_error(error)}", warn=True))

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """The changes made inside give observers one new ``tools`` list, not one per step."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
        self._changed()

    def _changed(self, _change: Any = None) -> None:
        """Show the rows and the preview, and set ``tools``, as the widgets say now."""
        if self._hold:
            return
        self.connectors.children = [row.box for row in self._rows.values()]
        chosen = {f"builtin:{name}": {"type": name} for name, box in self.builtins.items() if box.value}
        chosen.update((f"connector:{name}", row.tool()) for name, row in self._rows.items() if row.check.value)
        self._order += [key for key in chosen if key not in self._order]  # first checked: after the others
        tools = [chosen[key] for key in self._order if key in chosen]
        empty = [t["connector_id"] for t in tools if t.get("tool_configuration", {}).get("include") == []]
        self.preview.value = _html("preview", tools=_tools_json(tools), empty=empty)
        self.tools = tools


# ------------------------------------------------------------------------- the playground


def _recorded(client: Any) -> list[tuple[str, str, list, bool]]:
    """``(prompt, model, tools, stream)`` of each answered conversation request in a replay client's cassettes."""
    found = []
    for body in answered_bodies(client.cookbook.transport.cassettes):
        prompt = next((text for text in user_texts(body.get("inputs")) if isinstance(text, str)), None)
        if prompt is not None and isinstance(body.get("model"), str):  # an agent's prompt needs its agent
            found.append((prompt, body.get("model"), body.get("tools") or [], bool(body.get("stream"))))
    return found


class Playground(W.VBox):
    """Prompt, model, tools and stream: Run sends the request and shows the answer (or an error card).

    In replay mode the recorded prompts are offered, so the playground runs without a key; an API key typed into
    its key field switches this playground, and only this one, to live mode.
    """

    def __init__(self, client: Any, *, prompt: str | None = None, model: str | None = None,
                 tools: Sequence[dict] | None = None, stream: bool = False, server_url: str | None = None) -> None:
        self.client, self._server_url, self._tasks = client, server_url, set()
        self.task: asyncio.Task | None = None
        self.recordings = _recorded(client) if _mode(client) == "replay" else []
        self.recorded = W.Dropdown(style={"description_width": "initial"},
                                   layout=W.Layout(width="100%")).add_class("cb-recorded")
        self.prompt = W.Textarea(value=next(iter(self.prompts), "") if prompt is None else prompt, rows=3,
                                 placeholder="Ask something…", layout=W.Layout(width="100%")).add_class("cb-prompt")
        models = [model, *(recorded for _, recorded, _, _ in self.recordings), *DEFAULT_MODELS]
        self.model = W.Dropdown(options=list(dict.fromkeys(m for m in models if m)), description="Model",
                                layout=W.Layout(width="22em"))
        self.stream = W.Checkbox(value=stream, description="stream the answer", indent=False,
                                 layout=W.Layout(width="auto"))
        self.picker = ToolPicker(client, tools=tools)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play").add_class("cb-run")
        self.output = W.Output(layout=W.Layout(width="100%")).add_class("cb-output")
        self.status, self.header = W.HTML(), W.HTML()
        self.key = _secret("Mistral API key: sends this playground's requests to the API", self._go_live,
                           width="30em", css="cb-key")
        self.recorded.observe(self._on_recorded, names="value")
        for widget in (self.model, self.stream, self.prompt):
            widget.observe(self._on_options, names="value")
        self.picker.observe(self._on_options, names="tools")
        self.run_button.on_click(lambda _: self.run())
        self._refresh()
        row = W.Layout(align_items="center", grid_gap="1em")
        super().__init__([self.header, self.recorded, self.prompt, W.HBox([self.model, self.stream], layout=row),
                          self.picker, W.HBox([self.run_button, self.status], layout=row), self.output,
                          W.HBox([W.HTML(_line("Live mode:")), self.key], layout=row)])
        self.add_class("cb-playground")

    @property
    def tools(self) -> list[dict]:
        return self.picker.tools

    @property
    def prompts(self) -> list[str]:
        """The prompts recorded in the client's cassettes (none once live)."""
        return list(dict.fromkeys(prompt for prompt, _, _, _ in self.recordings))

    def request(self) -> dict:
        """The keyword arguments of ``client.beta.conversations.start`` that Run sends."""
        tools = {"tools": self.picker.tools} if self.picker.tools else {}
        return {"model": self.model.value, "inputs": [{"role": "user", "content": self.prompt.value}], **tools}

    def run(self) -> asyncio.Task | None:
        """What the Run button does. With a live client in a running loop, returns the task."""
        if self.run_button.disabled:  # a request is running
            return None
        if not self.prompt.value.strip():
            return self._show(ErrorCard("Nothing to send", "EmptyPrompt", message="The prompt is empty.",
                                        fix="Type a prompt" + (", or pick a recorded one." if self.prompts else ".")))
        request, stream, mode, started = self.request(), self.stream.value, _mode(self.client), time.monotonic()
        self._busy(True)
        self.task = _call(self, lambda client: self._ask(client, request, stream),
                          lambda _: self._busy(False, f"{time.monotonic() - started:.1f} s · {mode}"), self._failed)
        return self.task

    def __repr__(self) -> str:
        mode = _mode(self.client)
        return f"Playground({mode} mode{' · ' + ', '.join(self.client.cookbook.cassettes) if mode == 'replay' else ''})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget, and a static picture of it for pages that cannot run widgets (a report, GitHub)."""
        return {**super()._repr_mimebundle_(**kwargs), "text/html": str(_markup.render(
            "playground.html.j2", mode=_mode(self.client), prompt=self.prompt.value, model=self.model.value,
            stream=self.stream.value, tools=_tools_json(self.picker.tools)))}

    def _ask(self, client: Any, request: dict, stream: bool) -> None:
        if not stream:
            return self._show(RenderedResponse(client.beta.conversations.start(**request)))
        with client.beta.conversations.start_stream(**request) as events:
            view = LiveView(SimpleNamespace(update=lambda rendered, live: self._show(rendered)), context_of(events))
            with view.watching():
                for event in events:
                    view.feed(event)
        view.finish()  # a stream that ended in error raises, with what had arrived

    def _failed(self, error: BaseException) -> None:
        """An error card, under what had arrived of the answer when the error carries it."""
        partial = error.partial if isinstance(error, ResponseStreamError | StreamInterrupted) else None
        self._show(*([partial] if partial is not None else []), explain(error))
        self._busy(False, "failed")

    def _show(self, *items: Any) -> None:
        self.output.outputs = tuple({"output_type": "display_data", "data": item._repr_mimebundle_(), "metadata": {}}
                                    for item in items)

    def _busy(self, busy: bool, note: str = "") -> None:
        self.run_button.disabled = busy
        self.run_button.description = "Running…" if busy else "Run"
        self.status.value = _line("waiting for the answer…" if busy else note)

    def _on_recorded(self, change: dict) -> None:
        if change["new"]:
            self.prompt.value = change["new"]

    def _on_options(self, change: dict) -> None:
        """The request changed: the last answer no longer belongs to it, and other prompts may replay."""
        if self.run_button.disabled:
            return
        self.output.outputs = ()
        self.status.value = ""
        if change["owner"] is not self.prompt:
            self._refresh()

    def _refresh(self) -> None:
        """The mode line, and the recorded prompts that replay with the model, tools and stream choice set now."""
        cassettes = getattr(getattr(self.client, "cookbook", None), "cassettes", ())
        self.header.value = _html("header", mode=_mode(self.client), cassettes=", ".join(cassettes))
        wanted = (self.model.value, masked_tools(self.picker.tools, PLACEHOLDER), self.stream.value)
        fitting = list(dict.fromkeys(prompt for prompt, *options in self.recordings if tuple(options) == wanted))
        current = self.prompt.value
        self.recorded.value = None  # so that the new options select nothing by themselves
        self.recorded.options = fitting
        self.recorded.value = current if current in fitting else None
        self.recorded.description = "Recorded prompts" if fitting else "No recorded prompt for these options"
        self.recorded.disabled = not fitting
        self.recorded.layout.display = "" if self.recordings else "none"

    def _go_live(self, key: str) -> None:
        try:
            client = make_client("live", api_key=key, server_url=self._server_url)
        except Exception as error:
            return self._show(explain(error))
        self.client = self.picker.client = client
        self.recordings = []
        self.key.placeholder = "key set: this playground is live (paste another key to replace it)"
        self._refresh()
        self.picker.reload()
