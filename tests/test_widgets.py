"""The tool picker and the playground, driven from Python: set values, click, read ``.tools`` and the output.

Replay clients answer from the bundled cassettes (sockets refused); the live
tests talk to the local fake API on 127.0.0.1, never to Mistral.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets as W
import pytest
from recipes import BY_SLUG
from test_cassette_schema import check_interaction

from cookbook import McpServerInfo, McpTool, Playground, RenderedResponse, ToolPicker, make_client
from cookbook._cassette import BUNDLED_DIR, loads, recorded_prompts
from cookbook._tools import BUILT_IN_TOOLS
from cookbook._widgets import BUILTINS

HOSTILE = Path(__file__).parent / "fixtures" / "cassettes" / "hostile.yaml"
DEEPWIKI_TOOLS = ["ask_question", "read_wiki_contents", "read_wiki_structure"]
TOKEN = "test-oauth-token-that-must-never-show"
KEY = "test-api-key-that-must-never-show"
INCLUDE_ASK = [
    {"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": {"include": ["ask_question"]}},
]


def widgets_in(root: W.Widget) -> list[W.Widget]:
    """Every widget under ``root`` (hidden ones included)."""
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        found.append(widget)
        todo.extend(getattr(widget, "children", ()) or ())
    return found


def everything_shown(root: W.Widget) -> str:
    """All that reaches the browser or a repr: the synced state of every widget, and their reprs."""
    parts = []
    for widget in widgets_in(root):
        parts.append(json.dumps(widget.get_state(), default=str, ensure_ascii=False))
        parts.append(repr(widget))
        parts.append(json.dumps(widget._repr_mimebundle_(), default=str, ensure_ascii=False))
    return "\n".join(parts)


def parsed_tags(markup: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every start tag in ``markup`` with its attributes, as a browser's parser sees them."""
    tags: list[tuple[str, list[tuple[str, str]]]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, [(name, value or "") for name, value in attrs]))

    Parser().feed(markup)
    return tags


def shown_text(playground: Playground) -> str:
    return "\n".join(o["data"].get("text/plain", "") for o in playground.output.outputs)


def shown_html(playground: Playground) -> str:
    return "\n".join(o["data"].get("text/html", "") for o in playground.output.outputs)


@pytest.fixture
def replay04(no_network):
    return make_client("replay", cassette="04_multiple_tools")


@pytest.fixture
def replay05(no_network):
    return make_client("replay", cassette="05_tool_filters")


# --------------------------------------------------------------------------- the picker


def test_the_picker_offers_the_builtin_tools_and_the_recorded_connectors(replay04):
    picker = ToolPicker(replay04)
    assert list(picker.builtins) == ["web_search", "web_search_premium", "code_interpreter", "image_generation"]
    assert picker.connector_names == ["my_deepwiki", "gmail"]
    assert picker.connector("gmail").password is not None  # gmail takes OAuth (oauth2 in the recorded list)
    assert picker.connector("my_deepwiki").password is None
    assert picker.tools == [] and "[]" in picker.preview.value


def test_the_pickers_checkboxes_are_built_in_tools():
    assert BUILTINS and set(BUILTINS) <= set(BUILT_IN_TOOLS)


def test_checked_tools_are_the_list_the_sdk_sends_and_the_recording_answers(replay04):
    picker = ToolPicker(replay04)
    picker.builtins["web_search"].value = True
    picker.connector("my_deepwiki").check.value = True
    assert picker.tools == [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}]
    response = replay04.beta.conversations.start(
        model="mistral-small-latest", inputs=[{"role": "user", "content": BY_SLUG["04_multiple_tools"]["prompts"][0]}],
        tools=picker.tools)
    assert response.outputs[0].content.startswith("I have access to the following tools:")


def test_entries_keep_the_order_they_were_checked_in(replay04):
    picker = ToolPicker(replay04)
    picker.connector("my_deepwiki").check.value = True
    picker.builtins["code_interpreter"].value = True
    picker.builtins["web_search"].value = True
    picker.builtins["code_interpreter"].value = False
    assert [t.get("connector_id") or t["type"] for t in picker.tools] == ["my_deepwiki", "web_search"]


def test_tool_names_come_from_list_tools_when_the_connector_is_checked(replay04):
    picker = ToolPicker(replay04)
    row = picker.connector("my_deepwiki")
    assert not any("/tools" in s.path for s in replay04.cookbook.sent)  # listed only when needed
    row.check.value = True
    assert [value for _, value in row.names.options] == DEEPWIKI_TOOLS
    assert [s.path.split("?")[0] for s in replay04.cookbook.sent][-1] == "/v1/connectors/my_deepwiki/tools"
    assert row.names.disabled  # "all tools": nothing to pick


