"""Each recipe's calls, written as the seed writes them (mistralai 3.7 form), replay offline from its cassette.

Every step below is a piece of a recipe: the call a reader runs and what it must
give back. Each step runs against ``make_client("replay", cassette=<slug>)`` with
sockets refused, and together the steps of a recipe use every exchange its
cassette holds.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable, Callable

import pytest
from mistralai.client import errors, models
from recipes import BY_SLUG, MODEL, RECIPES

from cookbook import ReplayMiss, make_client

pytestmark = pytest.mark.usefixtures("no_network")

AGENT_ID = "ag_01a21301930078d7b8d29852ce342a4a"
EPHEMERAL_ID = "01a2136f-7000-745e-a486-b059fee02702"
DEEPWIKI_TOOLS = ["ask_question", "read_wiki_contents", "read_wiki_structure"]
# tool.execution names the SDK knows as built-in; any other name is a connector's (MCP) tool
BUILT_IN = set(typing.get_args(typing.get_args(models.BuiltInConnectors)[0]))

Step = Callable[[typing.Any], Awaitable[None]]
STEPS: dict[str, list[Step]] = {recipe["slug"]: [] for recipe in RECIPES}


def step(slug: str) -> Callable[[Step], Step]:
    def register(function: Step) -> Step:
        STEPS[slug].append(function)
        return function

    return register


# --------------------------------------------------------------------------- reading responses


def answer(response) -> str:
    """The seed's display_response, returning the text instead of printing it."""
    texts = []
    for output in response.outputs:
        if output.type == "message.output":
            content = output.content
            texts.append(content if isinstance(content, str) else "".join(
                chunk.text if hasattr(chunk, "text") else str(chunk) for chunk in content))
    return "\n".join(texts)


def tool_calls(response, *connectors: str) -> list[tuple[str, str | None]]:
    """(tool name, connector name or None for a built-in tool) for each tool.execution entry.

    The API names a connector's call ``<connector name>_<MCP tool name>``; ``connectors`` are the names the
    request's tools give.
    """
    calls = []
    for output in response.outputs:
        if output.type != "tool.execution":
            continue
        assert output.info == {}  # the tool's result, never connector metadata
        if output.name in BUILT_IN:
            calls.append((output.name, None))
            continue
        (connector,) = [c for c in connectors if output.name.startswith(f"{c}_")]
        calls.append((output.name[len(connector) + 1:], connector))
    return calls


def references(response) -> list[models.ToolReferenceChunk]:
    return [chunk for o in response.outputs if o.type == "message.output" and not isinstance(o.content, str)
            for chunk in o.content if isinstance(chunk, models.ToolReferenceChunk)]


def prompt_of(slug: str, which: str = "prompts", index: int = 0) -> str:
    return BY_SLUG[slug][which][index]


async def ask(client, prompt: str, **kwargs):
    return await client.beta.conversations.start_async(
        model=MODEL, inputs=[{"role": "user", "content": prompt}], **kwargs)


# --------------------------------------------------------------------------- 1. hello world


@step("01_hello_world")
async def france_is_answered_with_paris(client):
    response = await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What is the capital of France?"}],
    )
    assert answer(response) == "The capital of France is Paris."
    assert response.object == "conversation.response" and response.conversation_id.startswith("conv_")
    assert response.usage.total_tokens == 18


@step("01_hello_world")
async def the_alternative_prompt_is_answered_with_tokyo(client):
    response = await ask(client, prompt_of("01_hello_world", "alternative_prompts"))
    assert answer(response) == "The capital of Japan is Tokyo."


@step("01_hello_world")
async def the_streamed_answer_arrives_in_deltas_that_add_up(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What is the capital of France?"}],
    )
    events = [event async for event in stream]
    kinds = [event.event for event in events]
    assert kinds[0] == "conversation.response.started" and kinds[-1] == "conversation.response.done"
    deltas = [event.data.content for event in events if event.event == "message.output.delta"]
    assert len(deltas) > 3 and "".join(deltas) == "The capital of France is Paris."
    assert events[-1].data.usage.total_tokens == 18


@step("01_hello_world")
async def a_misspelled_model_is_a_400(client):
    with pytest.raises(errors.SDKError) as caught:
        await client.beta.conversations.start_async(
            model="mistral-smol-latest", inputs=[{"role": "user", "content": "What is the capital of France?"}])
    assert caught.value.status_code == 400
    assert json.loads(caught.value.body) == {"object": "error", "message": "Invalid model: mistral-smol-latest",
                                             "type": "invalid_model", "param": None, "code": "1500",
                                             "raw_status_code": 400}


