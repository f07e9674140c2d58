"""display_stream: SDK event streams (sync and async, through the real SDK) render like the non-streamed response."""

from __future__ import annotations

import io
import json

import pytest
from _responses import (
    CONVERSATION_ID,
    function_call,
    handoff,
    ipython_shell,
    message,
    mock_client,
    ref,
    response,
    stream_handler,
    text,
    tool_execution,
    usage,
)

from cookbook._display import RenderedResponse, display_response
from cookbook._explain import explain
from cookbook._stream import ResponseStreamError, StreamAssembler, display_stream, display_stream_async

MODEL = "mistral-small-latest"


def render_text(resp) -> str:
    return RenderedResponse(resp).text


def render_html(resp) -> str:
    return RenderedResponse(resp).html
USAGE = usage(40, 25, connector_tokens=11, connectors={"my_deepwiki": 11})
ARGS = '{"repoName": "sqlite/sqlite", "question": "Where is the version defined?"}'
INFO = {"tool_call_result": "src/sqlite.h", "mcp_meta": {"isError": False}}


def started() -> dict:
    return {"type": "conversation.response.started", "conversation_id": CONVERSATION_ID}


def done(use: dict = USAGE) -> dict:
    return {"type": "conversation.response.done", "usage": use}


def delta(content, *, index: int, content_index: int = 0, msg_id: str = "msg_1", **extra) -> dict:
    return {
        "type": "message.output.delta",
        "id": msg_id,
        "output_index": index,
        "content_index": content_index,
        "content": content,
        "model": MODEL,
        "role": "assistant",
        **extra,
    }


# A stream with every kind of event, and the response the same request returns without streaming.
EVENTS = [
    started(),
    {"type": "agent.handoff.started", "id": "ho_1", "output_index": 0, "previous_agent_id": "ag_1",
     "previous_agent_name": "Router"},
    {"type": "agent.handoff.done", "id": "ho_1", "output_index": 0, "next_agent_id": "ag_2",
     "next_agent_name": "Researcher"},
    {"type": "tool.execution.started", "id": "te_1", "output_index": 1, "name": "web_search",
     "arguments": '{"query": "latest sqlite'},
    {"type": "tool.execution.delta", "id": "te_1", "output_index": 1, "name": "web_search",
     "arguments": ' release"}'},
    {"type": "tool.execution.done", "id": "te_1", "output_index": 1, "name": "web_search", "info": {"results": 3}},
    {"type": "tool.execution.started", "id": "te_2", "output_index": 2, "name": "ask_question", "arguments": ARGS},
    {"type": "tool.execution.done", "id": "te_2", "output_index": 2, "name": "ask_question", "info": INFO},
    delta({"type": "thinking", "thinking": [text("Two sources")]}, index=3, content_index=0),
    delta({"type": "thinking", "thinking": [text(" agree.")]}, index=3, content_index=0),
    delta("The latest release is ", index=3, content_index=1),
    delta("**3.45.1**", index=3, content_index=1),
    delta(ref("SQLite News", "https://sqlite.example/news", favicon="https://sqlite.example/f.ico"), index=3,
          content_index=2),
    delta("; the version lives in `src/sqlite.h`.", index=3, content_index=3),
    delta(ref("DeepWiki", None, tool="ask_question"), index=3, content_index=4),
    {"type": "function.call.delta", "id": "fc_1", "output_index": 4, "name": "notify", "tool_call_id": "call_1",
     "arguments": '{"channel": '},
    {"type": "function.call.delta", "id": "fc_1", "output_index": 4, "name": "notify", "tool_call_id": "call_1",
     "arguments": '"#releases"}', "confirmation_status": "pending"},
    done(),
]  # fmt: skip

EXPECTED = response(
    {**handoff(("ag_1", "Router"), ("ag_2", "Researcher")), "id": "ho_1"},
    tool_execution("web_search", '{"query": "latest sqlite release"}', id="te_1", info={"results": 3}),
    tool_execution("ask_question", ARGS, id="te_2", info=INFO),
    message(
        [
            {"type": "thinking", "thinking": [text("Two sources agree.")]},
            text("The latest release is **3.45.1**"),
            ref("SQLite News", "https://sqlite.example/news", favicon="https://sqlite.example/f.ico"),
            text("; the version lives in `src/sqlite.h`."),
            ref("DeepWiki", None, tool="ask_question"),
        ],
        id="msg_1",
    ),
    function_call(
        "notify", '{"channel": "#releases"}', tool_call_id="call_1", id="fc_1", confirmation_status="pending"
    ),
    usage_=USAGE,
)


def start_kwargs() -> dict:
    return {
        "model": MODEL,
        "inputs": [{"role": "user", "content": "Latest SQLite release, and where is the version defined?"}],
        "tools": [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}],
    }


# ------------------------------------------------------------- the real SDK


