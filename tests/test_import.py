"""``import cookbook`` needs no network, no key, and loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["mistralai", "vcr", "yaml", "httpx2", "httpx", "IPython", "ipywidgets", "pyromark", "pydantic"]


def test_import_is_light_and_offline():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise SystemExit('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import cookbook\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "", f"import cookbook loaded: {result.stdout.strip()}"


def test_a_client_imports_only_the_sdk_resources_it_uses():
    code = (
        "import sys\n"
        "from cookbook import InvalidRequest, make_client\n"
        "client = make_client('replay', cassette='01_hello_world')\n"
        "client.beta.conversations.start(model='mistral-small-latest',\n"
        "                                inputs=[{'role': 'user', 'content': 'What is the capital of France?'}])\n"
        "print(sorted(m for m in ('mistralai.client.beta', 'mistralai.client.beta_agents',\n"
        "                         'mistralai.client.observability') if m in sys.modules))\n"
        "try:\n"
        "    client.beta.agents.create(name=' ', model='mistral-small-latest')\n"
        "except InvalidRequest:\n"
        "    print('agents checked', 'mistralai.client.beta_agents' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.splitlines() == ["[]", "agents checked True"], result.stdout + result.stderr


def test_client_beta_gives_the_sdks_own_resources(no_network, clean_env):
    from mistralai.client.beta import Beta

    from cookbook import make_client
    from cookbook._client import _BETA_RESOURCES

    client = make_client("replay", cassette="01_hello_world")
    sdk_beta = Beta(client.sdk_configuration, parent_ref=client)
    for name in [*_BETA_RESOURCES, "libraries", "skills"]:
        resource = getattr(client.beta, name)
        assert type(resource) is type(getattr(sdk_beta, name)), name
        assert resource.sdk_configuration is client.sdk_configuration and resource.parent_ref is client
        assert getattr(client.beta, name) is resource  # made once
    assert {"conversations", "agents", "connectors", "libraries", "observability"} <= set(dir(client.beta))


def test_replay_never_imports_vcrpy_and_record_mode_does(tmp_path):
    # vcrpy's import pulls in requests, httpx and tornado: a replaying kernel does without it
    code = (
        "import sys\n"
        "from cookbook import make_client, inspect_mcp_server_sync\n"
        "client = make_client('replay', cassette='03_custom_connector')\n"
        "inspect_mcp_server_sync('https://mcp.deepwiki.com/mcp', client=client)\n"
        "replayed = make_client('replay', cassette='01_hello_world')\n"
        "replayed.beta.conversations.start(model='mistral-small-latest',\n"
        "                                  inputs=[{'role': 'user', 'content': 'What is the capital of France?'}])\n"
        "print(len(replayed.cookbook.sent), 'vcr' in sys.modules)\n"
        "make_client('record', cassette=sys.argv[1], api_key='x' * 32)\n"
        "print('vcr' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "new.yaml")], capture_output=True,
                            text=True, env=env)
    assert result.stdout.splitlines() == ["1 False", "True"], result.stdout + result.stderr