@step("01_hello_world")
async def the_alternative_prompt_streams_too(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt_of("01_hello_world", "alternative_prompts")}],
    )
    deltas = [event.data.content async for event in stream if event.event == "message.output.delta"]
    assert "".join(deltas) == "The capital of Japan is Tokyo."


@step("01_hello_world")
async def an_overloaded_service_is_a_503(client):
    with pytest.raises(errors.SDKError) as caught:
        await ask(client, "What is the capital of France? (overload demo)")
    assert caught.value.status_code == 503 and "overloaded" in caught.value.body


@step("02_web_search")
async def too_many_requests_is_a_429(client):
    with pytest.raises(errors.SDKError) as caught:
        await ask(client, "What is the current weather in Paris? Use web search. (rate limit demo)",
                  tools=[{"type": "web_search"}])
    assert caught.value.status_code == 429 and json.loads(caught.value.body)["message"] == "Rate limit exceeded"


# --------------------------------------------------------------------------- 2. web search


@step("02_web_search")
async def tokyo_weather_streams_with_its_search(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What is the current weather in Tokyo? Use web search."}],
        tools=[{"type": "web_search"}],
    )
    events = [event async for event in stream]
    assert [e.data.name for e in events if e.event == "tool.execution.done"] == ["web_search"]
    assert events[-1].event == "conversation.response.done"


async def _weather(client, prompt: str):
    return await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt}],
        tools=[{"type": "web_search"}],
    )


@step("02_web_search")
async def paris_weather_comes_from_a_web_search_with_sources(client):
    response = await _weather(client, "What is the current weather in Paris? Use web search.")
    assert tool_calls(response) == [("web_search", None)]
    assert json.loads(response.outputs[0].arguments) == {"query": "current weather in Paris"}
    assert "Paris it is 7°C" in answer(response)
    sources = references(response)
    assert len(sources) == 2 and all(s.tool == "web_search" and s.url.startswith("https://") for s in sources)
    assert response.usage.connectors == {"web_search": 1} and response.usage.connector_tokens > 0


@step("02_web_search")
async def tokyo_weather_is_the_alternative_prompt(client):
    response = await _weather(client, prompt_of("02_web_search", "alternative_prompts"))
    assert tool_calls(response) == [("web_search", None)]
    assert "Tokyo" in answer(response) and len(references(response)) == 3


@step("02_web_search")
async def the_streamed_search_reports_the_tool_then_the_cited_answer(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What is the current weather in Paris? Use web search."}],
        tools=[{"type": "web_search"}],
    )
    events = [event async for event in stream]
    kinds = [event.event for event in events]
    first_text = kinds.index("message.output.delta")
    assert kinds[:2] == ["conversation.response.started", "tool.execution.started"]
    assert kinds[first_text - 1] == "tool.execution.done"
    assert set(kinds[2:first_text - 1]) == {"tool.execution.delta"}  # the arguments, piece by piece
    assert events[1].data.name == "web_search" and events[1].data.arguments == ""
    assert json.loads("".join(e.data.arguments for e in events if e.event == "tool.execution.delta")) == {
        "query": "current weather in Paris"}
    assert kinds[-1] == "conversation.response.done"
    contents = [event.data.content for event in events if event.event == "message.output.delta"]
    cited = [c for c in contents if isinstance(c, models.ToolReferenceChunk)]
    assert len(cited) == 2 and cited[0].title.startswith("Météo Paris")
    text = "".join(c for c in contents if isinstance(c, str))
    assert text.startswith("Right now in Paris it is 7°C") and text.endswith("out this evening.")


# --------------------------------------------------------------------------- 3. custom connector


async def _deepwiki(client, prompt: str, connector_id: str = "my_deepwiki"):
    return await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt}],
        tools=[{"type": "connector", "connector_id": connector_id}],
    )


@step("03_custom_connector")
async def the_structure_question_calls_read_wiki_structure(client):
    response = await _deepwiki(client, "Using deepwiki, tell me about the structure of the sqlite/sqlite repository.")
    assert tool_calls(response, "my_deepwiki") == [("read_wiki_structure", "my_deepwiki")]
    assert json.loads(response.outputs[0].arguments) == {"repoName": "sqlite/sqlite"}
    text = answer(response)
    assert all(directory in text for directory in ("**src/**", "**ext/**", "**test/**"))
    assert response.usage.connectors == {"my_deepwiki": 1}