def test_sync_stream_through_the_sdk_renders_like_the_non_streamed_response():
    seen = []
    client = mock_client(stream_handler(EVENTS, seen))
    out = io.StringIO()
    result = display_stream(client.beta.conversations.start_stream(**start_kwargs()), out=out)
    assert json.loads(seen[0].content)["stream"] is True
    assert isinstance(result, RenderedResponse)
    assert result.response == EXPECTED
    assert result.text == render_text(EXPECTED)
    assert result.html == render_html(EXPECTED)
    # outside Jupyter: the text printed as it arrived, then the whole answer with its tool calls and sources
    assert out.getvalue().startswith("The latest release is **3.45.1**; the version lives in `src/sqlite.h`.")
    assert out.getvalue().endswith("\n" + render_text(EXPECTED) + "\n")
    assert result.conversation_id == CONVERSATION_ID


async def test_async_stream_through_the_sdk_renders_like_the_non_streamed_response():
    client = mock_client(stream_handler(EVENTS))
    stream = await client.beta.conversations.start_stream_async(**start_kwargs())
    result = await display_stream_async(stream, out=io.StringIO())
    assert result.response == EXPECTED
    assert result.text == render_text(EXPECTED)
    assert result.html == render_html(EXPECTED)


def test_plain_string_stream_assembles_a_string_content():
    events = [started(), delta("Paris", index=0), delta(" is the capital.", index=0), done(usage(5, 4))]
    result = display_stream(mock_client(stream_handler(events)).beta.conversations.start_stream(**start_kwargs()),
                            out=io.StringIO())  # fmt: skip
    assert result.response.outputs[0].content == "Paris is the capital."
    assert result.text == render_text(response(message("Paris is the capital.", id="msg_1"), usage_=usage(5, 4)))


def test_timestamps_and_ids_do_not_change_the_rendering():
    events = [
        started(),
        delta("Hi", index=0, created_at="2025-01-01T00:00:00Z", msg_id="msg_other"),
        done(usage(1, 1)),
    ]
    assembler = StreamAssembler()
    for event in events:
        assembler.feed(event)
    plain = response(message("Hi", created_at="2030-06-01T12:00:00Z", id="msg_x"), usage_=usage(1, 1))
    assert render_html(assembler.response()) == render_html(plain)
    assert render_text(assembler.response()) == render_text(plain)


# ------------------------------------------------------------------ assembly


def test_assembler_reports_running_tools_until_they_finish():
    assembler = StreamAssembler()
    for event in EVENTS[:4]:
        assembler.feed(event)
    assert assembler.running() == [1]
    live = assembler.rendered(live=True)
    assert "running web_search…" in live.html
    assert live.text.splitlines()[0] == "[running web_search…]"
    assert '[tool] web_search {"query": "latest sqlite (running…)' in live.text
    for event in EVENTS[4:6]:
        assembler.feed(event)
    assert assembler.running() == []


def test_unknown_stream_events_are_kept_and_shown():
    events = [started(), delta("Hi", index=0), {"type": "message.output.summary", "output_index": 1, "n": 2}, done()]
    assembler = StreamAssembler()
    assert [assembler.feed(e) for e in events][2] == "message.output.summary"
    rendered = assembler.rendered()
    assert '[message.output.summary] {"type": "message.output.summary", "output_index": 1, "n": 2}' in rendered.text
    assert '<small class="cb-badge">message.output.summary</small>' in rendered.html


def test_events_from_the_sdk_and_plain_dicts_assemble_the_same():
    from mistralai.client import models

    typed = StreamAssembler()
    raw = StreamAssembler()
    for event in EVENTS:
        typed.feed(models.ConversationEvents.model_validate({"event": event["type"], "data": event}))
        raw.feed({"event": event["type"], "data": event})
    assert typed.response() == raw.response() == EXPECTED


# ---------------------------------------------------------------- in Jupyter


def test_one_display_is_updated_in_place_and_ends_like_display_response():
    clock = iter(range(1000)).__next__  # every event is one second apart: no update is throttled away
    client = mock_client(stream_handler(EVENTS))
    with ipython_shell() as (shell, displays, results):
        shell.user_ns.update(display_stream=display_stream, client=client, kwargs=start_kwargs(), clock=clock)
        cell = shell.run_cell("display_stream(client.beta.conversations.start_stream(**kwargs), clock=clock)",
                              store_history=True)  # fmt: skip
        assert cell.success, cell.error_in_exec
        assert results == []  # the returned object is not shown a second time
        live, *updates, final = displays
        assert live["update"] is False and all(u["update"] for u in updates) and final["update"] is False
        assert {d["transient"]["display_id"] for d in [live, *updates]} == {live["transient"]["display_id"]}
        assert len(updates) == len(EVENTS) + 1  # one per event, then the live output is emptied
        assert any("running web_search…" in u["data"]["text/html"] for u in updates)
        assert any("running ask_question…" in u["data"]["text/html"] for u in updates)
        assert final["data"] == display_response(EXPECTED)._repr_mimebundle_()


