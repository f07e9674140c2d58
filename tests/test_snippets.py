"""curl and TypeScript equivalents come from the request actually sent, never hold a secret, and work as written.

The recipes' snippets are checked with the real clients: each notebook's code runs in this process (replay mode) up
to its ``equivalents(...)`` cell, then

- the TypeScript of all eight recipes type-checks with ``tsc --strict`` against ``@mistralai/mistralai`` 2.7.0 from
  npm, in a default (CommonJS) npm project and as ES modules (one tsc run; the npm install is cached);
- the curl commands run for real (``sh``, ``curl``, ``jq``) against the stand-in API (tests/standin_api.py) and send
  what the notebook sent, the key and the OAuth token read from the environment, and the id of what they create
  read from the create's answer;
- the fields the snippets leave out are defaults: the SDK's own request models read the same request without them.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import fcntl
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import standin_api
from fake_api import conversation_response
from netguard import refuse_network
from standin_api import StandinAPI
from test_replay import ENTRY, _interaction, write_cassette

from cookbook import make_client, oauth_token
from cookbook._client import SentRequest
from cookbook._snippets import Equivalents, equivalents, shortened

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CASSETTES = ROOT / "cookbook" / "cassettes"
TOKEN = "fake-oauth-token-for-snippet-tests-0123"
KEY = "fake-key-for-snippet-tests-4567"
TOOLS = [
    {"type": "web_search"},
    {"type": "connector", "connector_id": "gmail", "authorization": {"type": "oauth2-token", "value": TOKEN}},
    {"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": {"include": ["ask_question"]}},
]

# The TypeScript toolchain the snippets are checked with (installed once into pytest's cache folder).
NPM_PACKAGES = ("typescript@7.0.2", "@mistralai/mistralai@2.7.0", "@types/node@20")
# The options `tsc --init` writes that bear on the snippets (module, target, strict, exactOptionalPropertyTypes,
# noUncheckedIndexedAccess, skipLibCheck), node's types, and nothing emitted. skipLibCheck is needed anyway: the SDK's
# own .d.ts do not agree with @types/node's ReadableStream.
TSC_OPTIONS = ("--strict", "--noEmit", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext",
               "--target", "esnext", "--types", "node", "--exactOptionalPropertyTypes", "--noUncheckedIndexedAccess")


# --------------------------------------------------------------------------- one request, by hand


@pytest.fixture
def client(tmp_path, clean_env, no_network, monkeypatch):
    body = {"inputs": [{"role": "user", "content": "It's mail time", **ENTRY}], "stream": False,
            "tools": [{"type": "web_search"},
                      {"connector_id": "gmail", "type": "connector",
                       "authorization": {"type": "oauth2-token", "value": "REDACTED"}},
                      {"connector_id": "my_deepwiki", "type": "connector",
                       "tool_configuration": {"include": ["ask_question"]}}],
            "model": "mistral-small-latest"}
    path = write_cassette(tmp_path / "07_demo.yaml", [_interaction(body, conversation_response("You have mail."))])
    client = make_client("replay", cassette=path)
    monkeypatch.setenv("GOOGLE_OAUTH_TOKEN", TOKEN)
    tools = [TOOLS[0], {**TOOLS[1], "authorization": {"type": "oauth2-token",
                                                      "value": oauth_token("GOOGLE_OAUTH_TOKEN", client)}}, TOOLS[2]]
    client.beta.conversations.start(model="mistral-small-latest",
                                    inputs=[{"role": "user", "content": "It's mail time"}], tools=tools)
    return client


def _curl_body(snippet: str) -> str:
    return snippet.split("-d '", 1)[1].rsplit("'", 1)[0]


def test_the_client_notes_each_request_it_sends_without_secrets(client):
    (sent,) = client.cookbook.sent
    assert sent.method == "POST" and sent.path == "/v1/conversations"
    assert sent.body["tools"][1]["authorization"]["value"] == "REDACTED"
    assert TOKEN not in json.dumps(sent.body)
    assert client.cookbook.token_variables == ["GOOGLE_OAUTH_TOKEN"]  # the name, never the token


def test_curl_is_the_sent_body_with_the_key_and_token_from_the_environment(client):
    snippet = equivalents(client).curl
    assert snippet.startswith("# Reads $MISTRAL_API_KEY and $GOOGLE_OAUTH_TOKEN from the environment.")
    assert 'curl -X POST "https://api.mistral.ai/v1/conversations"' in snippet
    assert '-H "Authorization: Bearer ${MISTRAL_API_KEY}"' in snippet
    text = _curl_body(snippet)
    assert '"value": "\'"${GOOGLE_OAUTH_TOKEN}"\'"' in text  # closes the quote, expands the variable, reopens
    body = json.loads(text.replace("'\"${GOOGLE_OAUTH_TOKEN}\"'", "TOKEN").replace("'\\''", "'"))
    assert body["tools"][2] == {"connector_id": "my_deepwiki", "type": "connector",
                                "tool_configuration": {"include": ["ask_question"]}}
    assert body["inputs"] == [{"role": "user", "content": "It's mail time"}]  # no defaults
    assert "stream" not in body
    assert body["tools"][1]["authorization"]["value"] == "TOKEN"


def test_typescript_uses_the_sdk_camel_case_names_and_reads_the_environment(client):
    code = equivalents(client).typescript
    assert code.startswith('import { Mistral } from "@mistralai/mistralai";')
    assert "const response = await client.beta.conversations.start({" in code
    assert 'connectorId: "my_deepwiki"' in code and 'toolConfiguration: { include: ["ask_question"] }' in code
    assert "connector_id" not in code and "prefix" not in code and "message.input" not in code
    assert '{ role: "user", content: "It\'s mail time" }' in code
    assert "const googleOauthToken = process.env.GOOGLE_OAUTH_TOKEN;" in code
    assert 'if (!googleOauthToken) throw new Error("Set GOOGLE_OAUTH_TOKEN' in code
    assert "const apiKey = process.env.MISTRAL_API_KEY;" in code and "if (!apiKey) throw" in code
    assert re.search(r'authorization: \{ (value: googleOauthToken, type: "oauth2-token"|type: "oauth2-token", '
                     r'value: googleOauthToken) \}', code)
    assert "<your-" not in code
    assert "console.log(response.outputs);" in code


def test_typescript_has_no_top_level_await(client):
    code = equivalents(client).typescript
    top = [line for line in code.splitlines() if line and not line.startswith((" ", "}"))]
    assert top == ['import { Mistral } from "@mistralai/mistralai";', top[1],
                   "async function main(): Promise<void> {", "main().catch((error: unknown) => {"]
    assert top[1].startswith("// main() rather than top-level await")
    assert "await" not in "\n".join(line for line in code.splitlines() if not line.startswith(("  ", "//")))


def test_neither_snippet_contains_a_secret(client):
    shown = str(equivalents(client)) + equivalents(client)._repr_mimebundle_()["text/html"]
    assert TOKEN not in shown and "REDACTED" not in shown and "replay-mode" not in shown


def test_a_token_not_read_with_oauth_token_comes_from_a_named_variable(clean_env):
    sent = SentRequest("POST", "https://api.mistral.ai/v1/conversations",
                       {"inputs": "x", "tools": [{"type": "connector", "connector_id": "gmail",
                                                  "authorization": {"type": "oauth2-token", "value": "REDACTED"}}]})
    shown = str(Equivalents((sent,)))
    assert '"value": "\'"${OAUTH_TOKEN}"\'"' in shown and "const oauthToken = process.env.OAUTH_TOKEN;" in shown


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
        assert expected in Equivalents((SentRequest(method, "https://api.mistral.ai" + path, body),)).typescript


def test_several_calls_declare_distinct_names():
    sent = tuple(SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"inputs": "x"}) for _ in range(3))
    code = Equivalents(sent).typescript
    assert "const response =" in code and "const response2 =" in code and "const response3 =" in code


def test_a_stream_is_read_event_by_event():
    sent = SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"inputs": "x", "stream": True})
    code = Equivalents((sent,)).typescript
    assert '\n  const stream = await client.beta.conversations.startStream({ inputs: "x" });\n' in code
    assert "for await (const event of stream) {" in code and "process.stdout.write(" in code


def test_streamed_curl_keeps_the_connection_open():
    line = Equivalents((SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"stream": True}),)).curl
    assert "-N" in line and "text/event-stream" in line and '"stream": true' in line


def test_a_deleted_id_stays_literal_when_its_create_is_not_in_the_snippet():
    """Only an id created in the same snippet becomes a reference: else there is nothing to read it from."""
    create = SentRequest("POST", "https://api.mistral.ai/v1/agents", {"name": "a", "model": "m"}, 200)
    use = SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"inputs": "x", "agent_id": "ag_9"}, 200)
    delete = SentRequest("DELETE", "https://api.mistral.ai/v1/agents/ag_9", None, 204)
    alone = Equivalents((use, delete), agents=("ag_9",))
    assert '"agent_id": "ag_9"' in alone.curl and '/v1/agents/ag_9"' in alone.curl and "jq" not in alone.curl
    assert 'agentId: "ag_9"' in alone.typescript
    # an id the snippet named before the create cannot be the create's
    earlier = Equivalents((use, create, delete), agents=("ag_9",))
    assert "AGENT_ID" not in earlier.curl and "agentId: agent.id" not in earlier.typescript
    whole = Equivalents((create, use, delete), agents=("ag_9",))
    assert "ag_9" not in str(whole)
    assert 'AGENT_ID=$(curl -sS -X POST' in whole.curl and "| jq -r .id)" in whole.curl
    assert '"agent_id": "\'"${AGENT_ID}"\'"' in whole.curl and '/v1/agents/${AGENT_ID}"' in whole.curl
    ts = whole.typescript
    assert "agentId: agent.id" in ts
    assert ts.index("try {") < ts.index("start(") < ts.index("} finally {") < ts.index("delete({ agentId: agent.id })")


def test_a_prompt_with_unicode_line_separators_stays_unchanged_in_the_typescript():
    """json.dumps leaves U+2028, U+2029 and U+0085 raw in a literal: indenting the code must not split there."""
    prompt = "line one\u2028line two\u2029line three\u0085line four"
    create = SentRequest("POST", "https://api.mistral.ai/v1/agents", {"name": "a", "model": "m"}, 200)
    use = SentRequest("POST", "https://api.mistral.ai/v1/conversations", {"inputs": prompt, "agent_id": "ag_9"}, 200)
    delete = SentRequest("DELETE", "https://api.mistral.ai/v1/agents/ag_9", None, 204)
    for sent in [(use,), (create, use, delete)]:  # indented once, and twice inside try { }
        assert json.dumps(prompt, ensure_ascii=False) in Equivalents(sent, agents=("ag_9",)).typescript


def test_a_connector_id_is_matched_by_the_name_it_was_created_with():
    create = SentRequest("POST", "https://api.mistral.ai/v1/connectors", {"name": "mine", "protocol": "mcp"}, 201)
    delete_other = SentRequest("DELETE", "https://api.mistral.ai/v1/connectors/c-theirs", None, 200)
    delete_mine = SentRequest("DELETE", "https://api.mistral.ai/v1/connectors/c-mine", None, 200)
    snippet = Equivalents((create, delete_other, delete_mine), connectors=(("c-theirs", "theirs"), ("c-mine", "mine")))
    assert '/v1/connectors/c-theirs"' in snippet.curl and '/v1/connectors/${CONNECTOR_ID}"' in snippet.curl
    assert "connectorId: connectorId }" in snippet.typescript and 'connectorId: "c-theirs"' in snippet.typescript


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


# --------------------------------------------------------------------------- the recipes, as the notebooks run them


def _run_notebook(path: Path) -> tuple[Any, Equivalents]:
    """Run a notebook's code cells here, in replay mode, up to its ``equivalents(...)`` cell: its client and what
    that cell shows."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict[str, Any] = {}

    async def run() -> Equivalents:
        for index, source in enumerate(cells):
            if index == 0:
                source += "\nmode = 'replay'\n"  # the parameters cell, as papermill would override it
            if source.strip().startswith("equivalents("):
                return eval(source.strip(), namespace)
            result = eval(compile(source, f"{path.name}[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT),
                          namespace)
            if asyncio.iscoroutine(result):
                await result
        raise AssertionError(f"{path.name} has no equivalents(...) cell")

    snippet = asyncio.run(run())
    return namespace["client"], snippet


@pytest.fixture(scope="module")
def recipes(tmp_path_factory) -> dict[str, tuple[Any, Equivalents]]:
    """``{slug: (client, equivalents)}`` for the eight notebooks, run once a module."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("MISTRAL_API_KEY", "COOKBOOK_MODE", "MISTRAL_SERVER_URL", "COOKBOOK_CASSETTES",
                     "GOOGLE_OAUTH_TOKEN"):
            mp.delenv(name, raising=False)
        mp.chdir(tmp_path_factory.mktemp("recipes"))
        refuse_network(mp)
        return {path.stem: _run_notebook(path) for path in NOTEBOOKS}


def test_the_recipes_are_all_here(recipes):
    assert len(recipes) == 8
    created = {slug: [c.kind for c in snippet.created.values()] for slug, (_, snippet) in recipes.items()}
    assert created["06_agent_with_connectors"] == ["agent"]
    assert created["08_connector_lifecycle"] == ["connector"]
    assert not any(kinds for slug, kinds in created.items() if slug[:2] not in ("06", "08"))
    assert recipes["07_oauth_gmail"][1].token_variable == "GOOGLE_OAUTH_TOKEN"


@pytest.mark.parametrize("slug", ["06_agent_with_connectors", "08_connector_lifecycle"])
def test_what_a_recipe_creates_is_what_it_uses_and_deletes(recipes, slug):
    client, snippet = recipes[slug]
    (created,) = snippet.created.values()
    known = client.cookbook.agents if created.kind == "agent" else client.cookbook.connectors
    assert created.id in known  # the id the API answered to the create
    text = str(snippet)
    assert created.id not in text
    assert f"{created.shell}=$(curl -sS -X POST" in snippet.curl and "| jq -r .id)" in snippet.curl
    assert f'/v1/{created.kind}s/${{{created.shell}}}"' in snippet.curl
    ts = snippet.typescript
    reference = created.ts  # agent.id, connectorId
    name = snippet.names[created.index]  # the create's result
    delete = f"client.beta.{created.kind}s.delete({{ {created.kind}Id: {reference} }})"
    assert delete in ts
    assert ts.index(f"const {name} = await") < ts.index("try {") < ts.index("} finally {") < ts.index(delete)
    if created.kind == "agent":
        assert f"agentId: {reference}," in ts and f'"agent_id": "\'"${{{created.shell}}}"\'"' in snippet.curl


def test_recipe_7_reads_the_token_from_the_notebooks_variable(recipes):
    _, snippet = recipes["07_oauth_gmail"]
    assert '"value": "\'"${GOOGLE_OAUTH_TOKEN}"\'"' in snippet.curl
    assert "value: googleOauthToken" in snippet.typescript
    assert "<your-" not in str(snippet) and "REDACTED" not in str(snippet)


# --------------------------------------------------------------------------- the SDK's request models


def _sdk_model(method: str, path: str, body: Any) -> Any:
    """The request model the Python SDK serializes for this request's body (see mistralai.client.conversations,
    beta_agents and connectors: ``utils.serialize_request_body(request, ..., models.X)``)."""
    from mistralai.client import models

    path = path.split("?", 1)[0].rstrip("/")
    if method == "POST" and path == "/v1/conversations":
        return models.ConversationStreamRequest if body.get("stream") is True else models.ConversationRequest
    if method == "POST" and path == "/v1/agents":
        return models.CreateAgentRequest
    if method == "POST" and path == "/v1/connectors":
        return models.ConnectorCreateV1Payload
    raise AssertionError(f"no SDK request model mapped for {method} {path}")


def _through_sdk(method: str, path: str, body: Any) -> tuple[Any, dict]:
    """The SDK's request object for ``body``, and the JSON the SDK would send for it."""
    from mistralai.client.utils import marshal_json, unmarshal

    model = _sdk_model(method, path, body)
    parsed = unmarshal(body, model)  # as the SDK reads a dict it is given (connectors.create does so)
    return parsed, json.loads(marshal_json(parsed, model))


