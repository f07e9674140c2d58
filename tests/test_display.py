"""display_response: the text and HTML a learner sees, what the request tells them, safety, bounds, and IPython."""

from __future__ import annotations

import json
import re

import pydantic
import pytest
from _responses import (
    CONVERSATION_ID,
    function_call,
    handoff,
    ipython_shell,
    message,
    response,
    response_json,
    text,
    tool_execution,
    usage,
)
from mistralai.client import models

from cookbook import make_client
from cookbook._display import RenderedResponse, RequestContext, display_response, split_tool_name

DEEPWIKI = RequestContext(connectors=("my_deepwiki",))
# what a pydantic model looks like when printed: the recipe page's helper shows these for tool_reference chunks
PYDANTIC_REPR = re.compile(r"\b\w+='[^']*' \w+=|\btype='\w+'|<mistralai\.|\w+\(\w+='")


def render_text(resp, context: RequestContext | None = None) -> str:
    return RenderedResponse(resp, context or RequestContext()).text


def render_html(resp, context: RequestContext | None = None) -> str:
    return RenderedResponse(resp, context or RequestContext()).html


def body(html: str) -> str:
    """The HTML without its <style> block (so CSS never satisfies an assertion)."""
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


def assert_inert(html: str) -> None:
    """No script, image or event handler, and no link to anything but http(s)."""
    markup = body(html)
    assert "<script" not in markup.lower() and "<img" not in markup.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", markup, flags=re.I), "event handler attribute in a tag"
    for url in re.findall(r'(?:href|src)="([^"]*)"', markup):
        assert url.startswith(("http://", "https://")), url


def ref(title, url=None, *, tool="web_search", **extra):
    chunk = {"type": "tool_reference", "tool": tool, "title": title, **extra}
    return {**chunk, "url": url} if url is not None else chunk


# ------------------------------------------------------------------ text/plain


def test_text_plain_reads_as_the_answer_with_numbered_citations_and_sources():
    resp = response(
        tool_execution("web_search", '{"query": "weather in Paris"}', info={}),
        message([text("It is 8°C"), ref("Météo Paris", "https://meteo.example/paris", favicon=None),
                 text(" and cloudy"), ref("AccuWeather", "https://accu.example/p"), ref("Météo Paris",
                                                                                        "https://meteo.example/paris"),
                 text(".")]),
        usage_=usage(10, 20, connector_tokens=7, connectors={"web_search": 1}),
    )
    assert render_text(resp).splitlines() == [
        '[tool] web_search {"query": "weather in Paris"}',
        "It is 8°C[1] and cloudy[2][1].",
        "Sources:",
        "[1] Météo Paris - https://meteo.example/paris",
        "[2] AccuWeather - https://accu.example/p",
        "mistral-small-latest · 30 tokens (10 prompt + 20 completion + 7 connector) · calls: web_search ×1",
    ]


def test_text_plain_never_shows_a_pydantic_repr():
    resp = response(message([text("See"), ref("T", "https://t.example", description="d"),
                             {"type": "image_url", "image_url": "https://i.example/x.png"},
                             {"type": "document_url", "document_url": "https://d.example/r.pdf",
                              "document_name": "Report"},
                             {"type": "tool_file", "tool": "code_interpreter", "file_id": "f1", "file_name": "p.png"},
                             {"type": "thinking", "thinking": [text("hmm")]}]))
    plain = render_text(resp)
    assert not PYDANTIC_REPR.search(plain), plain
    assert "[image: https://i.example/x.png]" in plain and "[document: Report]" in plain
    assert "[file: p.png (code_interpreter)]" in plain and "[thinking] hmm" in plain
    # the recipe page's own helper would have shown a repr here: that rule is gone
    assert PYDANTIC_REPR.search(str(resp.outputs[0].content[1]))


def test_text_plain_has_no_ids_and_is_deterministic():
    resp = response(message("Hi", id="msg_abc"), function_call("get_weather", {"city": "Paris"}, tool_call_id="c_9"),
                    tool_execution("web_search", "{}", id="tool_exec_9"))
    first = render_text(resp)
    assert first == render_text(resp)
    for varying in (CONVERSATION_ID, "msg_abc", "c_9", "tool_exec_9"):
        assert varying not in first
    assert render_text(response()) == "42 tokens (12 prompt + 30 completion)"


