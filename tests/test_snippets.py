"""curl and TypeScript equivalents come from the request actually sent and never hold a secret."""

from __future__ import annotations

import json

import pytest
from fake_api import conversation_response
from test_replay import ENTRY, _interaction, write_cassette

from cookbook import make_client
from cookbook._client import SentRequest
from cookbook._snippets import Equivalents, curl, equivalents, typescript

TOKEN = "fake-oauth-token-for-snippet-tests-0123"
TOOLS = [
    {"type": "web_search"},
    {"type": "connector", "connector_id": "gmail", "authorization": {"type": "oauth2-token", "value": TOKEN}},
    {"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": {"include": ["ask_question"]}},
]


@pytest.fixture
def client(tmp_path, clean_env, no_network):
    body = {"inputs": [{"role": "user", "content": "It's mail time", **ENTRY}], "stream": False,
            "tools": [{"type": "web_search"},
                      {"connector_id": "gmail", "type": "connector",
                       "authorization": {"type": "oauth2-token", "value": "REDACTED"}},
                      {"connector_id": "my_deepwiki", "type": "connector",
                       "tool_configuration": {"include": ["ask_question"]}}],
            "model": "mistral-small-latest"}
    path = write_cassette(tmp_path / "07_demo.yaml", [_interaction(body, conversation_response("You have mail."))])
    client = make_client("replay", cassette=path)
    client.beta.conversations.start(model="mistral-small-latest",
                                    inputs=[{"role": "user", "content": "It's mail time"}], tools=TOOLS)
    return client


def test_the_client_notes_each_request_it_sends_without_secrets(client):
    (sent,) = client.cookbook.sent
    assert sent.method == "POST" and sent.path == "/v1/conversations"
    assert sent.body["tools"][1]["authorization"]["value"] == "REDACTED"
    assert TOKEN not in json.dumps(sent.body)


def test_curl_is_the_sent_body_with_the_key_from_the_environment(client):
    snippet = equivalents(client).curl
    assert snippet.startswith('curl -X POST "https://api.mistral.ai/v1/conversations"')
    assert '-H "Authorization: Bearer ${MISTRAL_API_KEY}"' in snippet
    body = json.loads(snippet.split("-d '", 1)[1].rsplit("'", 1)[0].replace("'\\''", "'"))
    assert body["tools"][2] == {"connector_id": "my_deepwiki", "type": "connector",
                                "tool_configuration": {"include": ["ask_question"]}}
    assert body["inputs"][0]["content"] == "It's mail time"
    assert body["tools"][1]["authorization"]["value"] == "<your-oauth-token>"


def test_typescript_uses_the_sdk_camel_case_names(client):
    code = equivalents(client).typescript
    assert 'import { Mistral } from "@mistralai/mistralai";' in code
    assert "const response = await client.beta.conversations.start({" in code
    assert 'connectorId: "my_deepwiki"' in code and 'toolConfiguration: { include: ["ask_question"] }' in code
    assert "connector_id" not in code and "prefix" not in code and "message.input" not in code
    assert '{ role: "user", content: "It\'s mail time" }' in code


def test_neither_snippet_contains_a_secret(client):
    shown = str(equivalents(client)) + equivalents(client)._repr_mimebundle_()["text/html"]
    assert TOKEN not in shown and "REDACTED" not in shown and "replay-mode" not in shown


def test_each_endpoint_of_the_recipes_maps_to_its_sdk_call():
    calls = [
        ("POST", "/v1/agents", {"name": "a", "model": "m"}, "const agent = await client.beta.agents.create("),
        ("DELETE", "/v1/agents/ag_1", None, 'await client.beta.agents.delete({ agentId: "ag_1" });'),
        ("POST", "/v1/connectors", {"protocol": "mcp"}, "const connector = await client.beta.connectors.create("),
        ("GET", "/v1/connectors?page_size=100", None, "const connectors = await client.beta.connectors.list();"),
        ("GET", "/v1/connectors/my_deepwiki/tools?page_size=100", None,
         'client.beta.connectors.listTools({ connectorIdOrName: "my_deepwiki" })'),
        ("DELETE", "/v1/connectors/c-1", None,
         'const deleted = await client.beta.connectors.delete({ connectorId: "c-1" })'),
        ("POST", "/v1/conversations", {"inputs": "x", "stream": True}, "client.beta.conversations.startStream("),
    ]
    for method, path, body, expected in calls:
        assert expected in typescript(SentRequest(method, "https://api.mistral.ai" + path, body))


def test_several_calls_declare_distinct_names():
    sent = tuple(SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"inputs": "x"}) for _ in range(3))
    code = Equivalents(sent).typescript
    assert "const response =" in code and "const response2 =" in code and "const response3 =" in code


def test_streamed_curl_keeps_the_connection_open():
    line = curl(SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"stream": True}))
    assert "-N" in line and "text/event-stream" in line


def test_equivalents_before_any_request_says_what_to_do(clean_env, tmp_path):
    client = make_client("replay", cassette=write_cassette(tmp_path / "x.yaml", []))
    with pytest.raises(ValueError, match="run the recipe cell first"):
        equivalents(client)


def test_a_failed_request_does_not_replace_the_recipe_request(client, tmp_path):
    bad = {"inputs": [{"role": "user", "content": "typo", **ENTRY}], "stream": False, "model": "mistral-smol-latest"}
    error = _interaction(bad, {"object": "error", "message": "Invalid model", "type": "invalid_model", "code": "1500"})
    error["response"]["status"] = {"code": 400, "message": "Bad Request"}
    failing = make_client("replay", cassette=write_cassette(tmp_path / "err.yaml", [error]))
    failing.cookbook.sent.extend(client.cookbook.sent)  # the recipe's request came first
    with pytest.raises(Exception, match="400"):
        failing.beta.conversations.start(model="mistral-smol-latest", inputs=[{"role": "user", "content": "typo"}])
    assert [r.status for r in failing.cookbook.sent] == [200, 400]
    assert "mail time" in equivalents(failing).curl
    assert "mistral-smol-latest" in equivalents(failing, failed=True).curl