@step("03_custom_connector")
async def the_test_suite_question_calls_ask_question(client):
    response = await _deepwiki(client, prompt_of("03_custom_connector", "alternative_prompts"))
    assert tool_calls(response, "my_deepwiki") == [("ask_question", "my_deepwiki")]
    assert "testfixture" in answer(response)


@step("03_custom_connector")
async def a_misspelled_connector_is_a_404(client):
    with pytest.raises(errors.SDKError) as caught:
        await _deepwiki(client, prompt_of("03_custom_connector"), connector_id="my_deepwikii")
    assert caught.value.status_code == 404 and "my_deepwikii" in json.loads(caught.value.body)["message"]


async def _preflight_lists_deepwikis_three_tools(client):
    from cookbook import inspect_mcp_server

    info = await inspect_mcp_server("https://mcp.deepwiki.com/mcp", client=client)
    assert info.tool_names == DEEPWIKI_TOOLS and info.name == "DeepWiki"


@step("03_custom_connector")
async def the_mcp_preflight_replays(client):
    await _preflight_lists_deepwikis_three_tools(client)


# --------------------------------------------------------------------------- 4. multiple tools


async def _both(client, prompt: str, tools=None):
    return await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt}],
        tools=tools or [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}],
    )


@step("04_multiple_tools")
async def the_model_lists_web_search_and_the_deepwiki_tools(client):
    response = await _both(client, "What tools do you have access to? List them briefly.")
    assert tool_calls(response) == []
    text = answer(response)
    assert all(f"**{name}**" in text for name in ["web_search", *DEEPWIKI_TOOLS])


@step("04_multiple_tools")
async def the_model_routes_news_to_search_and_docs_to_deepwiki(client):
    text = answer(await _both(client, prompt_of("04_multiple_tools", "alternative_prompts")))
    assert "`web_search`" in text and "`read_wiki_contents`" in text


@step("04_multiple_tools")
async def the_connectors_list_has_deepwiki_and_gmail(client):
    page = await client.beta.connectors.list_async()
    assert [(c.name, c.protocol) for c in page.items] == [("my_deepwiki", "mcp"), ("gmail", "mcp")]
    assert page.items[0].server == "https://mcp.deepwiki.com/mcp" and page.items[1].mistral is True
    assert page.pagination.page_size == 100 and page.pagination.next_cursor is None


@step("04_multiple_tools")
async def deepwiki_exposes_three_tools(client):
    tools = await client.beta.connectors.list_tools_async(connector_id_or_name="my_deepwiki")
    assert all(isinstance(tool, models.MCPTool) for tool in tools)
    assert [tool.name for tool in tools] == DEEPWIKI_TOOLS
    assert all("repoName" in tool.input_schema["required"] for tool in tools)
    assert tools[0].input_schema["required"] == ["repoName", "question"]


@step("04_multiple_tools")
async def the_tool_listing_streams_too(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": "What tools do you have access to? List them briefly."}],
        tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"}],
    )
    deltas = [event.data.content async for event in stream if event.event == "message.output.delta"]
    text = "".join(deltas)
    assert len(deltas) > 20 and all(f"**{name}**" in text for name in ["web_search", *DEEPWIKI_TOOLS])


@step("04_multiple_tools")
async def the_same_connector_twice_is_a_422(client):
    twice = [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"},
             {"type": "connector", "connector_id": "my_deepwiki"}]
    with pytest.raises(errors.HTTPValidationError) as caught:
        await _both(client, prompt_of("04_multiple_tools"), tools=twice)
    assert caught.value.status_code == 422
    assert caught.value.data.detail[0].loc == ["body", "tools", 2]


# --------------------------------------------------------------------------- 5. tool filters


EXCLUDE = {"exclude": ["read_wiki_structure"]}
INCLUDE = {"include": ["ask_question"]}


async def _filtered(client, prompt: str, tool_configuration: dict):
    return await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt}],
        tools=[{"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": tool_configuration}],
    )


def _visible(tool_configuration: dict) -> set[str]:
    if "include" in tool_configuration:
        return set(tool_configuration["include"])
    return set(DEEPWIKI_TOOLS) - set(tool_configuration["exclude"])


@step("05_tool_filters")
async def excluding_a_tool_hides_it(client):
    response = await _filtered(client, "What tools do you have access to? List their names.", EXCLUDE)
    assert answer(response) == "I have access to: read_wiki_contents, ask_question"
    assert set(answer(response).split(": ")[1].split(", ")) == _visible(EXCLUDE)


