"""display_response: text/plain, HTML, safety, unknown types, bounds, and how it shows in IPython."""

from __future__ import annotations

import html
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
    recipe_output,
    ref,
    response,
    response_json,
    text,
    tool_execution,
    usage,
)
from mistralai.client import models

from cookbook import _render
from cookbook._display import (
    RenderedResponse,
    display_response,
    render_html,
    render_text,
    tool_identity,
)


def body(html: str) -> str:
    """The HTML without its <style> block (so CSS never satisfies an assertion)."""
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


def assert_inert(html: str) -> None:
    """No script tags, no event-handler attributes, no non-http(s) link or image targets."""
    markup = body(html)
    assert "<script" not in markup.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", markup, flags=re.I), "event handler attribute in a tag"
    for url in re.findall(r'(?:href|src)="([^"]*)"', markup):
        assert url.startswith(("http://", "https://")), url


# ----------------------------------------------------------------- text/plain


def test_text_starts_with_exactly_what_the_recipe_helper_prints():
    resp = response(
        message("The capital of France is Paris."),
        tool_execution("web_search", '{"query": "weather Paris"}'),
        message(
            [
                text("It is 8°C"),
                ref("Météo Paris", "https://meteo.example/paris", favicon="https://meteo.example/f.ico"),
                text(" and cloudy."),
            ]
        ),
    )
    printed = recipe_output(resp)
    rendered = render_text(resp)
    assert printed.endswith("\n")
    assert rendered.startswith(printed[:-1])
    # one line per message.output entry, then the cookbook's own lines
    assert rendered.splitlines()[:2] == printed.splitlines()


def test_text_plain_is_the_helper_output_then_tool_citation_and_usage_lines():
    resp = response(
        tool_execution("web_search", '{"query": "weather in Paris"}', id="tool_exec_1"),
        tool_execution("ask_question", '{"repoName": "sqlite/sqlite"}', id="tool_exec_2"),
        message([text("Sunny"), ref("Forecast", "https://weather.example/p")]),
        usage_=usage(10, 20, connector_tokens=7, connectors={"my_deepwiki": 7}),
    )
    chunk = resp.outputs[2].content[1]
    assert render_text(resp) == "\n".join(
        [
            "Sunny" + str(chunk),
            '[tool] web_search {"query": "weather in Paris"}',
            '[connector my_deepwiki] ask_question {"repoName": "sqlite/sqlite"}',
            "[1] Forecast - https://weather.example/p",
            "[usage] mistral-small-latest: prompt 10, completion 20, total 30 tokens; connectors 7 (my_deepwiki: 7)",
        ]
    )


def test_text_plain_has_no_ids_or_addresses_and_is_deterministic():
    resp = response(
        message("Hi", id="msg_abc", agent_id="ag_123"),
        function_call("get_weather", {"city": "Paris"}, tool_call_id="call_xyz"),
        tool_execution("web_search", "{}", id="tool_exec_9"),
    )
    first, second = render_text(resp), render_text(response())
    assert first == render_text(resp)
    for varying in (CONVERSATION_ID, "msg_abc", "ag_123", "call_xyz", "tool_exec_9"):
        assert varying not in first
    assert not re.search(r"0x[0-9a-f]{6,}", first)
    assert second == "[usage] prompt 12, completion 30, total 42 tokens"