def test_include_and_exclude_are_one_choice_so_both_can_never_be_sent(replay04):
    picker = ToolPicker(replay04)
    row = picker.connector("my_deepwiki")
    row.check.value = True
    assert isinstance(row.filter, W.ToggleButtons)
    assert [value for _, value in row.filter.options] == ["all", "include", "exclude"]
    row.filter.value = "include"
    row.names.value = ("ask_question",)
    assert picker.tools == INCLUDE_ASK
    row.filter.value = "exclude"  # the selection meant "keep these": under exclude it would mean the opposite
    assert row.names.value == () and "Selection cleared" in row.status.value
    assert picker.tools == [{"type": "connector", "connector_id": "my_deepwiki"}]  # excluding nothing: all tools
    row.names.value = ("ask_question",)
    assert picker.tools[0]["tool_configuration"] == {"exclude": ["ask_question"]}
    row.names.value = ("ask_question",)
    row.filter.value = "all"
    assert picker.tools == [{"type": "connector", "connector_id": "my_deepwiki"}]
    with pytest.raises(ValueError, match="both include and exclude"):
        picker.set_tools([{"type": "connector", "connector_id": "my_deepwiki",
                           "tool_configuration": {"include": ["ask_question"], "exclude": ["read_wiki_structure"]}}])
    assert picker.tools == [{"type": "connector", "connector_id": "my_deepwiki"}]  # refused whole, nothing changed


def test_an_include_with_no_tool_is_flagged_in_the_preview(replay04):
    picker = ToolPicker(replay04)
    row = picker.connector("my_deepwiki")
    row.check.value = True
    row.filter.value = "include"
    assert picker.tools[0]["tool_configuration"] == {"include": []}
    assert "include lists no tool" in picker.preview.value


def test_observers_fire_when_the_list_changes_and_only_then(replay04):
    picker = ToolPicker(replay04)
    seen = []
    picker.observe(lambda change: seen.append(change["new"]), names="tools")
    picker.builtins["web_search"].value = True
    picker.builtins["web_search"].value = True  # no change
    row = picker.connector("my_deepwiki")
    row.filter.value = "include"  # unchecked connector: the list stays the same
    row.check.value = True
    row.names.value = ("ask_question",)
    assert seen == [[{"type": "web_search"}],
                    [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki",
                                              "tool_configuration": {"include": []}}],
                    [{"type": "web_search"}, *INCLUDE_ASK]]


def test_a_preset_list_is_shown_and_given_back_unchanged(replay05):
    picker = ToolPicker(replay05, tools=INCLUDE_ASK)
    assert picker.tools == INCLUDE_ASK
    row = picker.connector("my_deepwiki")
    assert row.check.value and row.filter.value == "include" and row.names.value == ("ask_question",)
    assert json.loads(html.unescape(re.sub(r"<[^>]+>", "", picker.preview.value))) == INCLUDE_ASK
    with pytest.raises(ValueError, match="cannot show the tool"):
        ToolPicker(replay05, tools=[{"type": "function", "function": {"name": "f"}}])


def test_a_name_the_connector_does_not_list_is_kept_and_marked(replay05):
    picker = ToolPicker(replay05, tools=[{"type": "connector", "connector_id": "my_deepwiki",
                                          "tool_configuration": {"include": ["read_wiki_structur"]}}])
    labels = dict((value, label) for label, value in picker.connector("my_deepwiki").names.options)
    assert labels["read_wiki_structur"] == "read_wiki_structur (not a listed tool)"
    assert picker.tools[0]["tool_configuration"] == {"include": ["read_wiki_structur"]}


def test_an_oauth_token_is_sent_but_never_shown(replay04):
    picker = ToolPicker(replay04)
    gmail = picker.connector("gmail")
    gmail.check.value = True
    gmail.password.value = TOKEN  # what typing it and pressing Enter does
    assert picker.tools == [{"type": "connector", "connector_id": "gmail",
                             "authorization": {"type": "oauth2-token", "value": TOKEN}}]
    assert gmail.password.value == ""  # read, then emptied: not in the widget state the browser (or a save) keeps
    assert picker.masked_tools[0]["authorization"]["value"] == "••••••"
    assert "••••••" in picker.preview.value
    assert TOKEN not in everything_shown(picker)
    gmail.forget.click()
    assert "authorization" not in picker.tools[0]