@step("05_tool_filters")
async def including_a_tool_shows_only_it(client):
    response = await _filtered(client, "What tools do you have access to? List their names.", INCLUDE)
    assert answer(response) == "I have access to: ask_question"
    assert set(answer(response).split(": ")[1].split(", ")) == _visible(INCLUDE)


@step("05_tool_filters")
async def the_alternative_prompt_answers_no_under_both_filters(client):
    prompt = prompt_of("05_tool_filters", "alternative_prompts")
    excluded = answer(await _filtered(client, prompt, EXCLUDE))
    included = answer(await _filtered(client, prompt, INCLUDE))
    assert excluded.startswith("No") and "`read_wiki_contents`" in excluded
    assert included.startswith("No") and "`ask_question`" in included


@step("05_tool_filters")
async def filter_names_come_from_list_tools(client):
    tools = await client.beta.connectors.list_tools_async(connector_id_or_name="my_deepwiki")
    names = {tool.name for tool in tools}
    assert set(EXCLUDE["exclude"]) <= names and set(INCLUDE["include"]) <= names


@step("05_tool_filters")
async def the_connectors_list_offers_deepwiki_and_gmail_to_pick_from(client):
    page = await client.beta.connectors.list_async()
    assert [c.name for c in page.items] == ["my_deepwiki", "gmail"]
    assert [m.method_type for m in page.items[1].supported_auth_methods] == ["oauth2"]


@step("05_tool_filters")
async def include_and_exclude_together_is_a_400(client):
    with pytest.raises(errors.SDKError) as caught:
        await _filtered(client, prompt_of("05_tool_filters"), {**INCLUDE, **EXCLUDE})
    assert caught.value.status_code == 400 and "not both" in json.loads(caught.value.body)["message"]


@step("05_tool_filters")
async def including_a_tool_that_does_not_exist_is_a_422(client):
    with pytest.raises(errors.HTTPValidationError) as caught:
        await _filtered(client, prompt_of("05_tool_filters"), {"include": ["read_wiki_structur"]})
    assert caught.value.status_code == 422 and "read_wiki_structur'" in caught.value.data.detail[0].msg


# --------------------------------------------------------------------------- 6. agent with connectors


async def _agent_recipe(client, prompt: str) -> tuple:
    """Recipe 6 as the seed writes it: create, chat, and always delete."""
    agent_id: str | None = None
    deleted = None
    try:
        agent = await client.beta.agents.create_async(
            name="deepwiki_agent",
            description="Agent with DeepWiki access for code repository exploration",
            model="mistral-small-latest",
            instructions="You are a helpful assistant that can explore code repositories using DeepWiki. Be concise.",
            tools=[{"type": "connector", "connector_id": "my_deepwiki"}],
        )
        agent_id = agent.id
        response = await client.beta.conversations.start_async(
            agent_id=agent.id,
            inputs=[{"role": "user", "content": prompt}],
        )
    finally:
        if agent_id:
            deleted = await client.beta.agents.delete_async(agent_id=agent_id)
    return agent, response, deleted


@step("06_agent_with_connectors")
async def the_agent_is_created_used_and_deleted(client):
    agent, response, deleted = await _agent_recipe(client, "What is the main purpose of the sqlite repository?")
    assert (agent.id, agent.name, agent.model, agent.object) == (AGENT_ID, "deepwiki_agent", MODEL, "agent")
    assert agent.tools[0].connector_id == "my_deepwiki" and agent.version == 0
    assert tool_calls(response, "my_deepwiki") == [("ask_question", "my_deepwiki")]
    assert all(output.agent_id == AGENT_ID for output in response.outputs)
    # the agent says what it will do, calls the tool, then answers
    assert [output.type for output in response.outputs] == ["message.output", "tool.execution", "message.output"]
    assert response.outputs[-1].content.startswith("SQLite is a self-contained, serverless")
    assert deleted is None  # 204: agents.delete returns nothing


@step("06_agent_with_connectors")
async def the_agent_answers_the_alternative_prompt(client):
    _, response, _ = await _agent_recipe(client, prompt_of("06_agent_with_connectors", "alternative_prompts"))
    assert tool_calls(response, "my_deepwiki") == [("read_wiki_contents", "my_deepwiki")]
    assert "write-ahead log" in answer(response)