def test_a_chunk_prints_as_the_recipe_helper_prints_it_whatever_its_class():
    from cookbook._display import _chunk_text

    class Plain(pydantic.BaseModel):
        type: str = "odd"
        n: int = 1

    class WithProperty(Plain):
        @property
        def text(self) -> str:
            return "from a property"

    class WithExtra(pydantic.BaseModel, extra="allow"):
        type: str = "odd"

    class WithPrivate(Plain):
        _note: str = pydantic.PrivateAttr("x")

    class Hidden(Plain):
        secret: str = pydantic.Field("s", repr=False)
        inner: Plain = Plain(n=2)

    class Computed(Plain):
        @pydantic.computed_field
        def double(self) -> int:
            return 2 * self.n

    class OwnStr(Plain):
        def __str__(self) -> str:
            return "its own"

    selfish = Plain.model_construct(type="odd")
    selfish.__dict__["n"] = selfish  # a field that holds the model itself: pydantic writes a recursion marker

    chunks = [Plain(), WithProperty(), WithExtra(text="from an extra field"), WithExtra(other=1), WithPrivate(),
              Hidden(), Computed(), OwnStr(), selfish,
              *models.ConversationResponse.model_validate(response_json(message(
                  [text("t"), ref("R", "https://r.example"), {"type": "image_url", "image_url": "https://i.example"}]
              ))).outputs[0].content]
    for chunk in chunks:
        assert _chunk_text(chunk) == (chunk.text if hasattr(chunk, "text") else str(chunk))
    assert [_chunk_text(c) for c in chunks[1:3]] == ["from a property", "from an extra field"]


def test_function_call_and_handoff_lines():
    resp = response(
        handoff(("ag_1", "Router"), ("ag_2", "Writer")),
        function_call("send_email", '{"to": "a@example.com"}', confirmation_status="pending"),
        message("Done.", agent_id="ag_2"),
    )
    lines = render_text(resp).splitlines()
    assert lines[0] == "Done."
    assert lines[1] == "[handoff] Router -> Writer"
    assert lines[2] == '[function] send_email {"to": "a@example.com"} (pending confirmation)'
    assert lines[3] == "[usage] agent Writer, mistral-small-latest: prompt 12, completion 30, total 42 tokens"


# ----------------------------------------------------------------------- HTML


def test_markdown_is_rendered_and_raw_html_is_escaped():
    html = render_html(response(message("# Title\n\n- **bold** item\n\n```python\nx = 1 < 2\n```\n\n<b>raw</b>")))
    markup = body(html)
    assert "<h1>Title</h1>" in markup
    assert "<strong>bold</strong>" in markup
    assert '<code class="language-python">x = 1 &lt; 2' in markup
    assert "&lt;b&gt;raw&lt;/b&gt;" in markup


def test_citations_are_numbered_with_title_link_favicon_and_description():
    resp = response(
        message(
            [
                text("Paris is sunny"),
                ref(
                    "Forecast",
                    "https://weather.example/p",
                    favicon="https://weather.example/i.png",
                    description="Daily",
                ),
                text(" and warm"),
                ref("Forecast", "https://weather.example/p"),
                text("; see the almanac"),
                ref("Almanac", None, tool="ask_question"),
            ]
        )
    )
    markup = body(render_html(resp))
    assert markup.count('<sup class="cb-cite">') == 2  # two linked markers, both for source 1
    assert '<a href="https://weather.example/p" title="Forecast"' in markup
    assert '<sup class="cb-cite" title="Almanac">[2]</sup>' in markup  # no URL: number without a link
    sources = markup[markup.index('<ol class="cb-sources">') :]
    assert sources.count("<li>") == 2
    assert 'src="https://weather.example/i.png"' in sources
    assert "— Daily" in sources
    assert "via ask_question" in sources
    # the paragraph is not broken around the citation markers
    assert "<p>Paris is sunny<sup" in markup


def test_connector_tools_are_visibly_distinct_from_builtin_tools():
    resp = response(
        tool_execution("web_search", '{"query": "q"}'),
        tool_execution("ask_question", '{"question": "q"}'),
        message("ok"),
        usage_=usage(connector_tokens=3, connectors={"my_deepwiki": 3}),
    )
    markup = body(render_html(resp))
    builtin = re.search(r'<div class="cb-step cb-step--builtin">.*?</div>', markup, flags=re.S).group(0)
    connector = re.search(r'<div class="cb-step cb-step--connector">.*?</div>', markup, flags=re.S).group(0)
    assert "built-in" in builtin and "<code>web_search</code>" in builtin
    assert "connector" in connector and "<b>my_deepwiki</b> › <code>ask_question</code>" in connector