def test_the_left_out_fields_are_defaults_the_sdk_models_fill_in(recipes):
    """Every request with a body, of every recipe (errors included): the SDK reads the shortened body as the same
    request, and serializes it back to exactly what was sent."""
    checked = dropped = 0
    for _slug, (client, _snippet) in recipes.items():
        for request in client.cookbook.sent:
            if request.body is None:
                continue
            short = shortened(request)
            full_model, full_json = _through_sdk(request.method, request.path, request.body)
            short_model, short_json = _through_sdk(request.method, request.path, short)
            assert short_model == full_model and type(short_model) is type(full_model)
            assert short_json == full_json == request.body
            checked += 1
            dropped += short != request.body
            if request.path.startswith("/v1/conversations"):
                shown = json.dumps(short)
                assert '"object": "entry"' not in shown and '"prefix": false' not in shown
                assert '"stream": false' not in shown and '"type": "message.input"' not in shown
    assert checked >= 20 and dropped >= 15


# --------------------------------------------------------------------------- TypeScript: tsc --strict


@pytest.fixture(scope="session")
def typescript_toolchain(pytestconfig, tmp_path_factory) -> Path:
    """A folder with node_modules holding NPM_PACKAGES, installed once into pytest's cache (shared by xdist workers
    and later sessions; a changed NPM_PACKAGES installs again), or into this session's temporary folder when the
    cache is off (-p no:cacheprovider)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("Node.js and npm are needed to type-check the TypeScript snippets: install them "
                    "(Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org).")
    cache = getattr(pytestconfig, "cache", None)
    folder = Path(cache.mkdir("snippets-typescript")) if cache else tmp_path_factory.getbasetemp() / "typescript"
    folder.mkdir(exist_ok=True)
    stamp = folder / "installed.json"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other workers wait while one installs
        if not (stamp.is_file() and json.loads(stamp.read_text()) == list(NPM_PACKAGES)
                and (folder / "node_modules" / ".bin" / "tsc").exists()):
            stamp.unlink(missing_ok=True)
            (folder / "package.json").write_text(json.dumps({"name": "snippets", "private": True}))
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact", *NPM_PACKAGES],
                                  cwd=folder, capture_output=True, text=True, timeout=600)
            if done.returncode:
                pytest.fail(f"npm install {' '.join(NPM_PACKAGES)} failed:\n{done.stdout}\n{done.stderr}")
            stamp.write_text(json.dumps(list(NPM_PACKAGES)))
    return folder


def test_every_recipes_typescript_type_checks_with_the_sdk(recipes, typescript_toolchain, tmp_path):
    """One tsc run over every recipe's program, twice each: as a .ts file of a default npm project (CommonJS, as
    `npm init` makes it) and as an ES module (.mts). A program with top-level await, as a control, fails there."""
    (tmp_path / "node_modules").symlink_to(typescript_toolchain / "node_modules")
    (tmp_path / "package.json").write_text(json.dumps({"name": "snippets", "version": "1.0.0", "type": "commonjs"}))
    files = []
    for slug, (_, snippet) in recipes.items():
        for suffix in (".ts", ".mts"):
            (tmp_path / f"r{slug}{suffix}").write_text(snippet.typescript)
            files.append(f"r{slug}{suffix}")
    (tmp_path / "control.ts").write_text('import { Mistral } from "@mistralai/mistralai";\n\n'
                                         "const client = new Mistral();\nawait client.models.list();\n")
    tsc = typescript_toolchain / "node_modules" / ".bin" / "tsc"
    done = subprocess.run([str(tsc), *TSC_OPTIONS, *files, "control.ts"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    errors = [line for line in done.stdout.splitlines() if re.match(r"\S+\(\d+,\d+\): error", line)]
    control = [line for line in errors if line.startswith("control.ts")]
    assert control and all("TS1309" in line for line in control), done.stdout  # top-level await in CommonJS
    failed = [line for line in done.stdout.splitlines() if not line.startswith(("control.ts", " "))]
    shown = sorted({line.split("(", 1)[0] for line in failed} & set(files))
    assert not failed, "tsc --strict refused generated TypeScript:\n" + done.stdout + "\n" + "\n\n".join(
        f"// {name}\n{(tmp_path / name).read_text()}" for name in shown)
    assert len(files) == 16


# --------------------------------------------------------------------------- curl: run against the stand-in


def _tools_on_path() -> dict[str, str]:
    found = {name: shutil.which(name) for name in ("sh", "curl", "jq")}
    missing = [name for name, where in found.items() if where is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} needed to run the curl snippets: apt-get install "
                    f"{' '.join({'sh': 'dash', 'curl': 'curl', 'jq': 'jq'}[n] for n in missing)}")
    return found


def _canonical(request: Any) -> Any:
    """The stand-in's request, its body as the SDK reads and sends it (so a body without default fields is matched
    with its recording): what the real API does with defaults."""
    from cookbook import _cassette

    body = request.parsed
    try:
        _, sent = _through_sdk(request.method, request.path, body)
    except AssertionError:  # no body model: nothing to fill in
        return request
    return _cassette.Request(request.method, request.uri, json.dumps(sent))


def _sdk_matching(monkeypatch: pytest.MonkeyPatch) -> type[StandinAPI]:
    """StandinAPI, matching request bodies through the SDK's request models (while ``monkeypatch`` lasts)."""
    loosened = standin_api._loosened
    monkeypatch.setattr(standin_api, "_loosened", lambda request: loosened(_canonical(request)))
    return StandinAPI