@step("06_agent_with_connectors")
async def an_agent_id_with_a_model_is_a_422(client):
    with pytest.raises(errors.HTTPValidationError) as caught:
        await client.beta.conversations.start_async(
            agent_id=AGENT_ID, model=MODEL,
            inputs=[{"role": "user", "content": "What is the main purpose of the sqlite repository?"}])
    assert caught.value.status_code == 422
    assert "Pass only agent_id" in caught.value.data.detail[0].msg


# --------------------------------------------------------------------------- 7. OAuth (Gmail)


async def _gmail(client, prompt: str, token: str = "your-google-oauth-token"):
    return await client.beta.conversations.start_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt}],
        tools=[{"type": "connector", "connector_id": "gmail",
                "authorization": {"type": "oauth2-token", "value": token}}],
    )


@step("07_oauth_gmail")
async def the_latest_email_is_found_with_any_token(client):
    response = await _gmail(client, "What's the latest email I received?", token="fake-real-looking-token")
    assert tool_calls(response, "gmail") == [("search_emails", "gmail")]
    assert "Ada Lovelace" in answer(response) and "Q4 planning notes" in answer(response)


@step("07_oauth_gmail")
async def unread_emails_are_the_alternative_prompt(client):
    text = answer(await _gmail(client, prompt_of("07_oauth_gmail", "alternative_prompts")))
    assert text.startswith("Yes") and "2 unread" in text


@step("07_oauth_gmail")
async def an_expired_token_is_a_401(client):
    with pytest.raises(errors.SDKError) as caught:
        await _gmail(client, "Summarize my inbox (expired token demo).")
    assert caught.value.status_code == 401 and "expired" in json.loads(caught.value.body)["message"]


@step("07_oauth_gmail")
async def a_token_without_the_gmail_scope_is_a_403(client):
    with pytest.raises(errors.SDKError) as caught:
        await _gmail(client, "Summarize my inbox (missing scope demo).")
    assert caught.value.status_code == 403 and "gmail.readonly" in json.loads(caught.value.body)["message"]


@step("07_oauth_gmail")
async def gmail_lists_the_tool_its_calls_are_named_after(client):
    tools = await client.beta.connectors.list_tools_async(connector_id_or_name="gmail")
    assert [tool.name for tool in tools] == ["search_emails", "read_email"]


# --------------------------------------------------------------------------- 8. connector lifecycle


async def _lifecycle(client, first_prompt: str) -> dict:
    """Recipe 8 as the seed writes it, in SDK 3.7 form (connectors.create takes ``request=``)."""
    out: dict = {}
    connector_id: str | None = None
    try:
        connector = await client.beta.connectors.create_async(request={
            "protocol": "mcp",
            "name": "ephemeral_deepwiki",
            "description": "Temporary connector for a one-off task",
            "server": "https://mcp.deepwiki.com/mcp",
            "visibility": "private",
        })
        connector_id = str(connector.id)
        out["connector"] = connector
        out["simple"] = await client.beta.conversations.start_async(
            model="mistral-small-latest",
            inputs=[{"role": "user", "content": first_prompt}],
            tools=[{"type": "connector", "connector_id": "ephemeral_deepwiki"}],
        )
        out["multi"] = await client.beta.conversations.start_async(
            model="mistral-small-latest",
            inputs=[{"role": "user", "content": "Search the web for the latest SQLite release version, then use "
                                                "deepwiki to find where the version number is defined in the "
                                                "sqlite/sqlite repo."}],
            tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "ephemeral_deepwiki"}],
        )
    finally:
        if connector_id:
            out["deleted"] = await client.beta.connectors.delete_async(connector_id=connector_id)
    return out


@step("08_connector_lifecycle")
async def a_connector_is_created_used_twice_and_deleted(client):
    out = await _lifecycle(client, "Using deepwiki, summarize the sqlite/sqlite repo in one sentence.")
    connector = out["connector"]
    assert isinstance(connector, models.MCPConnector)
    assert (connector.id, connector.name, connector.visibility) == (EPHEMERAL_ID, "ephemeral_deepwiki", "private")
    assert answer(out["simple"]) == "SQLite is a self-contained, serverless SQL database engine used worldwide."
    assert tool_calls(out["simple"], "ephemeral_deepwiki") == [("read_wiki_contents", "ephemeral_deepwiki")]
    assert tool_calls(out["multi"], "ephemeral_deepwiki") == [("web_search", None),
                                                              ("ask_question", "ephemeral_deepwiki")]
    assert "3.51.0" in answer(out["multi"]) and "`VERSION`" in answer(out["multi"])
    assert [ref.tool for ref in references(out["multi"])] == ["web_search", "ephemeral_deepwiki_ask_question"]
    assert out["multi"].usage.connectors == {"web_search": 1, "ephemeral_deepwiki": 1}
    assert out["deleted"].message == "Connector deleted successfully"