@pytest.mark.parametrize(
    ("info", "connectors", "expected"),
    [
        ({"connector_name": "gmail"}, None, ("connector", "gmail", "gmail_search")),
        (None, {"web_search": 4, "deepwiki": 2}, ("connector", "deepwiki", "gmail_search")),
        (None, {"deepwiki": 2, "gmail": 5}, ("connector", None, "gmail_search")),
        (None, None, ("connector", None, "gmail_search")),
    ],
)
def test_tool_identity_names_the_connector_when_the_response_says_which(info, connectors, expected):
    extra = {"info": info} if info else {}
    resp = response(tool_execution("gmail_search", "{}", **extra), usage_=usage(connectors=connectors))
    assert tool_identity(resp.outputs[0], resp.usage) == expected


def test_builtin_tool_names_follow_the_sdk_enum():
    resp = response(*(tool_execution(n) for n in ("web_search", "code_interpreter", "image_generation")))
    assert [tool_identity(e)[0] for e in resp.outputs] == ["builtin"] * 3


def test_code_interpreter_result_is_shown_as_code():
    resp = response(tool_execution("code_interpreter", "{}", info={"code": "print(1<2)", "code_output": "True\n"}))
    markup = body(render_html(resp))
    assert "<pre>print(1&lt;2)</pre>" in markup
    assert "<pre>True\n</pre>" in markup


def test_failed_connector_tool_is_marked():
    resp = response(tool_execution("ask_question", "{}", info={"mcp_meta": {"isError": True}}))
    assert "cb-step--error" in render_html(resp)
    assert render_text(resp).splitlines()[0] == "[connector tool] ask_question (error)"