def test_saved_outputs_equal_the_outputs_as_first_displayed():
    """nbval re-runs a notebook without applying display updates: both views must agree."""
    with ipython_shell() as (shell, displays, _):
        shell.user_ns.update(display_stream=display_stream, stream=iter(EVENTS))
        assert shell.run_cell("display_stream(stream)", store_history=True).success
    first_shown = [d["data"] for d in displays if not d["update"]]
    saved = []  # what Jupyter keeps: each display, with the updates to its id applied
    for d in displays:
        if d["update"]:
            index = next(i for i, (did, _) in enumerate(saved) if did == d["transient"]["display_id"])
            saved[index] = (saved[index][0], d["data"])
        else:
            saved.append(((d.get("transient") or {}).get("display_id"), d["data"]))
    assert [data for _, data in saved] == first_shown
    assert first_shown[0] == {"text/plain": ""}


def test_text_deltas_are_throttled_but_tool_events_are_not():
    events = [started()] + [delta(f"w{i} ", index=0) for i in range(50)] + [done()]
    with ipython_shell() as (shell, displays, _):
        shell.user_ns.update(display_stream=display_stream, stream=iter(events), clock=lambda: 0.0)
        assert shell.run_cell("display_stream(stream, clock=clock)", store_history=True).success
    # the clock never moves: "started" creates and fills the live output, no text delta updates it, "done" does;
    # then the live output is emptied and the final view displayed
    assert [d["update"] for d in displays] == [False, True, True, True, False]
    assert displays[-1]["data"]["text/plain"].startswith("w0 w1 ")


# ------------------------------------------------------------------- errors


def test_error_event_shows_what_arrived_then_raises():
    events = [started(), delta("Partial", index=0), {"type": "conversation.response.error", "message": "MCP server "
              "timed out", "code": 504}]  # fmt: skip
    out = io.StringIO()
    with pytest.raises(ResponseStreamError) as info:
        display_stream(mock_client(stream_handler(events)).beta.conversations.start_stream(**start_kwargs()), out=out)
    assert info.value.code == 504
    assert info.value.partial.text.splitlines()[0] == "Partial"
    assert "[error] 504: MCP server timed out" in out.getvalue()
    assert "<b>stream error:</b> 504: MCP server timed out" in info.value.partial.html
    card = explain(info.value)
    assert card.status == 504 and card.message == "MCP server timed out" and card.fix


def test_sync_display_stream_refuses_an_async_stream():
    class AsyncOnly:
        def __aiter__(self):
            return self

        async def __anext__(self):
            raise StopAsyncIteration

    with pytest.raises(TypeError, match="display_stream_async"):
        display_stream(AsyncOnly())


def test_a_non_streamed_response_is_simply_displayed(capsys):
    result = display_stream(EXPECTED)
    assert result.text == render_text(EXPECTED)
    assert capsys.readouterr().out == result.text + "\n"


# ------------------------------------------------------- as the API streams tool calls


def tool_event(kind: str, call: str, index: int, **fields) -> dict:
    return {"type": f"tool.execution.{kind}", "id": call, "output_index": index, "model": MODEL, **fields}


def test_tool_arguments_arrive_in_pieces_and_parallel_calls_each_assemble():
    name_a, name_b = "my_deepwiki_read_wiki_structure", "my_deepwiki_ask_question"
    events = [
        started(),
        tool_event("started", "te_a", 0, name=name_a, function=name_a, arguments=""),
        tool_event("delta", "te_a", 0, name=name_a, function=name_a, arguments='{"repo'),
        tool_event("started", "te_b", 1, name=name_b, function=name_b, arguments=""),
        tool_event("delta", "te_b", 1, name=name_b, function=name_b, arguments='{"question": "x"'),
        tool_event("delta", "te_a", 0, name=name_a, function=name_a, arguments='Name": "sqlite/sqlite"}'),
        tool_event("delta", "te_b", 1, name=name_b, function=name_b, arguments="}"),
        tool_event("done", "te_a", 0, name=name_a, function=name_a, info={}),
        tool_event("done", "te_b", 1, name=name_b, function=name_b, info={}),
        delta(" Two", index=2), delta(" answers", index=2), delta(".", index=2),
        done(),
    ]
    assembler = StreamAssembler()
    running = []
    for event in events:
        assembler.feed(event)
        running.append(assembler.running())
    assert running[3] == [0, 1] and running[7] == [1] and running[8] == []  # both ran at once
    outputs = assembler.response().outputs
    assert [(o.name, json.loads(o.arguments)) for o in outputs[:2]] == [
        (name_a, {"repoName": "sqlite/sqlite"}), (name_b, {"question": "x"})]
    assert outputs[2].content == " Two answers."
    from cookbook._display import RequestContext

    text = assembler.rendered(RequestContext(connectors=("my_deepwiki",))).text
    assert text.splitlines()[:3] == ['[connector my_deepwiki] read_wiki_structure {"repoName": "sqlite/sqlite"}',
                                     '[connector my_deepwiki] ask_question {"question": "x"}', " Two answers."]


def test_a_replayed_stream_shows_its_provenance_and_its_connector(clean_env):
    from cookbook import make_client

    client = make_client("replay", cassette="02_web_search")
    stream = client.beta.conversations.start_stream(
        model=MODEL, inputs=[{"role": "user", "content": "What is the current weather in Paris? Use web search."}],
        tools=[{"type": "web_search"}])
    result = display_stream(stream, out=io.StringIO())
    assert result.text.splitlines()[-1].endswith("authored example, shaped like public captures of the API")