def test_function_calls_handoffs_and_agents():
    resp = response(
        handoff(("ag_1", "Router"), ("ag_2", "Writer")),
        function_call("send_email", '{"to": "a@example.com"}', confirmation_status="pending"),
        message("Done.", agent_id="ag_2"),
    )
    assert render_text(resp).splitlines() == [
        "[handoff Router → Writer]",
        '[function] send_email {"to": "a@example.com"} (pending confirmation)',
        "Done.",
        "agent Writer · mistral-small-latest · 42 tokens (12 prompt + 30 completion)",
    ]


def test_several_messages_in_one_response_are_all_shown_in_order():
    resp = response(message("Let me look that up.", agent_id="ag_1"),
                    tool_execution("my_deepwiki_ask_question", '{"q": "x"}', agent_id="ag_1"),
                    message("It is a database engine.", agent_id="ag_1"))
    lines = render_text(resp, DEEPWIKI).splitlines()
    assert lines[:3] == ["Let me look that up.", '[connector my_deepwiki] ask_question {"q": "x"}',
                         "It is a database engine."]
    markup = body(render_html(resp, DEEPWIKI))
    assert markup.index("Let me look that up.") < markup.index("ask_question") < markup.index("database engine")
    assert RenderedResponse(resp).view.answer() == "It is a database engine."


# ------------------------------------------------------- connectors and results


def test_a_connector_call_shows_the_connector_and_the_mcp_tool_apart_when_the_request_names_it():
    resp = response(tool_execution("my_deepwiki_read_wiki_structure", '{"repoName": "sqlite/sqlite"}'),
                    message("ok"))
    assert render_text(resp, DEEPWIKI).splitlines()[0] == \
        '[connector my_deepwiki] read_wiki_structure {"repoName": "sqlite/sqlite"}'
    markup = body(render_html(resp, DEEPWIKI))
    assert "<b>my_deepwiki</b> › <code>read_wiki_structure</code>" in markup
    # with no request at hand, the name is shown as the API gave it: nothing is guessed from the name
    assert render_text(resp).splitlines()[0] == \
        '[connector tool] my_deepwiki_read_wiki_structure {"repoName": "sqlite/sqlite"}'
    assert "<code>my_deepwiki_read_wiki_structure</code>" in body(render_html(resp))


def test_the_longest_connector_name_that_prefixes_the_call_wins():
    assert split_tool_name("my_deepwiki_ask_question", ("my", "my_deepwiki")) == ("my_deepwiki", "ask_question")
    assert split_tool_name("quickstart_context7_query-docs", ("quickstart_context7",)) == \
        ("quickstart_context7", "query-docs")
    assert split_tool_name("other_tool", ("my_deepwiki",)) is None
    assert split_tool_name("my_deepwiki_", ("my_deepwiki",)) is None


def test_builtin_tools_follow_the_sdk_schema():
    resp = response(*(tool_execution(n) for n in ("web_search", "code_interpreter", "image_generation")))
    assert [line.split()[0] for line in render_text(resp).splitlines()[:3]] == ["[tool]"] * 3


def test_info_is_shown_as_the_tools_result():
    resp = response(
        tool_execution("code_interpreter", '{"code": "21 * 2"}', info={"result": [{"type": "text", "text": "42\n"}],
                                                                        "code": "21 * 2", "code_output": "42\n"}),
        tool_execution("web_search", '{"query": "q"}', info={}),
        tool_execution("my_deepwiki_ask_question", "{}", info={"content": [{"type": "text", "text": "an answer"}]}),
    )
    plain = render_text(resp, DEEPWIKI)
    assert '[tool] code_interpreter {"code": "21 * 2"}\n  result: 42\n[tool] web_search' in plain
    assert '  result: {"content": [{"type": "text", "text": "an answer"}]}' in plain
    markup = body(render_html(resp, DEEPWIKI))
    assert markup.count("<summary>result</summary>") == 2  # an empty result shows nothing
    assert '<summary>result</summary><pre class="cb-json">42\n</pre>' in markup


