"""Agents and connectors a recipe creates are deleted even when a later step fails, and the error surfaces.

A failure is injected at each step of recipes 6 and 8 by replaying their cassette with that step's answer
turned into a 500; the code run is the notebooks' own recipe cell.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
import yaml
from _responses import ipython_shell
from mistralai.client import errors

from cookbook import InvalidRequest, _cassette, make_client, temporary_agent, temporary_connector

ROOT = Path(__file__).resolve().parent.parent
SERVER_ERROR = {"object": "error", "message": "Internal server error", "type": "internal_error", "code": "5000"}

# (cassette, the steps a failure is injected at: method, path prefix, which occurrence)
STEPS = {
    "06_agent_with_connectors": [("POST", "/v1/agents", 0), ("POST", "/v1/conversations", 0)],
    "08_connector_lifecycle": [("POST", "/v1/connectors", 0), ("POST", "/v1/conversations", 0),
                               ("POST", "/v1/conversations", 2)],
}
CASES = [(slug, step) for slug, steps in STEPS.items() for step in steps]


def failing_cassette(tmp_path: Path, slug: str, step: tuple[str, str, int]) -> Path:
    """A copy of ``slug``'s cassette whose ``step`` answers 500."""
    doc = yaml.safe_load((_cassette.BUNDLED_DIR / f"{slug}.yaml").read_text())
    method, path, occurrence = step
    hits = [i for i in doc["interactions"] if i["request"]["method"] == method
            and i["request"]["uri"].split("#")[0].endswith(path) and i["response"]["status"]["code"] < 400]
    target = hits[occurrence]["response"]
    target.update(status={"code": 500, "message": "Internal Server Error"}, json=SERVER_ERROR)
    target.pop("sse", None)
    out = tmp_path / f"{slug}-fails.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return out