def test_every_chunk_type_renders():
    resp = response(
        message(
            [
                {
                    "type": "thinking",
                    "thinking": [text("Let me *check*"), {"type": "reference", "reference_ids": [1, 2]}],
                },
                text("Here is the chart."),
                {"type": "image_url", "image_url": {"url": "https://img.example/chart.png"}},
                {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                {"type": "document_url", "document_url": "https://docs.example/report.pdf", "document_name": "Report"},
                {
                    "type": "tool_file",
                    "tool": "code_interpreter",
                    "file_id": "file_1",
                    "file_name": "plot.png",
                    "file_type": "png",
                },
            ]
        )
    )
    markup = body(render_html(resp))
    assert '<details class="cb-think"><summary>thinking</summary><p>Let me <em>check</em></p>' in markup
    assert "[references 1, 2]" in markup
    assert '<img class="cb-img" src="https://img.example/chart.png"' in markup
    assert "inline image (data URL) not shown" in markup and 'src="data:' not in markup
    assert '<a href="https://docs.example/report.pdf"' in markup and ">Report</a>" in markup
    assert "plot.png" in markup and "from code_interpreter" in markup
    assert render_text(resp).startswith(recipe_output(resp)[:-1])


def test_footer_shows_conversation_model_agent_and_usage():
    resp = response(
        message("hi", agent_id="ag_42"),
        usage_=usage(100, 50, connector_tokens=9, connectors={"web_search": 4, "deepwiki": 5}),
    )
    foot = body(render_html(resp))
    foot = foot[foot.index('<div class="cb-foot">') :]
    assert f"<code>{CONVERSATION_ID}</code>" in foot
    assert "agent ag_42" in foot and "mistral-small-latest" in foot
    assert "150 tokens (100 prompt + 50 completion)" in foot
    assert "connector tokens 9 (deepwiki: 5, web_search: 4)" in foot


def test_html_uses_theme_variables_and_no_external_assets():
    html = render_html(response(message("x")))
    assert html.startswith('<div class="cb-resp"><style>')
    assert "var(--jp-ui-font-color1" in html and "var(--jp-border-color2" in html and "var(--jp-layout-color1" in html
    assert "<link" not in html and "<script" not in html and "@import" not in html


# --------------------------------------------------------------------- safety


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[y](JAVASCRIPT:alert(1)) <javascript:alert(1)> ![z](javascript:alert(1)) [d](data:text/html,hi)",
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_model_text_comes_out_inert(payload):
    for content in (payload, [text(payload)]):
        html = render_html(response(message(content)))
        assert_inert(html)
    assert "&lt;script&gt;" in body(render_html(response(message(HOSTILE[0]))))


def test_hostile_tool_reference_and_favicon_are_not_links():
    resp = response(
        message(
            [
                text("See"),
                ref(
                    '"><script>alert(1)</script>',
                    "javascript:alert(1)",
                    favicon="javascript:alert(2)",
                    description="<img src=x onerror=alert(3)>",
                ),
                ref("ok", " https://fine.example/ok"),
                ref("tab", "java\tscript:alert(4)"),
            ]
        )
    )
    html = render_html(resp)
    assert_inert(html)
    markup = body(html)
    assert "javascript:alert(1)" not in markup  # an unsafe url is dropped, the title stays as text
    assert "&quot;&gt;&lt;script&gt;" in markup
    assert '<a href="https://fine.example/ok"' in markup


def test_hostile_names_and_arguments_are_escaped():
    resp = response(
        tool_execution('<img src=x onerror="alert(1)">', '{"q": "</pre><script>alert(1)</script>"}'),
        function_call("<b>f</b>", {"x": "<script>"}),
        handoff(("a", "<i>A</i>"), ("b", 'B" onmouseover="x')),
        usage_=usage(connectors={"<svg onload=alert(1)>": 1}),
    )
    html = render_html(resp)
    assert_inert(html)
    assert "&lt;/pre&gt;&lt;script&gt;" in body(html)


# ------------------------------------------------------- Markdown, link by link


def md(src: str) -> str:
    """One message's Markdown as render_html shows it, checked inert."""
    markup = body(render_html(response(message(src))))
    assert_inert(markup)
    return markup


LINK_ATTRS = 'target="_blank" rel="noopener noreferrer nofollow"'
IMG_ATTRS = 'loading="lazy" referrerpolicy="no-referrer"'


@pytest.mark.parametrize(
    "link",
    [
        "[label](javascript:alert(1))",
        "[label](JaVaScRiPt:alert(1))",
        "[label](java&#x73;cript:alert(1))",
        "[label](javascript&#58;alert(1))",
        "[label](<javascript:alert(1)>)",
        "[label](vbscript:msgbox(1))",
        "[label](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[label](/relative/path)",
        "[label](./page.html)",
        "[label](//evil.example/protocol-relative)",
        "[label](#fragment)",
        "[label](mailto:someone@example.com)",
        "[label](ftp://files.example/x)",
        "[label](https:no-host)",
        "[label][bad]\n\n[bad]: javascript:alert(1)",
        "[label]\n\n[label]: /relative",
    ],
)
def test_a_markdown_link_that_is_not_absolute_http_stays_text(link):
    markup = md(f"See *this*: {link} now")
    assert "<em>this</em>" in markup  # rendered as Markdown, not shown as escaped source
    assert "<a " not in markup
    assert "label" in markup


def test_an_http_link_opens_in_a_new_tab_without_referrer():
    markup = md('[a](https://a.example/?x=1&y="2" "the title") and [b][r]\n\n[r]: <http://b.example/b c>')
    assert f'<a href="https://a.example/?x=1&amp;y=%222%22" title="the title" {LINK_ATTRS}>a</a>' in markup
    assert f'<a href="http://b.example/b%20c" {LINK_ATTRS}>b</a>' in markup


def test_autolinks_are_links_only_for_http():
    markup = md("<https://auto.example/x> <javascript:alert(1)> <mail@example.com>")
    assert f'<a href="https://auto.example/x" {LINK_ATTRS}>https://auto.example/x</a>' in markup
    assert "&lt;javascript:alert(1)&gt;" in markup and "&lt;mail@example.com&gt;" in markup


def test_an_angle_bracket_before_a_url_cannot_open_a_tag():
    markup = md('<https://x.example/" onmouseover="alert(1)> <https:x onclick=alert(1)>')
    assert "&lt;https://x.example/" in markup and "&lt;https:x onclick=alert(1)&gt;" in markup


def test_images_load_only_from_http_lazily_and_without_referrer():
    markup = md("![chart](https://img.example/c.png) ![pixel](data:image/png;base64,iVBORw0KGgo=) ![rel](/x.png)")
    assert f'<img src="https://img.example/c.png" alt="chart" {IMG_ATTRS} />' in markup
    assert markup.count("<img") == 1
    assert "pixel" in markup and "rel" in markup  # the others show their alt text


def test_a_linked_image_keeps_each_check():
    markup = md("[![ok](https://i.example/i.png)](https://l.example) [![bad](javascript:x)](/rel)")
    image = f'<img src="https://i.example/i.png" alt="ok" {IMG_ATTRS} />'
    assert f'<a href="https://l.example" {LINK_ATTRS}>{image}</a>' in markup
    assert markup.count("<a ") == 1 and markup.count("<img") == 1


@pytest.mark.parametrize(
    ("src", "shown"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<div onclick=alert(1)>\n*md*\n</div>", "&lt;div onclick=alert(1)&gt;\n<em>md</em>\n&lt;/div&gt;"),
        ('a <img src=x onerror="alert(1)"> b', '&lt;img src=x onerror="alert(1)"&gt;'),
        ("<!-- hidden --> <?php x ?> <![CDATA[y]]>", "&lt;!-- hidden --&gt; &lt;?php x ?&gt; &lt;![CDATA[y]]&gt;"),
        ("**<b>bold</b>**", "<strong>&lt;b&gt;bold&lt;/b&gt;</strong>"),
        ("\\<b>escaped</b>", "&lt;b&gt;escaped&lt;/b&gt;"),
        ("\\\\<b>after a backslash</b>", "\\&lt;b&gt;after a backslash&lt;/b&gt;"),
        ("`<i>` and\n\n```\n<b>x</b> \\<c>\n```", "<code>&lt;i&gt;</code>"),
        ("&lt;script&gt; &#60;img src=x onerror=alert(1)&#62; &amp;amp; &copy;", "&lt;script&gt; &lt;img src=x"),
        ("x\x02<b>\x02y", "x&lt;b&gt;y"),
    ],
)
def test_raw_html_and_entities_in_markdown_come_out_as_text(src, shown):
    markup = md(src)
    assert shown in markup
    assert "&amp;lt;" not in markup  # escaped once, not twice


def test_code_keeps_its_angle_brackets_and_backslashes():
    markup = md("```\n<b>x</b> \\<c>\n```")
    assert "<pre><code>&lt;b&gt;x&lt;/b&gt; \\&lt;c&gt;\n</code></pre>" in markup


@pytest.mark.parametrize(
    ("src", "engine_output"),
    [
        ("hi <there>", '<p onclick="alert(1)">hi</p>\n'),  # an attribute the engine never writes
        ("hi &lt;there&gt;", "<p><there>hi</there></p>\n"),  # an entity decoded and not escaped again
        ("[hi](https://x.example)", '<p><a href="https://x.example" title="" onclick="x">hi</a></p>\n'),
    ],
)
def test_markdown_fails_closed_if_the_engine_ever_passes_html_through(monkeypatch, src, engine_output):
    monkeypatch.setattr(_render, "_PYROMARK", lambda text: engine_output)
    markup = md(src)
    assert f"<pre>{html.escape(src)}</pre>" in markup


# -------------------------------------------------------------- unknown types


def test_unknown_entry_and_chunk_types_are_shown_not_dropped():
    data = response_json(
        message([text("before "), {"type": "audio_clip", "seconds": 3}, text("after")]),
        {"object": "entry", "type": "reasoning.summary", "summary": "<b>short</b>", "n": [1, 2]},
    )
    with pytest.raises(pydantic.ValidationError):  # the SDK itself cannot parse these
        models.ConversationResponse.model_validate(data)
    plain = render_text(data)
    assert plain.splitlines()[0] == 'before {"type": "audio_clip", "seconds": 3}after'
    assert '[reasoning.summary] {"object": "entry", "type": "reasoning.summary", "summary": "<b>short</b>"' in plain
    markup = body(render_html(data))
    assert '<span class="cb-badge">reasoning.summary</span>' in markup
    assert '<span class="cb-badge">chunk: audio_clip</span>' in markup
    assert "&lt;b&gt;short&lt;/b&gt;" in markup


def test_a_dict_renders_like_the_sdk_model_it_validates_to():
    data = response_json(message([text("a"), ref("T", "https://t.example")]), tool_execution("web_search"))
    parsed = models.ConversationResponse.model_validate(data)
    assert render_text(data) == render_text(parsed)
    assert render_html(data) == render_html(parsed)


def test_history_entries_render():
    history = models.ConversationHistory.model_validate(
        {
            "conversation_id": CONVERSATION_ID,
            "entries": [
                {"type": "message.input", "role": "user", "content": "What is 2+2?"},
                message("4"),
            ],
        }
    )
    assert render_text(history).splitlines() == ["4", "[user] What is 2+2?"]


# ---------------------------------------------------------------------- bounds


def test_long_text_is_cut_with_a_show_all_details():
    long = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(200))
    markup = body(render_html(response(message(long))))
    assert '<details class="cb-more"><summary>show all (' in markup
    assert "Paragraph 199" in markup  # nothing is lost, only folded