def test_a_failed_connector_tool_is_marked():
    resp = response(tool_execution("ask_question", "{}", info={"isError": True}))
    assert "cb-step--error" in render_html(resp)
    assert render_text(resp).splitlines()[0] == "[connector tool] ask_question (error)"
    assert '  result: {"isError": true}' in render_text(resp)


def test_fields_the_sdk_does_not_declare_are_accepted_without_noise():
    data = response_json(
        tool_execution("web_search", '{"query": "q"}', function="web_search", model="mistral-small-latest", info={}),
        message([text("A"), ref("Brave result", "https://b.example", source="brave", favicon=None), text(".")]),
    )
    data["guardrails"] = None
    for resp in (data, models.ConversationResponse.model_validate(data)):
        plain = render_text(resp)
        assert "function" not in plain and "guardrails" not in plain and "None" not in plain
        assert "[1] Brave result - https://b.example" in plain
    assert "(via web_search (brave))" in body(render_html(data))  # only the raw JSON keeps the search engine


def test_guardrails_are_shown_when_the_api_sends_some():
    data = response_json(message("hi"))
    data["guardrails"] = [{"category": "pii", "action": "block"}]
    assert 'guardrails [{"category": "pii", "action": "block"}]' in render_text(data)


# --------------------------------------------------------- from a real client


def test_a_replayed_response_knows_the_connectors_its_request_sent_and_its_provenance(clean_env):
    client = make_client("replay", cassette="03_custom_connector")
    resp = client.beta.conversations.start(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "Using deepwiki, tell me about the structure of the sqlite/sqlite "
                                            "repository."}],
        tools=[{"type": "connector", "connector_id": "my_deepwiki"}])
    rendered = RenderedResponse(resp)
    assert rendered.context.connectors == ("my_deepwiki",)
    first = rendered.text.splitlines()[0]
    assert first.startswith("[connector my_deepwiki] ") and "my_deepwiki_" not in first
    assert rendered.text.splitlines()[-1].endswith("authored example, shaped like public captures of the API")
    assert "authored example" in body(rendered.html)


def test_an_agents_conversation_takes_the_connectors_from_the_agent_the_client_created(clean_env):
    client = make_client("replay", cassette="06_agent_with_connectors")
    agent = client.beta.agents.create(
        name="deepwiki_agent", description="Agent with DeepWiki access for code repository exploration",
        model="mistral-small-latest",
        instructions="You are a helpful assistant that can explore code repositories using DeepWiki. Be concise.",
        tools=[{"type": "connector", "connector_id": "my_deepwiki"}])
    resp = client.beta.conversations.start(
        agent_id=agent.id, inputs=[{"role": "user", "content": "What is the main purpose of the sqlite repository?"}])
    assert RenderedResponse(resp).context.connectors == ("my_deepwiki",)
    assert "[connector my_deepwiki] " in RenderedResponse(resp).text


def test_a_connector_sent_by_id_is_named_from_the_connector_the_client_created(clean_env):
    from cookbook._client import ClientInfo, SentRequest

    info = ClientInfo("replay", (), "3.7.0")
    info.learn(type("R", (), {"url": "https://api.mistral.ai/v1/connectors"})(),
               {"id": "019f9324-0bd5-71e9-ada5-da7b02fd85af", "name": "ephemeral_deepwiki"})
    sent = SentRequest("POST", "https://api.mistral.ai/v1/conversations", {
        "tools": [{"type": "connector", "connector_id": "019f9324-0bd5-71e9-ada5-da7b02fd85af"}]})
    assert info.context(sent).connectors == ("ephemeral_deepwiki",)


# ----------------------------------------------------------------------- HTML


def test_markdown_is_rendered_and_raw_html_is_escaped():
    markup = body(render_html(response(message("# Title\n\n- **bold** item\n\n```python\nx = 1 < 2\n```\n\n"
                                               "<b>raw</b>"))))
    assert "<h1>Title</h1>" in markup and "<strong>bold</strong>" in markup
    assert '<code class="language-python">x = 1 &lt; 2' in markup
    assert "&lt;b&gt;raw&lt;/b&gt;" in markup