def recipe_namespace(slug: str, marker: str) -> tuple[str, dict]:
    """The notebook's recipe cell (the one containing ``marker``) and its parameters, as a namespace."""
    nb = nbformat.read(ROOT / "notebooks" / f"{slug}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {}
    exec(next(c.source for c in code if "parameters" in c.metadata.get("tags", [])), namespace)
    return next(c.source for c in code if marker in c.source), namespace


async def run_cell(source: str, namespace: dict) -> None:
    compiled = compile(source, "<recipe cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if result is not None:
        await result


def deletes(client) -> list[str]:
    return [r.path for r in client.cookbook.sent if r.method == "DELETE"]


@pytest.mark.parametrize(("slug", "step"), CASES, ids=[f"{s}-{m}{p}#{n}" for s, (m, p, n) in CASES])
async def test_the_recipe_cell_cleans_up_when_a_step_fails(tmp_path, no_network, clean_env, slug, step):
    from cookbook import display_response

    marker = "agents.create_async" if slug.startswith("06") else "connectors.create_async"
    source, namespace = recipe_namespace(slug, marker)
    client = make_client("replay", cassette=str(failing_cassette(tmp_path, slug, step)))
    namespace.update(client=client, display_response=display_response)
    with pytest.raises(errors.SDKError) as caught:
        await run_cell(source, namespace)
    assert caught.value.status_code == 500  # the original error surfaced
    created = step[1] != "/v1/agents" and step[1] != "/v1/connectors"
    if created:
        assert len(deletes(client)) == 1, "the DELETE was not sent"
        assert client.cookbook.sent[-1].method == "DELETE" and client.cookbook.sent[-1].ok
    else:
        assert deletes(client) == []  # nothing was created, nothing to delete


async def test_the_recipe_cell_deletes_once_when_all_goes_well(no_network, clean_env):
    from cookbook import display_response

    for slug, marker, path in [("06_agent_with_connectors", "agents.create_async", "/v1/agents/"),
                               ("08_connector_lifecycle", "connectors.create_async", "/v1/connectors/")]:
        source, namespace = recipe_namespace(slug, marker)
        client = make_client("replay", cassette=slug)
        namespace.update(client=client, display_response=display_response)
        await run_cell(source, namespace)
        assert [p.split("/")[2] for p in deletes(client)] == [path.split("/")[2]]


AGENT = dict(name="deepwiki_agent", description="Agent with DeepWiki access for code repository exploration",
             model="mistral-small-latest",
             instructions="You are a helpful assistant that can explore code repositories using DeepWiki. Be concise.",
             tools=[{"type": "connector", "connector_id": "my_deepwiki"}])
CONNECTOR = dict(name="ephemeral_deepwiki", description="Temporary connector for a one-off task",
                 server="https://mcp.deepwiki.com/mcp", visibility="private")


async def test_temporary_agent_deletes_the_agent_and_lets_the_error_through(tmp_path, no_network, clean_env):
    client = make_client("replay", cassette=str(failing_cassette(tmp_path, "06_agent_with_connectors",
                                                                 ("POST", "/v1/conversations", 0))))
    with pytest.raises(errors.SDKError) as caught:
        async with temporary_agent(client, **AGENT) as agent:
            await client.beta.conversations.start_async(
                agent_id=agent.id, inputs=[{"role": "user", "content": "What is the main purpose of the sqlite "
                                            "repository?"}])
    assert caught.value.status_code == 500
    assert deletes(client) == [f"/v1/agents/{agent.id}"]


async def test_temporary_connector_deletes_on_success_and_on_failure(tmp_path, no_network, clean_env):
    client = make_client("replay", cassette="08_connector_lifecycle")
    async with temporary_connector(client, **CONNECTOR) as connector:
        assert connector.name == "ephemeral_deepwiki"
    assert deletes(client) == [f"/v1/connectors/{connector.id}"]

    client = make_client("replay", cassette="08_connector_lifecycle")
    with pytest.raises(KeyError):
        async with temporary_connector(client, **CONNECTOR):
            raise KeyError("a step of yours failed")
    assert len(deletes(client)) == 1



def failing_delete_cassette(tmp_path: Path) -> Path:
    """Recipe 8's cassette in which the conversation fails (500) and so does deleting the connector (503)."""
    cassette = failing_cassette(tmp_path, "08_connector_lifecycle", ("POST", "/v1/conversations", 0))
    doc = yaml.safe_load(cassette.read_text())
    for item in doc["interactions"]:
        if item["request"]["method"] == "DELETE":
            item["response"].update(status={"code": 503, "message": "Service Unavailable"}, json=SERVER_ERROR)
    cassette.write_text(yaml.safe_dump(doc, sort_keys=False))
    return cassette

async def test_a_failed_delete_is_noted_on_the_original_error(tmp_path, no_network, clean_env):
    client = make_client("replay", cassette=str(failing_delete_cassette(tmp_path)))
    with pytest.raises(errors.SDKError) as caught:
        async with temporary_connector(client, **CONNECTOR):
            await client.beta.conversations.start_async(
                model="mistral-small-latest", tools=[{"type": "connector", "connector_id": "ephemeral_deepwiki"}],
                inputs=[{"role": "user", "content": "Using deepwiki, summarize the sqlite/sqlite repo in one "
                                                    "sentence."}])
    assert caught.value.status_code == 500  # the block's error, not the delete's
    assert any("deleting the connector" in note and "by hand" in note for note in caught.value.__notes__)



async def test_in_ipython_a_cookbook_error_still_shows_the_failed_delete(tmp_path, no_network, clean_env, capsys):
    """A step refused by the cookbook (its one-line message in IPython) keeps the note of the delete that failed."""
    client = make_client("replay", cassette=str(failing_delete_cassette(tmp_path)))
    with pytest.raises(InvalidRequest) as caught:
        async with temporary_connector(client, **CONNECTOR):
            await client.beta.conversations.start_async(model="mistral-small-latest", inputs="hi",
                                                        tools=[{"type": "connector"}])
    with ipython_shell() as (shell, _, _):
        shell.user_ns["error"] = caught.value
        shell.run_cell("raise error")
    shown = capsys.readouterr().out
    assert "InvalidRequest: tools[0]: a connector needs connector_id" in shown
    assert "…and deleting the connector " in shown and "failed too" in shown and "delete it by hand" in shown

async def test_nothing_is_deleted_when_the_create_fails(tmp_path, no_network, clean_env):
    client = make_client("replay", cassette=str(failing_cassette(tmp_path, "06_agent_with_connectors",
                                                                 ("POST", "/v1/agents", 0))))
    with pytest.raises(errors.SDKError):
        async with temporary_agent(client, **AGENT):
            pytest.fail("the block must not run")
    assert deletes(client) == []