def test_deeply_nested_arguments_do_not_recurse_and_are_folded():
    deep_text = "[" * 5000 + "]" * 5000
    deep_value: dict = {}
    node = deep_value
    for _ in range(3000):
        node["k"] = {}
        node = node["k"]
    resp = response(
        tool_execution("web_search", deep_text),
        function_call("f", json.dumps({"a": {"b": {"c": {"d": {"e": {"f": list(range(500))}}}}}})),
    )
    resp.outputs[0].info = deep_value
    html = render_html(resp)
    assert html.count('<details class="cb-more"><summary>show all') >= 2
    assert "{…1}" in html
    assert render_text(resp)  # text form survives too


def _random_json(rng, depth: int = 0):
    pick = rng.randrange(10 if depth < 7 else 6)
    if pick == 0:
        return rng.choice([None, True, False, 0, -7, 10**30, 1.5, -0.0, 1e300, float("nan"), float("inf")])
    if pick in (1, 2, 3):
        return "".join(rng.choice('ab "\\\n\x01é\u2028😀<>') for _ in range(rng.randrange(6)))
    if pick in (4, 5):
        return rng.randrange(-1000, 1000)
    if pick in (6, 7):
        return {rng.choice(["k", "é", 'q"', 1, True]): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}
    items = [_random_json(rng, depth + 1) for _ in range(rng.randrange(6))]
    return tuple(items) if pick == 8 else items