def test_a_token_in_a_preset_list_is_masked_and_the_playground_never_shows_it(no_network):
    client = make_client("replay", cassette="07_oauth_gmail")
    tools = [{"type": "connector", "connector_id": "gmail", "authorization": {"type": "oauth2-token", "value": TOKEN}}]
    playground = Playground(client, tools=tools)
    assert playground.tools == tools
    playground.run_button.click()
    assert "Ada Lovelace" in shown_text(playground)  # the token went out (recordings match it scrubbed)
    playground.prompt.value = "Not a recorded prompt"
    playground.run_button.click()
    assert "No recording for this request" in shown_text(playground)
    assert TOKEN not in everything_shown(playground)


def test_the_picker_takes_tool_names_from_an_mcp_preflight_for_an_unregistered_server(no_network):
    from cookbook import inspect_mcp_server_sync

    replay03 = make_client("replay", cassette="03_custom_connector")
    info = inspect_mcp_server_sync("https://mcp.deepwiki.com/mcp", client=replay03)
    assert isinstance(info, McpServerInfo) and info.tool_names == DEEPWIKI_TOOLS
    picker = ToolPicker(replay03)  # 03 records no connectors list: built-in tools only, and a note
    assert "not recorded" in picker.note.value
    picker.add_preflight("deepwiki_to_be", info)
    row = picker.connector("deepwiki_to_be")
    assert [value for _, value in row.names.options] == DEEPWIKI_TOOLS and row.check.value
    row.filter.value = "exclude"
    row.names.value = ("read_wiki_structure",)
    assert picker.tools == [{"type": "connector", "connector_id": "deepwiki_to_be",
                             "tool_configuration": {"exclude": ["read_wiki_structure"]}}]
    assert not any("deepwiki_to_be" in s.path for s in replay03.cookbook.sent)  # not asked for: not registered


def test_a_handmade_preflight_result_works_too(replay05):
    info = McpServerInfo("https://mcp.example.com/mcp", "example", "1", "2025-11-25",
                         [McpTool("search"), McpTool("fetch")])
    picker = ToolPicker(replay05)
    picker.add_preflight("example", info, select=False)
    assert picker.tools == [] and "example" in picker.connector_names


# --------------------------------------------------------------------------- the playground