def test_citations_are_numbered_links_and_a_sources_list_without_images():
    resp = response(message([text("Paris is sunny"), ref("Forecast", "https://weather.example/p",
                                                         favicon="https://weather.example/i.png", description="Daily"),
                             text(" and warm"), ref("Forecast", "https://weather.example/p"), text("; see"),
                             ref("Almanac", None, tool="ask_question")]))
    markup = body(render_html(resp))
    assert markup.count('<sup class="cb-cite">') == 3
    assert '<a href="https://weather.example/p" title="Forecast"' in markup
    assert '<span title="Almanac">[2]</span>' in markup  # no URL: the number without a link
    sources = markup[markup.index('<ol class="cb-sources">'):]
    assert sources.count("<li>") == 2 and "— <span class=\"cb-desc\">Daily</span>" in sources
    assert "(via ask_question)" in sources
    assert "<img" not in markup and "i.png" not in markup  # favicons cannot show broken offline
    assert "<p>Paris is sunny<sup" in markup


def test_untrusted_html_reads_in_order_without_the_stylesheet():
    resp = response(tool_execution("web_search", '{"query": "q"}'), message("Answer."),
                    usage_=usage(10, 20))
    markup = body(render_html(resp))
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip()
    assert words.startswith("built-in tool web_search {")
    assert "Answer. conversation conv_0196f2a1b2c3 · mistral-small-latest · 30 tokens (10 prompt + 20 completion)" \
        in words


def test_html_uses_theme_variables_and_no_external_assets():
    html = render_html(response(message("x")))
    assert html.startswith('<div class="cb-resp"><style>')
    assert "var(--jp-ui-font-color1" in html and "var(--jp-border-color2" in html
    assert "<link" not in html and "<script" not in html and "@import" not in html


# --------------------------------------------------------------------- safety


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[y](JAVASCRIPT:alert(1)) <javascript:alert(1)> ![z](javascript:alert(1)) [d](data:text/html,hi)",
    '"><svg onload=alert(1)>',
    "\ue0001\ue001 forged citation",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_model_text_comes_out_inert(payload):
    for content in (payload, [text(payload)]):
        assert_inert(render_html(response(message(content))))
    assert "&lt;script&gt;" in body(render_html(response(message(HOSTILE[0]))))


def test_hostile_tool_references_are_not_links():
    resp = response(message([text("See"), ref('"><script>alert(1)</script>', "javascript:alert(1)",
                                               favicon="javascript:alert(2)", description="<img src=x onerror=x>"),
                             ref("ok", " https://fine.example/ok"), ref("tab", "java\tscript:alert(4)")]))
    html = render_html(resp)
    assert_inert(html)
    markup = body(html)
    assert "javascript:alert(1)" not in markup and "&#34;&gt;&lt;script&gt;" in markup
    assert '<a href="https://fine.example/ok"' in markup


def test_hostile_names_and_arguments_are_escaped():
    resp = response(tool_execution('<img src=x onerror="alert(1)">', '{"q": "</pre><script>alert(1)</script>"}'),
                    function_call("<b>f</b>", {"x": "<script>"}),
                    handoff(("a", "<i>A</i>"), ("b", 'B" onmouseover="x')),
                    usage_=usage(connectors={"<svg onload=alert(1)>": 1}))
    html = render_html(resp, RequestContext(connectors=("<img src=x onerror=",)))
    assert_inert(html)
    assert "&lt;/pre&gt;&lt;script&gt;" in body(html)


def md(src: str) -> str:
    """One message's Markdown as the HTML shows it, checked inert."""
    markup = body(render_html(response(message(src))))
    assert_inert(markup)
    return markup


