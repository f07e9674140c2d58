"""Requests the API would refuse are refused before anything is sent, with a message that names the fix."""

from __future__ import annotations

import pytest
from mistralai.client import models

from cookbook import InvalidRequest, make_client, tools

PROMPT = [{"role": "user", "content": "What tools do you have access to? List them briefly."}]


@pytest.fixture
def client(no_network, clean_env):
    return make_client("replay", cassette="04_multiple_tools")


def test_builders_make_the_specs_the_recipes_write():
    assert tools.web_search() == {"type": "web_search"}
    assert tools.web_search(premium=True) == {"type": "web_search_premium"}
    assert tools.connector("my_deepwiki") == {"type": "connector", "connector_id": "my_deepwiki"}
    assert tools.connector("my_deepwiki", exclude=["read_wiki_structure"]) == {
        "type": "connector", "connector_id": "my_deepwiki",
        "tool_configuration": {"exclude": ["read_wiki_structure"]}}
    spec = tools.connector("gmail", authorization="token-value")
    assert spec["authorization"] == {"type": "oauth2-token", "value": "token-value"}
    for built in (tools.web_search(), tools.connector("my_deepwiki", include="ask_question"), spec):
        models.ConversationRequest.model_validate({"inputs": "hi", "model": "m", "tools": [built]})


def test_a_builder_cannot_make_both_filters():
    with pytest.raises(InvalidRequest, match="include or exclude, not both"):
        tools.connector("my_deepwiki", include=["ask_question"], exclude=["read_wiki_structure"])


def test_invalid_request_is_a_value_error():
    assert issubclass(InvalidRequest, ValueError)


@pytest.mark.parametrize(
    ("arguments", "fix"),
    [
        ({"tools": [{"type": "connector", "connector_id": "my_deepwiki",
                     "tool_configuration": {"include": ["ask_question"], "exclude": ["read_wiki_structure"]}}]},
         "Use one: include keeps only"),
        ({"tools": [{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"},
                    {"type": "connector", "connector_id": "my_deepwiki"}]},
         "connector 'my_deepwiki' is already tools[1]. List each connector once"),
        ({"agent_id": "ag_1"}, "Give agent_id or model, not both"),
        ({"tools": [{"type": "web-search"}]}, "Did you mean 'web_search'?"),
        ({"tools": [{"type": "connector"}]}, "a connector needs connector_id"),
        ({"tools": [{"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": {"include": "x"}}]},
         "must be a list of tool names"),
        ({"tools": [{"type": "connector", "connector_id": "gmail", "authorization": {"type": "oauth2-token"}}]},
         "authorization needs a token"),
        ({"inputs": [{"role": "user", "content": "   "}]}, "The prompt is empty"),
        ({"inputs": ""}, "The prompt is empty"),
        ({"inputs": []}, "The prompt is empty"),
        ({"model": None}, "Say who answers"),
    ],
)
async def test_the_client_refuses_a_bad_request_before_sending_it(client, arguments, fix):
    call = {"model": "mistral-small-latest", "inputs": PROMPT, **arguments}
    with pytest.raises(InvalidRequest, match=fix.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")):
        await client.beta.conversations.start_async(**call)
    with pytest.raises(InvalidRequest):
        client.beta.conversations.start(**call)
    with pytest.raises(InvalidRequest):
        client.beta.conversations.start_stream(**call)
    assert client.cookbook.sent == []  # nothing reached the transport


async def test_agents_are_checked_too(client):
    with pytest.raises(InvalidRequest, match="already tools"):
        await client.beta.agents.create_async(
            name="a", model="mistral-small-latest",
            tools=[{"type": "connector", "connector_id": "x"}, {"type": "connector", "connector_id": "x"}])
    with pytest.raises(InvalidRequest, match="needs a name"):
        client.beta.agents.create(name=" ", model="mistral-small-latest")
    assert client.cookbook.sent == []


async def test_valid_requests_in_every_shape_still_go_through(client):
    response = await client.beta.conversations.start_async(
        model="mistral-small-latest", inputs=PROMPT, tools=[tools.web_search(), tools.connector("my_deepwiki")])
    assert response.outputs
    sdk_models = [models.WebSearchTool(), models.CustomConnector(connector_id="my_deepwiki")]
    response = await client.beta.conversations.start_async(model="mistral-small-latest", inputs=PROMPT,
                                                           tools=sdk_models)
    assert response.outputs and len(client.cookbook.sent) == 2


async def test_an_unchecked_client_lets_the_api_answer(no_network, clean_env):
    from mistralai.client import errors

    raw = make_client("replay", cassette="04_multiple_tools", check_requests=False)
    with pytest.raises(errors.HTTPValidationError) as caught:
        await raw.beta.conversations.start_async(
            model="mistral-small-latest", inputs=PROMPT,
            tools=[{"type": "web_search"}, {"type": "connector", "connector_id": "my_deepwiki"},
                   {"type": "connector", "connector_id": "my_deepwiki"}])
    assert caught.value.status_code == 422
