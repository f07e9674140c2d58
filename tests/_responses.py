"""Builders for real SDK objects (parsed by the SDK's own models) and a mock-transport client."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

import httpx2
from mistralai.client import Mistral, models

CONVERSATION_ID = "conv_0196f2a1b2c3"


# ----------------------------------------------------------------- JSON builders


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def ref(title: str, url: str | None = None, *, tool: str = "web_search", **extra: Any) -> dict[str, Any]:
    chunk = {"type": "tool_reference", "tool": tool, "title": title, **extra}
    if url is not None:
        chunk["url"] = url
    return chunk


def message(content: Any, *, model: str = "mistral-small-latest", **extra: Any) -> dict[str, Any]:
    return {
        "object": "entry",
        "type": "message.output",
        "role": "assistant",
        "content": content,
        "model": model,
        **extra,
    }


def tool_execution(name: str, arguments: str = "{}", **extra: Any) -> dict[str, Any]:
    return {"object": "entry", "type": "tool.execution", "name": name, "arguments": arguments, **extra}


def function_call(name: str, arguments: Any, *, tool_call_id: str = "call_1", **extra: Any) -> dict[str, Any]:
    return {
        "object": "entry",
        "type": "function.call",
        "name": name,
        "arguments": arguments,
        "tool_call_id": tool_call_id,
        **extra,
    }


def handoff(previous: tuple[str, str], nxt: tuple[str, str]) -> dict[str, Any]:
    return {
        "object": "entry",
        "type": "agent.handoff",
        "previous_agent_id": previous[0],
        "previous_agent_name": previous[1],
        "next_agent_id": nxt[0],
        "next_agent_name": nxt[1],
    }


def usage(prompt: int = 12, completion: int = 30, **extra: Any) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion, **extra}


def response_json(*outputs: dict[str, Any], usage_: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "object": "conversation.response",
        "conversation_id": CONVERSATION_ID,
        "outputs": list(outputs),
        "usage": usage_ if usage_ is not None else usage(),
    }


def response(*outputs: dict[str, Any], usage_: dict[str, Any] | None = None) -> models.ConversationResponse:
    """A ConversationResponse validated by the SDK's own model, as the client would return it."""
    return models.ConversationResponse.model_validate(response_json(*outputs, usage_=usage_))


# ------------------------------------------------------- the recipe page's helper


def recipe_display_response(response) -> None:
    """The print helper from the recipe page, verbatim."""
    for output in response.outputs:
        if output.type == "message.output":
            content = output.content
            if isinstance(content, str):
                print(content)
            else:
                text = "".join(chunk.text if hasattr(chunk, "text") else str(chunk) for chunk in content)
                print(text)


def recipe_output(response) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        recipe_display_response(response)
    return out.getvalue()


# ------------------------------------------------------------- mock transport


def sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def mock_client(handler: Callable[[httpx2.Request], httpx2.Response]) -> Mistral:
    """A real SDK client whose requests, sync and async, are answered by ``handler``."""
    return Mistral(
        api_key="test",
        client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
    )


def stream_handler(events: list[dict[str, Any]], seen: list[httpx2.Request] | None = None):
    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))

    return handler


def error_handler(status: int, body: Any, headers: dict[str, str] | None = None):
    def handler(request: httpx2.Request) -> httpx2.Response:
        if isinstance(body, (dict, list)):
            return httpx2.Response(status, json=body, headers=headers)
        return httpx2.Response(status, text=body, headers={"content-type": "text/html", **(headers or {})})

    return handler


def api_error(message: str, *, type_: str = "invalid_request_error", code: str = "3000") -> dict[str, Any]:
    return {"object": "error", "message": message, "type": type_, "param": None, "code": code}


# ------------------------------------------------------------- a real IPython


@contextlib.contextmanager
def ipython_shell():
    """A real IPython shell whose display outputs and cell results are captured.

    Yields ``(shell, displays, results)``: ``displays`` receives what
    ``IPython.display.display`` publishes (with its ``update`` flag), ``results``
    what the shell shows for a cell's last expression. The shell is torn down
    afterwards, so later tests see no IPython.
    """
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        def __init__(self, shell):
            super().__init__(shell=shell)
            self.results: list[dict[str, Any]] = []

        def start_displayhook(self):
            pass

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self.results.append(format_dict)

        def finish_displayhook(self):
            pass

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.display_pub = CapturingDisplayPublisher()
    hook = Hook(shell)
    shell.displayhook = hook
    shell.display_trap.hook = hook
    try:
        yield shell, shell.display_pub.outputs, hook.results
    finally:
        InteractiveShell.clear_instance()