LINK_ATTRS = 'target="_blank" rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize("link", [
    "[label](javascript:alert(1))", "[label](JaVaScRiPt:alert(1))", "[label](java&#x73;cript:alert(1))",
    "[label](javascript&#58;alert(1))", "[label](<javascript:alert(1)>)", "[label](vbscript:msgbox(1))",
    "[label](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "[label](/relative/path)",
    "[label](./page.html)", "[label](//evil.example/protocol-relative)", "[label](#fragment)",
    "[label](mailto:someone@example.com)", "[label](ftp://files.example/x)", "[label](https:no-host)",
    "[label][bad]\n\n[bad]: javascript:alert(1)", "[label]\n\n[label]: /relative",
])
def test_a_markdown_link_that_is_not_absolute_http_stays_text(link):
    markup = md(f"See *this*: {link} now")
    assert "<em>this</em>" in markup and "<a " not in markup and "label" in markup


def test_an_http_link_opens_in_a_new_tab():
    markup = md('[a](https://a.example/?x=1&y="2" "the title") and [b][r]\n\n[r]: <http://b.example/b c>')
    assert f'<a href="https://a.example/?x=1&amp;y=%222%22" title="the title" {LINK_ATTRS}>a</a>' in markup
    assert f'<a href="http://b.example/b%20c" {LINK_ATTRS}>b</a>' in markup


def test_autolinks_are_links_only_for_http():
    markup = md("<https://auto.example/x> <javascript:alert(1)> <mail@example.com>")
    assert f'<a href="https://auto.example/x" {LINK_ATTRS}>https://auto.example/x</a>' in markup
    assert "&lt;javascript:alert(1)&gt;" in markup


def test_images_become_links_so_nothing_loads_or_shows_broken():
    markup = md("![chart](https://img.example/c.png) ![pixel](data:image/png;base64,iVBORw0KGgo=) ![rel](/x.png)")
    assert f'<a href="https://img.example/c.png" {LINK_ATTRS}>[image: chart]</a>' in markup
    assert markup.count("<a ") == 1 and "pixel" in markup and "rel" in markup


@pytest.mark.parametrize(("src", "shown"), [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<div onclick=alert(1)>\n*md*\n</div>", "&lt;div onclick=alert(1)&gt;\n<em>md</em>\n&lt;/div&gt;"),
    ("<!-- hidden --> <?php x ?>", "&lt;!-- hidden --&gt; &lt;?php x ?&gt;"),
    ("**<b>bold</b>**", "<strong>&lt;b&gt;bold&lt;/b&gt;</strong>"),
    ("`<i>` and\n\n```\n<b>x</b> \\<c>\n```", "<code>&lt;i&gt;</code>"),
    ("&lt;script&gt; &#60;img src=x onerror=alert(1)&#62;", "&lt;script&gt; &lt;img src=x"),
])
def test_raw_html_and_entities_in_markdown_come_out_as_text(src, shown):
    markup = md(src)
    assert shown in markup and "&amp;lt;" not in markup


# -------------------------------------------------------------- unknown types


def test_unknown_entry_and_chunk_types_are_shown_not_dropped():
    data = response_json(
        message([text("before "), {"type": "audio_clip", "seconds": 3}, text("after")]),
        {"object": "entry", "type": "reasoning.summary", "summary": "<b>short</b>", "n": [1, 2]},
    )
    with pytest.raises(pydantic.ValidationError):  # the SDK itself cannot parse these
        models.ConversationResponse.model_validate(data)
    plain = render_text(data)
    assert plain.splitlines()[0] == 'before [chunk audio_clip] {"type": "audio_clip", "seconds": 3}after'
    assert '[reasoning.summary] {"object": "entry", "type": "reasoning.summary", "summary": "<b>short</b>"' in plain
    markup = body(render_html(data))
    assert '<small class="cb-badge">reasoning.summary</small>' in markup
    assert '<small class="cb-badge">chunk audio_clip</small>' in markup
    assert "&lt;b&gt;short&lt;/b&gt;" in markup


def test_a_dict_renders_like_the_sdk_model_it_validates_to():
    data = response_json(message([text("a"), ref("T", "https://t.example")]), tool_execution("web_search"))
    parsed = models.ConversationResponse.model_validate(data)
    assert render_text(data) == render_text(parsed) and render_html(data) == render_html(parsed)


def test_history_entries_render():
    history = models.ConversationHistory.model_validate({"conversation_id": CONVERSATION_ID, "entries": [
        {"type": "message.input", "role": "user", "content": "What is 2+2?"}, message("4")]})
    assert render_text(history).splitlines() == ["[user] What is 2+2?", "4", "mistral-small-latest"]