@step("08_connector_lifecycle")
async def the_alternative_first_prompt_names_three_directories(client):
    out = await _lifecycle(client, prompt_of("08_connector_lifecycle", "alternative_prompts"))
    assert tool_calls(out["simple"], "ephemeral_deepwiki") == [("read_wiki_structure", "ephemeral_deepwiki")]
    assert all(d in answer(out["simple"]) for d in ("**src/**", "**test/**", "**ext/**"))
    assert out["deleted"].message == "Connector deleted successfully"


@step("08_connector_lifecycle")
async def the_search_and_the_deepwiki_question_stream_in_parallel(client):
    stream = await client.beta.conversations.start_stream_async(
        model="mistral-small-latest",
        inputs=[{"role": "user", "content": prompt_of("08_connector_lifecycle", index=1)}],
        tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "ephemeral_deepwiki"}],
    )
    events = [event async for event in stream]
    tool_events = [(e.event, e.data.name) for e in events if e.event.startswith("tool.execution.")]
    first_done = [kind for kind, _ in tool_events].index("tool.execution.done")
    started = [name for kind, name in tool_events[:first_done] if kind == "tool.execution.started"]
    assert started == ["web_search", "ephemeral_deepwiki_ask_question"]  # both before either is done
    text = "".join(e.data.content for e in events
                   if e.event == "message.output.delta" and isinstance(e.data.content, str))
    assert "3.51.0" in text and "`VERSION`" in text


@step("08_connector_lifecycle")
async def an_unreachable_server_is_a_422(client):
    with pytest.raises(errors.HTTPValidationError) as caught:
        await client.beta.connectors.create_async(request={
            "protocol": "mcp",
            "name": "unreachable_deepwiki",
            "description": "Connector whose MCP server cannot be reached",
            "server": "https://mcp.invalid.example/mcp",
            "visibility": "private",
        })
    assert caught.value.status_code == 422 and caught.value.data.detail[0].loc == ["body", "server"]


# --------------------------------------------------------------------------- the tests


@step("08_connector_lifecycle")
async def the_mcp_preflight_replays_before_the_connector_is_created(client):
    await _preflight_lists_deepwikis_three_tools(client)


ALL_STEPS = [pytest.param(slug, function, id=f"{slug}-{function.__name__}")
             for slug, functions in STEPS.items() for function in functions]


@pytest.mark.parametrize(("slug", "function"), ALL_STEPS)
async def test_recipe_step_replays_offline(slug, function):
    await function(make_client("replay", cassette=slug, check_requests=False))


@pytest.mark.parametrize("slug", list(STEPS))
async def test_every_recorded_exchange_is_used_by_a_recipe_step(slug):
    client = make_client("replay", cassette=slug, check_requests=False)
    for function in STEPS[slug]:
        await function(client)
    (cassette,) = client.cookbook.transport.cassettes
    unused = [f"{request.method} {request.uri}" for index, (request, _) in enumerate(cassette.data)
              if not cassette.play_counts[index]]
    assert not unused, f"{slug}: no recipe step uses {unused}"


@pytest.mark.parametrize("recipe", RECIPES, ids=[r["slug"] for r in RECIPES])
async def test_an_unrecorded_prompt_names_the_cassette_and_the_recorded_prompts(recipe):
    client = make_client("replay", cassette=recipe["slug"])
    with pytest.raises(ReplayMiss) as caught:
        await ask(client, "What is the airspeed velocity of an unladen swallow?")
    message = str(caught.value)
    assert recipe["slug"] in message and caught.value.cassettes == (recipe["slug"],)
    assert "Recorded prompts for this endpoint:" in message
    for prompt in recipe["prompts"] + recipe["alternative_prompts"]:
        assert repr(prompt) in message


async def test_a_repeated_oauth_call_replays_again():
    client = make_client("replay", cassette="07_oauth_gmail")
    for _ in range(3):
        response = await _gmail(client, "What's the latest email I received?", token="fake-real-looking-token")
        assert "Ada Lovelace" in answer(response)


async def test_a_replay_miss_never_shows_the_oauth_token():
    client = make_client("replay", cassette="07_oauth_gmail")
    with pytest.raises(ReplayMiss) as caught:
        await _gmail(client, "An unrecorded question", token="fake-token-that-must-not-show")
    assert "fake-token-that-must-not-show" not in str(caught.value)