@pytest.fixture
def sdk_matching_standin(monkeypatch):
    return _sdk_matching(monkeypatch)


def _authorization_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        auth = value.get("authorization")
        own = [auth["value"]] if isinstance(auth, dict) and "value" in auth else []
        return own + [v for item in value.values() for v in _authorization_values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _authorization_values(item)]
    return []


def _fresh(old: str) -> str:
    return f"ag_{uuid.uuid4().hex}" if old.startswith("ag_") else str(uuid.uuid4())


def _run_against_standin(slug: str, recipe: tuple[Any, Equivalents], standin: type[StandinAPI], tmp_path: Path,
                         command: list[str]) -> tuple[Any, list[Any], dict[str, str]]:
    """Run ``command`` with ``$STANDIN_URL`` pointing at a stand-in that answers from the recipe's cassette, in which
    the ids of what the recipe creates are replaced by new ones (so the stand-in answers a create with an id no
    snippet holds). The process's outcome, the requests the stand-in received, and ``{recorded id: new id}``."""
    client, snippet = recipe
    cassette = (CASSETTES / f"{slug}.yaml").read_text()
    # the ids the API gave what the recipe created (as the client learnt them), that the snippet's requests name
    learnt = [*client.cookbook.agents, *client.cookbook.connectors]
    renamed = {i: _fresh(i) for i in learnt if any(i in r.path or i in json.dumps(r.body) for r in snippet.requests)}
    assert bool(renamed) == (slug[:2] in ("06", "08"))
    for old, new in renamed.items():
        assert old in cassette
        cassette = cassette.replace(old, new)
    (tmp_path / f"{slug}.yaml").write_text(cassette)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "MISTRAL_API_KEY": KEY,
           snippet.token_variable or "OAUTH_TOKEN": TOKEN}
    with standin(cassettes=[tmp_path / f"{slug}.yaml"], piece_pause=0) as api:
        done = subprocess.run(command, env={**env, "STANDIN_URL": api.url}, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        seen = list(api.requests)
    return done, seen, renamed


def _assert_ran(done: Any, renamed: dict[str, str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "standin_miss" not in done.stdout + done.stderr, done.stdout  # every request had its recorded answer
    for new in renamed.values():  # read from the create's answer
        assert f"Created {'agent' if new.startswith('ag_') else 'connector'} {new}" in done.stdout


def _assert_sent_as_the_notebook(seen: list[Any], expected: tuple[SentRequest, ...], renamed: dict[str, str]) -> None:
    """The stand-in received the notebook's requests: method, path, query, body (through the SDK's request models),
    the key as bearer token and the OAuth token in ``authorization.value``; created ids replaced by the new ones."""
    assert [(r.method, r.path) for r in seen] == [(r.method, _renamed(r.path.split("?")[0], renamed))
                                                  for r in expected]
    for got, want in zip(seen, expected, strict=True):
        assert got.query == dict(p.split("=", 1) for p in want.path.partition("?")[2].split("&") if p)
        assert got.headers["authorization"] == f"Bearer {KEY}"
        if want.body is None:
            assert got.body == b""
            continue
        body = json.loads(_renamed(json.dumps(want.body), {f'"{k}"': f'"{v}"' for k, v in renamed.items()}))
        assert _authorization_values(got.json) == [TOKEN] * len(_authorization_values(body))  # from the env
        body = json.loads(json.dumps(body).replace('"REDACTED"', json.dumps(TOKEN)))
        assert _through_sdk(got.method, got.path, got.json)[0] == _through_sdk(want.method, want.path, body)[0]
        if renamed and "agent_id" in body:
            assert got.json["agent_id"] in renamed.values()
    if renamed:  # what was created was deleted
        assert seen[-1].method == "DELETE" and seen[-1].path.rsplit("/", 1)[1] in renamed.values()


def _renamed(text: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("slug", [path.stem for path in NOTEBOOKS])
def test_every_recipes_curl_sends_what_the_notebook_sent(recipes, slug, sdk_matching_standin, tmp_path):
    """The curl commands, run by ``sh`` against the stand-in, send the notebook's requests (see
    _assert_sent_as_the_notebook). In recipes 6 and 8 the stand-in answers the create with a new id: the later
    requests carry it, which the script can only have read from the create's answer."""
    tools = _tools_on_path()
    script = recipes[slug][1].curl.replace("https://api.mistral.ai", "${STANDIN_URL}")
    assert "${STANDIN_URL}" in script
    done, seen, renamed = _run_against_standin(slug, recipes[slug], sdk_matching_standin, tmp_path,
                                               [tools["sh"], "-c", script])
    assert not any(old in script for old in renamed)  # the recorded ids are nowhere in the script
    _assert_ran(done, renamed)
    _assert_sent_as_the_notebook(seen, recipes[slug][1].requests, renamed)


# --------------------------------------------------------------------------- TypeScript: run against the stand-in

# The programs run (node takes a second of CPU to load the SDK, so not all eight): a stream with text and source
# chunks, an agent and a connector created, used and deleted, an OAuth token. The other four are conversations.start
# calls like recipe 7's, and type-check above.
RUN_TYPESCRIPT = ("02_web_search", "06_agent_with_connectors", "07_oauth_gmail", "08_connector_lifecycle")


@pytest.fixture(scope="module")
def compiled_typescript(recipes, typescript_toolchain, tmp_path_factory) -> Path:
    """The RUN_TYPESCRIPT programs compiled (one tsc run) to CommonJS, as a default npm project builds them, their
    client pointed at ``$STANDIN_URL``."""
    node = shutil.which("node")
    version = subprocess.run([node or "node", "-p", "process.versions.node"], capture_output=True, text=True)
    if tuple(int(n) for n in version.stdout.strip().split(".")[:2]) < (20, 19):
        pytest.fail(f"Node.js {version.stdout.strip()} cannot require() the SDK (an ES module): install Node.js "
                    "20.19 or later to run the TypeScript snippets.")
    folder = tmp_path_factory.mktemp("compiled")
    (folder / "node_modules").symlink_to(typescript_toolchain / "node_modules")
    (folder / "package.json").write_text(json.dumps({"name": "snippets", "version": "1.0.0", "type": "commonjs"}))
    for slug in RUN_TYPESCRIPT:
        code = recipes[slug][1].typescript.replace("new Mistral({ apiKey })",
                                          'new Mistral({ apiKey, serverURL: process.env.STANDIN_URL ?? "" })')
        assert "STANDIN_URL" in code
        (folder / f"r{slug}.ts").write_text(code)
    options = [o for o in TSC_OPTIONS if o != "--noEmit"]
    done = subprocess.run([str(typescript_toolchain / "node_modules" / ".bin" / "tsc"), *options, "--outDir", "out",
                           *(f"r{slug}.ts" for slug in RUN_TYPESCRIPT)], cwd=folder, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "out"


@pytest.fixture(scope="module")
def typescript_runs(recipes, compiled_typescript, tmp_path_factory) -> dict[str, tuple[Any, list[Any], dict]]:
    """Each compiled program run by node against its own stand-in, all at once (node takes a second to load the
    SDK): ``{slug: (outcome, requests received, renamed ids)}``."""
    node = shutil.which("node") or "node"
    with pytest.MonkeyPatch.context() as mp, concurrent.futures.ThreadPoolExecutor(len(RUN_TYPESCRIPT)) as pool:
        standin = _sdk_matching(mp)
        runs = {slug: pool.submit(_run_against_standin, slug, recipes[slug], standin, tmp_path_factory.mktemp(slug),
                                  [node, str(compiled_typescript / f"r{slug}.js")])
                for slug in RUN_TYPESCRIPT}
        return {slug: run.result() for slug, run in runs.items()}


@pytest.mark.parametrize("slug", RUN_TYPESCRIPT)
def test_the_typescript_programs_send_what_the_notebook_sent(recipes, slug, typescript_runs):
    """Each compiled program, run by node against the stand-in, sends the notebook's requests through the
    TypeScript SDK, reads what it creates from the create's answer, prints each answer (a stream as its text)."""
    done, seen, renamed = typescript_runs[slug]
    assert not any(old in recipes[slug][1].typescript for old in renamed)  # the recorded ids are nowhere in it
    _assert_ran(done, renamed)
    assert not done.stderr, done.stderr
    _assert_sent_as_the_notebook(seen, recipes[slug][1].requests, renamed)
    if slug == "02_web_search":
        assert "Right now in Paris it is 7°C" in done.stdout  # the streamed text, from its deltas
