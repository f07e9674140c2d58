"""Papermill runs of every recipe notebook, offline: defaults, alternative prompts, and an unrecorded prompt.

All runs execute once, in parallel processes, in a session fixture (tests/executions.py) with the ``cookbook run``s of
test_cli.py; each test then reads what an executed notebook shows. (nbval, configured in pyproject.toml, separately
checks the committed outputs cell by cell.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from executions import JAPAN
from recipes import BY_SLUG

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# What the executed notebook must show, per recipe: for its default prompt, then for its alternative prompt.
SHOWS = {
    "01_hello_world": (["The capital of France is Paris."], ["The capital of Japan is Tokyo."]),
    "02_web_search": (
        ["Right now in Paris it is 7°C", "[tool] web_search", "[1] Météo Paris"],
        ["It is currently 14°C and clear in Tokyo", "[tool] web_search"],
    ),
    "03_custom_connector": (
        ["organized into several key directories", "[connector my_deepwiki] read_wiki_structure"],
        ["SQLite's tests live in the **test/** directory", "[connector my_deepwiki] ask_question"],
    ),
    "04_multiple_tools": (
        ["I have access to the following tools:"],
        ["**Today's SQLite news:** `web_search`"],
    ),
    "05_tool_filters": (
        ["I have access to: read_wiki_contents, ask_question", "I have access to: ask_question",
         "read_wiki_structure: Get a list of documentation topics"],
        ["No — `read_wiki_structure` isn't available to me here", "No — my only tool is `ask_question`"],
    ),
    "06_agent_with_connectors": (
        ["Created agent: deepwiki_agent (ag_01a21301930078d7b8d29852ce342a4a)",
         "SQLite is a self-contained, serverless", "[connector my_deepwiki] ask_question",
         "Deleted agent: ag_01a21301930078d7b8d29852ce342a4a"],
        ["The repository documents these file formats:", "Deleted agent: ag_01a21301930078d7b8d29852ce342a4a"],
    ),
    "07_oauth_gmail": (
        ["Your latest email is from **Ada Lovelace**", "[connector gmail]"],
        ["Yes — you have 2 unread emails from today:"],
    ),
    "08_connector_lifecycle": (
        ["Created connector: ephemeral_deepwiki", "SQLite is a self-contained, serverless SQL database engine",
         "The latest SQLite release is 3.51.0", "Cleaned up connector: Connector deleted successfully"],
        ["The three most important directories are **src/**", "Cleaned up connector: Connector deleted successfully"],
    ),
}

@pytest.fixture(scope="module")
def executed(notebook_runs) -> dict[tuple[str, str], tuple[str, str | None]]:
    """``(slug, variant) -> (executed notebook, error or None)`` for every recipe's default and alternative prompt and
    for an unrecorded one.

    The default prompts' notebooks are those of the full ``cookbook run`` (papermill, every recipe, its defaults,
    ``mode="replay"``) that tests/test_cli.py checks, 01's alternative prompt is that of its "japan" run and the
    unrecorded prompt that of its "miss" run; the others are papermill runs of their own (tests/executions.py).
    """
    runs = {(slug, variant): (path, error) for slug, variant, path, error in notebook_runs["papermill"]}

    def from_command(run: str, slug: str, variant: str) -> None:
        out = Path(notebook_runs["cli"][run]["out"])
        results = {item["recipe"]: item for item in json.loads((out / "summary.json").read_text())["results"]}
        item = results[slug]
        error = f"{item['error']['name']}: {item['error']['message']}" if item["error"] else None
        runs[(slug, variant)] = (str(out / f"{slug}.ipynb"), error)

    for slug in SHOWS:
        from_command("parallel", slug, "default")
    from_command("japan", JAPAN, "alternative")
    from_command("miss", JAPAN, "unrecorded")
    assert set(runs) == {(slug, variant) for slug in SHOWS for variant in ("default", "alternative")} | {
        (JAPAN, "unrecorded")}
    return runs


def shown(path: str) -> str:
    """Everything the executed notebook shows as text: streams, plain-text displays and errors."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "error":
                parts.append("\n".join(output.traceback))
            else:
                parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("slug", list(SHOWS))
@pytest.mark.parametrize("variant", ["default", "alternative"])
def test_notebook_runs_offline_and_shows_the_answer(executed, slug, variant):
    path, error = executed[(slug, variant)]
    assert error is None, error
    text = shown(path)
    for expected in SHOWS[slug][0 if variant == "default" else 1]:
        assert expected in text
    assert "Mistral client: replay mode" in text


@pytest.mark.parametrize("slug", list(SHOWS))
def test_the_parameters_cell_drives_the_run(executed, slug):
    nb = nbformat.read(executed[(slug, "alternative")][0], as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and BY_SLUG[slug]["alternative_prompts"][0] in injected[0].source
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "mode = None" in tagged[0].source and "prompt = " in tagged[0].source


def test_an_unrecorded_prompt_fails_with_the_replay_miss_message_not_a_traceback(executed):
    path, error = executed[("01_hello_world", "unrecorded")]
    assert error is not None and "ReplayMiss" in error
    nb = nbformat.read(path, as_version=4)
    (failure,) = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert failure.ename == "ReplayMiss"
    traceback = "\n".join(failure.traceback)
    assert "No recording answers POST /v1/conversations in cassette 01_hello_world" in traceback
    assert "'What is the capital of France?'" in traceback and "MISTRAL_API_KEY" in traceback
    assert "File \"" not in traceback and "site-packages" not in traceback  # no wall of SDK frames


def test_no_secret_placeholder_leaks_into_outputs(executed):
    for (slug, variant), (path, _) in executed.items():
        text = shown(path)
        assert "replay-mode-needs-no-key" not in text and "replay-mode-needs-no-token" not in text, (slug, variant)


# what a pydantic model looks like printed (str() or repr()), as the recipe page's helper shows citation chunks
PYDANTIC_REPR = re.compile(r"\b\w+='[^']*' \w+=|\btype='\w+'|<mistralai\.|\b[A-Z]\w+\(\w+='")


def committed_texts() -> dict[str, str]:
    return {path.name: shown(str(path)) for path in sorted(NOTEBOOKS.glob("0*.ipynb"))}


def test_no_committed_or_executed_text_output_shows_a_pydantic_repr(executed):
    texts = {**committed_texts(), **{f"{slug} ({variant})": shown(path) for (slug, variant), (path, _) in
                                     executed.items()}}
    for name, text in texts.items():
        assert not PYDANTIC_REPR.search(text), (name, PYDANTIC_REPR.search(text).group(0))


def test_every_replayed_answer_says_what_it_rests_on():
    for name, text in committed_texts().items():
        if "[connector" in text or "tokens (" in text:
            assert "authored example" in text, name
        assert "recorded from the Mistral API" not in text, name  # nothing bundled was recorded


ONLY_A_RECORDING_CAN_SHOW = {429, 503}  # and an expired OAuth token (a 401 in recipe 7)


def test_error_demos_that_only_a_recording_can_show_are_guarded_by_replay_only():
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            demo = re.search(r"explained_errors\(expected=(\d+)\)", cell.source)
            oauth = "oauth2-token" in cell.source and demo is not None
            if demo and (int(demo.group(1)) in ONLY_A_RECORDING_CAN_SHOW or oauth):
                assert "if replay_only(client," in cell.source, (path.name, cell.source)