# ---------------------------------------------------------------------- bounds


def test_long_text_is_cut_with_a_show_all_details():
    long = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(200))
    markup = body(render_html(response(message(long))))
    assert '<details class="cb-more"><summary>show all (' in markup and "Paragraph 199" in markup


def test_deeply_nested_arguments_are_folded():
    deep: dict = {}
    node = deep
    for _ in range(300):
        node["k"] = {}
        node = node["k"]
    resp = response(tool_execution("web_search", json.dumps(deep)),
                    function_call("f", json.dumps({"a": {"b": {"c": {"d": {"e": {"f": list(range(500))}}}}}})))
    html = render_html(resp)
    assert html.count('<details class="cb-more"><summary>show all') >= 2 and "{…1}" in html
    assert render_text(resp)


def test_a_cut_arguments_preview_ends_in_one_ellipsis():
    long_json = json.dumps({"query": "w" * 5000})
    long_text = "not json " * 1000
    html = render_html(response(function_call("f", long_json), function_call("g", long_text)))
    previews = re.findall(r'<pre class="cb-json">(.*?)</pre>', html, re.S)
    cut = [p for p in previews if p.endswith("…")]
    assert len(cut) == 2 and not any(p.endswith("……") for p in previews), [p[-20:] for p in previews]
    whole = re.findall(r'show all \(([\d,]+) characters\)</summary><pre class="cb-json">(.*?)</pre>',
                       render_html(response(function_call("h", "not json " * 20_000))), re.S)
    assert [(size, text.endswith("…")) for size, text in whole] == [("180,000", True)]  # cut where it is too long


# ----------------------------------------------------------- display behaviour


def test_rendered_response_is_a_mimebundle_and_prints_as_text():
    rendered = RenderedResponse(response(message("hello")))
    bundle = rendered._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"} and str(rendered) == bundle["text/plain"]
    assert rendered._repr_mimebundle_(include=["text/plain"]) == {"text/plain": rendered.text}
    assert rendered.conversation_id == CONVERSATION_ID and rendered.usage.total_tokens == 42
    assert rendered.display_metadata() == {"cookbook": {"kind": "response", "answer": "hello"}}


def test_the_answer_summary_is_plain_text_of_the_first_sentences():
    resp = response(message("Your latest email is from **Ada Lovelace**, received today. She shares notes. "
                            "More follows."))
    assert RenderedResponse(resp).view.answer() == \
        "Your latest email is from Ada Lovelace, received today. She shares notes."


def test_display_response_prints_text_outside_ipython(capsys):
    resp = response(message("Plain output"), tool_execution("web_search"))
    rendered = display_response(resp)
    assert isinstance(rendered, RenderedResponse) and rendered.response is resp
    assert capsys.readouterr().out == rendered.text + "\n"


def test_display_response_shows_once_in_ipython_even_as_last_expression():
    resp = response(message("Hello **there**"))
    with ipython_shell() as (shell, displays, results):
        shell.user_ns.update(resp=resp, display_response=display_response)
        assert shell.run_cell("display_response(resp)", store_history=True).success
        assert len(displays) == 1 and results == []
        assert "<strong>there</strong>" in displays[0]["data"]["text/html"]
        assert shell.run_cell("shown = display_response(resp)", store_history=True).success
        assert shell.run_cell("shown", store_history=True).success  # a later cell shows it again
        assert len(displays) == 3
        assert shell.run_cell("display(shown); display(shown); display(shown)", store_history=True).success
        assert len(displays) == 6  # displayed on purpose: each time


def test_a_citation_right_after_a_code_block_leaves_the_block_closed():
    markup = body(render_html(response(message([text("Code:\n\n```c\nint x;\n```"), ref("D", "https://d.example")]))))
    assert '<pre><code class="language-c">int x;\n</code></pre>' in markup
    assert '<p><sup class="cb-cite"><a href="https://d.example"' in markup


def test_display_response_points_a_stream_to_display_stream():
    with pytest.raises(TypeError, match="display_stream"):
        display_response(iter([]))