def test_the_playground_offers_the_recorded_prompts_and_answers_them(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    recipe = BY_SLUG["05_tool_filters"]
    assert list(playground.recorded.options) == recorded_prompts("05_tool_filters")
    assert list(playground.recorded.options) == recipe["prompts"] + recipe["alternative_prompts"]
    assert playground.prompt.value == recipe["prompts"][0]
    playground.recorded.value = recipe["alternative_prompts"][0]
    assert playground.prompt.value == recipe["alternative_prompts"][0]
    playground.run_button.click()
    assert shown_text(playground).startswith("No — my only tool is `ask_question`.")
    assert playground.request()["tools"] == INCLUDE_ASK


def test_an_answer_shows_exactly_as_display_response_shows_it(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    playground.run_button.click()
    expected = make_client("replay", cassette="05_tool_filters").beta.conversations.start(**playground.request())
    (output,) = playground.output.outputs
    assert output["output_type"] == "display_data"
    assert output["data"] == RenderedResponse(expected)._repr_mimebundle_()
    assert "I have access to: ask_question" in output["data"]["text/html"]


def test_a_streamed_answer_ends_like_the_plain_one(no_network):
    client = make_client("replay", cassette="02_web_search")
    playground = Playground(client, tools=[{"type": "web_search"}])
    playground.run_button.click()
    plain = shown_text(playground)
    playground.stream.value = True
    playground.run_button.click()
    assert shown_text(playground) == plain
    assert "[tool] web_search" in plain and "Right now in Paris it is 7°C" in plain
    assert [s.body["stream"] for s in client.cookbook.sent if s.path.startswith("/v1/conv")] == [False, True]


def test_an_api_error_shows_an_error_card_not_a_traceback(replay05):
    playground = Playground(replay05, tools=[{"type": "connector", "connector_id": "my_deepwiki",
                                              "tool_configuration": {"include": ["read_wiki_structur"]}}])
    playground.run_button.click()  # the recorded 422: does not raise
    text = shown_text(playground)
    assert text.startswith("422 Unprocessable Entity") and "read_wiki_structur" in text
    assert "Traceback" not in text and 'class="cb-card' in shown_html(playground)
    assert not playground.run_button.disabled and "failed" in playground.status.value


def test_an_unrecorded_request_shows_the_replay_card(replay05):
    playground = Playground(replay05)  # no tools: the recordings all have a filtered connector
    playground.run_button.click()
    text = shown_text(playground)
    assert text.startswith("No recording for this request (ReplayMiss)")
    assert "tool_configuration" in text  # the diff to the nearest recording says what differs


def test_an_empty_prompt_is_not_sent(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    playground.prompt.value = "  "
    sent = len(replay05.cookbook.sent)
    playground.run_button.click()
    assert shown_text(playground).startswith("Nothing to send") and len(replay05.cookbook.sent) == sent


def test_run_is_disabled_while_a_request_runs(replay05, monkeypatch):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    conversations = playground.client.beta.conversations
    original = conversations.start
    seen = []

    def start(**kwargs):
        seen.append((playground.run_button.disabled, playground.run_button.description))
        assert playground.run() is None  # a second Run while one is running does nothing
        return original(**kwargs)

    monkeypatch.setattr(conversations, "start", start)
    playground.run_button.click()
    assert seen == [(True, "Running…")]
    assert not playground.run_button.disabled and playground.run_button.description == "Run"
    assert "I have access to: ask_question" in shown_text(playground)


def test_the_playground_shows_as_one_stable_line_of_text(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    assert playground._repr_mimebundle_()["text/plain"] == "Playground(replay mode · 05_tool_filters)"
    assert repr(playground.picker) == "ToolPicker(my_deepwiki)"


def test_model_text_and_server_names_never_become_markup(no_network):
    client = make_client("replay", cassette=str(HOSTILE))
    playground = Playground(client, tools=[{"type": "web_search"}])
    assert playground.prompts == ["Show me the hostile report."]
    playground.picker.connector("hostile_connector").check.value = True
    playground.picker.connector("hostile_connector").filter.value = "include"
    playground.picker.connector("hostile_connector").check.value = False
    playground.run_button.click()
    html_parts = [shown_html(playground)] + [w.value for w in widgets_in(playground) if isinstance(w, W.HTML)]
    markup = "\n".join(html_parts)
    assert "&lt;script&gt;window.__pwned=1" in markup and "javascript:window.__pwned=1" in markup  # as text
    tags = parsed_tags(markup)
    assert {tag for tag, _ in tags} <= {"div", "span", "style", "b", "i", "p", "code", "pre", "sup", "ol", "ul", "li",
                                        "a", "details", "summary", "dl", "dt", "dd", "em", "strong", "br", "small"}
    attributes = [(name, value) for _, attrs in tags for name, value in attrs]
    assert not [name for name, _ in attributes if name.startswith("on")]
    assert all(value.startswith(("http://", "https://")) for name, value in attributes if name in ("href", "src"))


def test_the_hostile_cassette_is_what_the_sdk_sends_and_accepts():
    data = loads(HOSTILE.read_text(encoding="utf-8"))
    assert {i["provenance"] for i in data["interactions"]} == {"authored"}
    for index, interaction in enumerate(data["interactions"]):
        check_interaction(interaction, f"hostile #{index}")


# --------------------------------------------------------------------------- live mode


def test_a_key_switches_only_this_playground_to_live(fake_api, clean_env):
    replay = make_client("replay", cassette="01_hello_world")
    playground = Playground(replay, server_url=fake_api.url)
    other = Playground(replay)
    playground.key.value = KEY  # what typing it and pressing Enter does
    assert playground.client.cookbook.mode == "live" and playground.client is not replay
    assert playground.picker.client is playground.client
    assert other.client is replay and replay.cookbook.mode == "replay"
    assert playground.key.value == "" and "live" in playground.header.value
    playground.prompt.value = "What is the capital of France?"
    playground.run_button.click()  # no running event loop here: sent synchronously
    assert shown_text(playground).startswith("The capital of France is Paris.")
    conversation = [r for r in fake_api.requests if r["path"].startswith("/v1/conversations")]
    assert len(conversation) == 1 and conversation[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in everything_shown(playground)


async def test_a_live_run_is_a_task_so_the_kernel_keeps_handling_widget_messages(fake_api, clean_env):
    client = make_client("live", api_key=KEY, server_url=fake_api.url)
    playground = Playground(client)
    assert playground.picker.note.value == ""  # the connectors list is on its way, as a task
    await playground.picker.ready()
    assert [r["path"] for r in fake_api.requests] == ["/v1/connectors?page_size=100"]
    # (the fake API's account has no connectors: the picker says so in a line, built-in tools stay usable)
    assert "This account has no connectors yet." in playground.picker.note.value
    playground.prompt.value = "What is the capital of France?"
    playground.run_button.click()  # returns at once: the request runs in a worker thread a task awaits
    task = playground.task
    assert task is not None and not task.done()
    assert playground.run_button.disabled and playground.run_button.description == "Running…"
    await asyncio.wait_for(task, 10)
    assert not playground.run_button.disabled
    assert shown_text(playground).startswith("The capital of France is Paris.")
    playground.stream.value = True
    playground.run_button.click()
    await asyncio.wait_for(playground.task, 10)
    assert shown_text(playground).startswith("The capital of France is Paris.")
    assert [r["json"].get("stream") for r in fake_api.requests if r["method"] == "POST"] == [False, True]


def test_a_tool_ticked_again_takes_its_old_place_so_the_recipes_request_replays(replay04):
    picker = ToolPicker(replay04, tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}])
    before = list(picker.tools)
    picker.builtins["web_search"].value = False
    assert picker.tools == [{"type": "connector", "connector_id": "my_deepwiki"}]
    picker.builtins["web_search"].value = True
    assert picker.tools == before  # not moved to the end
    picker.builtins["code_interpreter"].value = True  # a new tool goes after the others
    assert picker.tools == [*before, {"type": "code_interpreter"}]


def test_the_names_list_says_how_to_select_several(replay04):
    picker = ToolPicker(replay04)
    row = picker.connector("my_deepwiki")
    row.check.value = True
    assert row.hint.layout.display == "" and "Ctrl-click" in row.hint.value


def test_changing_the_options_clears_the_last_answer_and_offers_the_prompts_that_replay_with_them(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    playground.run_button.click()
    assert playground.output.outputs and playground.status.value
    row = playground.picker.connector("my_deepwiki")
    row.filter.value = "all"  # no recording has the connector unfiltered
    assert playground.output.outputs == () and playground.status.value == ""
    assert list(playground.recorded.options) == [] and playground.recorded.disabled
    assert playground.recorded.description == "No recorded prompt for these options"
    row.filter.value = "exclude"
    row.names.value = ("read_wiki_structure",)
    assert list(playground.recorded.options) == recorded_prompts("05_tool_filters")[:2]
    playground.stream.value = True  # nothing of recipe 5 was recorded streamed
    assert list(playground.recorded.options) == []


def test_recipe_4s_request_also_replays_streamed(replay04):
    playground = Playground(replay04, prompt=BY_SLUG["04_multiple_tools"]["prompts"][0],
                            tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}])
    playground.stream.value = True
    assert playground.recorded.value == BY_SLUG["04_multiple_tools"]["prompts"][0]
    playground.run_button.click()
    assert "web_search" in shown_text(playground) and "failed" not in playground.status.value


def test_a_static_page_shows_what_the_playground_would_send(replay05):
    playground = Playground(replay05, tools=INCLUDE_ASK)
    bundle = playground._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget, where widgets run
    static = bundle["text/html"]
    assert "<b>Playground</b> (replay mode)" in static and "What tools do you have access to?" in static
    assert "&#34;include&#34;: [\n        &#34;ask_question&#34;" in static


def test_the_playground_offers_no_prompt_that_only_an_agent_answers(no_network):
    agent_prompts = set(recorded_prompts("06_agent_with_connectors"))  # every one asked of the recipe's agent
    playground = Playground(make_client("replay", cassette=["05_tool_filters", "06_agent_with_connectors"]))
    assert playground.prompts and not agent_prompts & set(playground.prompts)


async def test_the_picker_lists_the_connectors_of_every_page(fake_api, clean_env):
    listed = next(item["response"]["json"]["items"] for item in loads(
        (BUNDLED_DIR / "04_multiple_tools.yaml").read_text(encoding="utf-8"))["interactions"]
        if item["request"]["method"] == "GET" and item["request"]["uri"].endswith("/v1/connectors?page_size=100"))
    fake_api.connector_pages = [[{**listed[0], "name": f"page{n}_connector"}] for n in range(3)]
    picker = ToolPicker(make_client("live", api_key=KEY, server_url=fake_api.url))
    await picker.ready()
    assert [r["path"] for r in fake_api.requests] == ["/v1/connectors?page_size=100",
                                                      "/v1/connectors?cursor=p1&page_size=100",
                                                      "/v1/connectors?cursor=p2&page_size=100"]
    for n in range(3):
        assert picker.connector(f"page{n}_connector").check.description == f"page{n}_connector"