@pytest.mark.parametrize("indent", [None, 2, 4])
def test_json_layout_is_the_same_on_the_fast_path_and_the_careful_one(indent, monkeypatch):
    import random

    rng = random.Random(9)
    values = [_random_json(rng) for _ in range(400)] + [{"a": {"b": {"c": {"d": {"e": [1]}}}}}, list(range(300))]
    limits = [(depth, chars) for depth in (1, 3, 6, 40) for chars in (0, 5, 60, 240, 100_000)]
    fast = [_render.format_json(v, indent=indent, max_depth=d, max_chars=c) for v in values for d, c in limits]

    def careful_only(*args):
        raise _render._NotPlain

    monkeypatch.setattr(_render, "_layout", careful_only)
    careful = [_render.format_json(v, indent=indent, max_depth=d, max_chars=c) for v in values for d, c in limits]
    assert fast == careful
    assert sum(complete for _, complete in fast) > len(fast) // 4  # many laid out whole, many cut
    assert sum(not complete for _, complete in fast) > len(fast) // 4
    plain = {"query": "q é", "n": [1, 2.5, None, True], "o": {}}
    assert _render.format_json(plain, indent=indent)[0] == json.dumps(plain, indent=indent, ensure_ascii=False)


# ----------------------------------------------------------- display behaviour


