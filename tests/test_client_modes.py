"""Mode resolution, key discovery and how a client shows itself."""

from __future__ import annotations

import pytest

import cookbook
from cookbook import ConfigurationError, make_client, resolve_mode
from cookbook._cassette import BUNDLED_DIR, bundled_names, loads


def test_without_key_or_mode_the_cookbook_replays(clean_env):
    assert resolve_mode() == ("replay", None)


def test_a_key_in_the_environment_means_live(clean_env, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    assert resolve_mode() == ("live", "env-key")


def test_a_key_in_a_dotenv_file_means_live(clean_env):
    (clean_env / ".env").write_text("MISTRAL_API_KEY=dotenv-key\n")
    sub = clean_env / "notebooks"
    sub.mkdir()
    import os

    os.chdir(sub)  # found by walking up from the working directory, as from notebooks/
    assert resolve_mode() == ("live", "dotenv-key")
    assert "MISTRAL_API_KEY" not in os.environ  # read, never exported


def test_key_argument_wins_over_environment(clean_env, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    assert resolve_mode(api_key="arg-key") == ("live", "arg-key")


def test_cookbook_mode_wins_over_a_key(clean_env, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    monkeypatch.setenv("COOKBOOK_MODE", "replay")
    assert resolve_mode() == ("replay", None)


def test_mode_argument_wins_over_cookbook_mode(clean_env, monkeypatch):
    monkeypatch.setenv("COOKBOOK_MODE", "live")
    assert resolve_mode("replay") == ("replay", None)
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    monkeypatch.setenv("COOKBOOK_MODE", "replay")
    assert resolve_mode("record") == ("record", "env-key")


def test_mode_names_are_case_and_space_insensitive(clean_env):
    assert resolve_mode(" Replay ")[0] == "replay"


def test_unknown_mode_names_the_valid_ones(clean_env, monkeypatch):
    with pytest.raises(ConfigurationError, match="use one of replay, live, record"):
        resolve_mode("reply")
    monkeypatch.setenv("COOKBOOK_MODE", "offline")
    with pytest.raises(ConfigurationError, match="COOKBOOK_MODE"):
        resolve_mode()


@pytest.mark.parametrize("mode", ["live", "record"])
def test_live_and_record_without_key_say_how_to_fix(clean_env, mode):
    with pytest.raises(ConfigurationError) as info:
        make_client(mode, cassette="01_hello_world")
    message = str(info.value)
    assert "MISTRAL_API_KEY" in message and "mode='replay'" in message


def test_record_mode_needs_exactly_one_cassette(clean_env):
    with pytest.raises(ConfigurationError, match="cassette="):
        make_client("record", api_key="k")


def test_unknown_cassette_lists_the_bundled_ones(clean_env):
    with pytest.raises(FileNotFoundError, match="Bundled cassettes:"):
        make_client("replay", cassette="99_nope")


def test_client_is_a_real_sdk_client_that_shows_one_line(clean_env, tmp_path):
    from mistralai.client import Mistral

    cassette = tmp_path / "demo.yaml"
    cassette.write_text("format: cookbook-cassette/1\ninteractions: []\n")
    client = make_client(cassette=str(cassette))
    assert isinstance(client, Mistral)
    line = str(client.cookbook)
    assert line.startswith("Mistral client: replay mode") and "cassette demo" in line and "mistralai 3." in line
    bundle = client.cookbook._repr_mimebundle_()
    assert bundle["text/plain"] == line and "<b>replay</b> mode" in bundle["text/html"]


def test_live_client_never_shows_its_key(clean_env):
    client = make_client("live", api_key="sk-very-secret-key-123")
    shown = str(client.cookbook) + repr(client) + client.cookbook._repr_mimebundle_()["text/html"]
    assert "live mode" in shown and "sk-very-secret" not in shown


def test_public_surface_is_listed(clean_env):
    for name in cookbook.__all__:
        assert getattr(cookbook, name) is not None
    assert set(cookbook.__all__) <= set(dir(cookbook))  # names loaded on first use included: tab completion
    assert {name for name in dir(cookbook) if not name.startswith("_")} == set(cookbook.__all__) - {"__version__"}


def test_the_client_line_names_the_cassettes_it_answers_from(clean_env):
    assert f"all {len(bundled_names())} bundled cassettes" in str(make_client("replay").cookbook)
    two = make_client("replay", cassette=["01_hello_world", "03_custom_connector"])
    assert "cassettes 01_hello_world, 03_custom_connector" in str(two.cookbook)


def test_oauth_token_comes_from_the_named_variable(clean_env, monkeypatch):
    from cookbook import oauth_token

    replay = make_client("replay", cassette=[])  # all bundled cassettes
    monkeypatch.setenv("GOOGLE_OAUTH_TOKEN", "fake-token-value")
    assert oauth_token("GOOGLE_OAUTH_TOKEN", replay) == "fake-token-value"
    monkeypatch.delenv("GOOGLE_OAUTH_TOKEN")
    assert oauth_token("GOOGLE_OAUTH_TOKEN", replay) == "replay-mode-needs-no-token"


def test_oauth_token_missing_in_live_mode_names_the_variable(clean_env):
    from cookbook import oauth_token

    live = make_client("live", api_key="k")
    with pytest.raises(ConfigurationError, match=r"\$GOOGLE_OAUTH_TOKEN"):
        oauth_token("GOOGLE_OAUTH_TOKEN", live)


def test_oauth_token_refuses_a_token_in_place_of_a_name(clean_env):
    from cookbook import oauth_token

    with pytest.raises(ConfigurationError, match="never the token itself"):
        oauth_token("abc.def-token-value", make_client("live", api_key="k"))


def test_a_renamed_connector_is_known_by_its_new_name(fake_api, clean_env):
    created = next(item["response"]["json"] for item in loads(
        (BUNDLED_DIR / "08_connector_lifecycle.yaml").read_text())["interactions"]
        if item["request"]["method"] == "POST" and item["request"]["uri"].endswith("/v1/connectors"))
    fake_api.connector = created
    client = make_client("live", api_key="sk-client-modes-fake-key-0123456789", server_url=fake_api.url)
    client.beta.connectors.update(connector_id=created["id"],
                                  request_body={"protocol": "mcp", "name": "renamed_deepwiki"})
    assert [r["method"] for r in fake_api.requests] == ["PATCH"]
    assert client.cookbook.connectors[created["id"]] == "renamed_deepwiki"