def test_rendered_response_is_a_mimebundle_and_prints_as_text():
    rendered = RenderedResponse(response(message("hello")))
    bundle = rendered._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert str(rendered) == bundle["text/plain"] == rendered.text
    assert rendered._repr_mimebundle_(include=["text/plain"]) == {"text/plain": rendered.text}
    assert rendered._repr_mimebundle_(exclude=["text/html"]) == {"text/plain": rendered.text}
    assert rendered.conversation_id == CONVERSATION_ID
    assert rendered.usage.total_tokens == 42


def test_the_mimebundle_is_the_text_and_the_html_rendered_apart():
    long = {"q": "x" * 200, "n": list(range(30))}
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": [1]}}}}}}}
    resp = response(
        tool_execution("web_search", json.dumps({"query": "q", "options": {"tags": ["a", "b"]}})),
        tool_execution("ask_question", json.dumps(long), info={"nested": deep}),
        tool_execution("web_search", json.dumps(deep)),
        tool_execution("web_search", "not json {"),
        function_call("f", {"x": [1, 2.5, None, True, "é"]}),
        function_call("g", json.dumps(long)),
        function_call("h", json.dumps(deep)),
        function_call("i", "{}"),
        message([text("See"), ref("T", "https://t.example"), text(" and"), ref("T", "https://t.example")]),
        handoff(("a", "A"), ("b", "B")),
    )
    bundle = RenderedResponse(resp)._repr_mimebundle_()
    assert bundle == {"text/plain": render_text(resp), "text/html": render_html(resp)}
    assert '[tool] web_search {"query": "q", "options": {"tags": ["a", "b"]}}' in bundle["text/plain"]


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
        assert displays[0]["data"]["text/plain"].startswith("Hello **there**")
        assert shell.run_cell("shown = display_response(resp)", store_history=True).success
        assert len(displays) == 2
        assert shell.run_cell("shown", store_history=True).success  # a later cell shows it again
        assert len(displays) == 3


def test_rendered_response_shows_as_a_cells_last_expression():
    with ipython_shell() as (shell, displays, results):
        shell.user_ns.update(RenderedResponse=RenderedResponse, resp=response(message("x")))
        assert shell.run_cell("RenderedResponse(resp)", store_history=True).success
        assert len(displays) + len(results) == 1
        shown = (displays or results)[0]
        data = shown.get("data", shown)
        assert set(data) == {"text/plain", "text/html"}


def test_a_citation_right_after_a_code_block_leaves_the_block_closed():
    markup = body(render_html(response(message([text("Code:\n\n```c\nint x;\n```"), ref("D", "https://d.example")]))))
    assert '<pre><code class="language-c">int x;\n</code></pre>' in markup
    assert '<p><sup class="cb-cite"><a href="https://d.example"' in markup


def test_display_response_points_a_stream_to_display_stream():
    with pytest.raises(TypeError, match="display_stream"):
        display_response(iter([]))
