"""The ``cookbook`` command: ``list`` and ``run``, as a real subprocess (``python -m cookbook``) and in-process.

The runs that execute notebooks start together in one session fixture (tests/executions.py: separate processes, so they
overlap, and they overlap the papermill runs of test_notebooks.py); each test then reads what a run printed and
wrote. Usage errors never get that far: they are checked to exit 2 before anything runs or is written.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import papermill
import pytest
from _responses import ipython_shell, message, response

from cookbook import _cli
from cookbook._cassette import recorded_prompts

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SLUGS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without a key or a mode, with the checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("MISTRAL_API_KEY", "COOKBOOK_MODE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def command(*args: str, cwd: Path, **env: str) -> list:
    return [[sys.executable, "-m", "cookbook", *args], {"cwd": cwd, "env": clean_env(**env)}]


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    argv, kw = command(*args, cwd=cwd, **env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)


# ------------------------------------------------------------------ the runs (executions.CLI_RUNS, overlapping)


class Run:
    def __init__(self, run: dict) -> None:
        self.out, self.code, self.stdout, self.stderr = Path(run["out"]), run["code"], run["stdout"], run["stderr"]
        summary = self.out / "summary.json"
        self.summary = json.loads(summary.read_text()) if summary.is_file() else None

    @property
    def results(self) -> dict[str, dict]:
        return {item["recipe"]: item for item in self.summary["results"]}

    def notebook(self, slug: str) -> nbformat.NotebookNode:
        return nbformat.read(self.out / f"{slug}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def runs(notebook_runs) -> dict[str, Run]:
    """The `cookbook run`s of executions.CLI_RUNS (serial, parallel, japan, miss), started together once a session."""
    return {name: Run(run) for name, run in notebook_runs["cli"].items()}


def response_texts(nb: nbformat.NotebookNode) -> list[str]:
    """The text/plain of every output marked as a cookbook response."""
    return [
        o["data"]["text/plain"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if (o.get("metadata") or {}).get("cookbook", {}).get("kind") == "response"
    ]


def test_a_full_parallel_run_executes_every_recipe_offline_and_exits_zero(runs):
    run = runs["parallel"]
    assert run.code == 0, run.stderr
    assert list(run.results) == SLUGS  # in recipe order, whatever order they finished in
    for slug, item in run.results.items():
        assert item["status"] == "ok" and item["error"] is None, (slug, item)
        assert item["answer"], slug
        # the answer's first sentences as plain text: no Markdown, no tool line, no pydantic repr
        assert "**" not in item["answer"] and not item["answer"].startswith("[") and "='" not in item["answer"], slug
        assert item["answer"] in html.unescape((run.out / "index.html").read_text(encoding="utf-8")), slug
        assert item["answer"].split()[0] in response_texts(run.notebook(slug))[0], slug
    assert "Running 8 recipe(s) in replay mode (no MISTRAL_API_KEY found" in run.stdout
    assert run.summary["mode"] == "replay" and run.summary["jobs"] == 2


def test_the_summary_table_shows_recipe_status_seconds_and_the_answer(runs):
    run = runs["serial"]
    assert run.code == 0, run.stderr
    table = run.stdout.split("\n", 1)[1]
    assert re.search(r"^recipe\s+status\s+seconds\s+answer$", table, re.M)
    assert re.search(r"^01_hello_world\s+ok\s+\d+\.\d\s+The capital of France is Paris\.$", table, re.M)
    assert re.search(r"^03_custom_connector\s+ok\s+\d+\.\d\s+The sqlite/sqlite repository", table, re.M)
    assert f"Report: {run.out / 'index.html'}" in run.stdout
    assert "ok  01_hello_world" in run.stderr  # progress, one line per notebook when stderr is not a terminal


def test_a_parallel_run_gives_the_same_results_as_a_serial_one(runs):
    serial, parallel = runs["serial"], runs["parallel"]
    assert list(serial.results) == ["01_hello_world", "03_custom_connector"] and serial.summary["jobs"] == 1
    for slug in serial.results:
        one, two = serial.results[slug], parallel.results[slug]
        assert (one["status"], one["answer"], one["error"]) == (two["status"], two["answer"], two["error"])
        assert response_texts(serial.notebook(slug)) == response_texts(parallel.notebook(slug))


def test_every_link_of_the_report_resolves_and_each_page_shows_its_notebook(runs):
    for run in (runs["serial"], runs["parallel"], runs["miss"]):
        index = (run.out / "index.html").read_text()
        links = _hrefs(index)
        assert links, "index.html links nothing"
        for link in links:
            assert (run.out / link).is_file(), link
        for item in run.summary["results"]:
            assert f"{item['recipe']}.html" in links and f"{item['recipe']}.ipynb" in links
            page = (run.out / f"{item['recipe']}.html").read_text()
            assert "<html" in page and "make_client" in page  # nbconvert's rendering of the executed code
            assert item["status"] in index
    parallel = (runs["parallel"].out / "index.html").read_text()
    assert "Cookbook run: all 8 ok" in parallel and "The capital of France is Paris." in parallel
    assert "<b>replay</b>" in parallel


def test_the_report_pages_load_nothing_from_the_web(runs):
    for page in runs["parallel"].out.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]*\ssrc=", text), page.name  # no require.js, MathJax, widget manager
        assert "cdnjs.cloudflare.com" not in text and "unpkg.com" not in text, page.name
    playground = (runs["parallel"].out / "04_multiple_tools.html").read_text()
    assert "<b>Playground</b> (replay mode)" in playground  # the widget's static picture, not an empty output


def test_a_run_removes_the_pages_of_an_earlier_run_and_nothing_else(tmp_path):
    for name in ("02_web_search.html", "02_web_search.ipynb", "index.html", "summary.json", "notes.txt",
                 "01_hello_world.txt"):
        (tmp_path / name).write_text("old")
    _cli.clear_report(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_hello_world.txt", "notes.txt"]


def test_cookbook_list_into_a_closed_pipe_ends_quietly(tmp_path):
    argv, kw = command("list", cwd=tmp_path)
    shell = subprocess.run(" ".join(f"'{a}'" for a in argv) + " | head -n 1", shell=True, capture_output=True,
                           text=True, timeout=120, **kw)
    assert shell.stdout.startswith("01_hello_world") and "Traceback" not in shell.stderr, shell.stderr


def test_parameters_from_y_reach_the_notebook_and_mode_is_injected(runs):
    run = runs["japan"]
    assert run.code == 0, run.stderr
    assert run.results["01_hello_world"]["answer"] == "The capital of Japan is Tokyo."
    nb = run.notebook("01_hello_world")
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'mode = "replay"' in injected.source and 'prompt = "What is the capital of Japan?"' in injected.source
    assert run.summary["parameters"] == {"prompt": "What is the capital of Japan?"}


def test_an_unrecorded_prompt_fails_the_run_naming_the_recipe_and_the_replay_miss(runs):
    run = runs["miss"]
    assert run.code == 1
    item = run.results["01_hello_world"]
    assert item["status"] == "failed" and item["answer"] == ""
    assert item["error"]["name"] == "ReplayMiss"
    assert item["error"]["message"].startswith("No recording answers POST /v1/conversations in cassette 01_hello_world")
    assert "\n" not in item["error"]["message"]
    assert f"1 of 1 recipe(s) failed:\n  01_hello_world: ReplayMiss: {item['error']['message']}" in run.stderr
    assert re.search(r"^01_hello_world\s+failed\s+\d+\.\d\s+\(ReplayMiss\)$", run.stdout, re.M)
    # the useful part of the miss is in the summary, on the terminal and on the index, not only in the notebook
    details = item["error"]["details"]
    assert "Recorded prompts for this endpoint:" in details and "'What is the capital of France?'" in details
    assert "MISTRAL_API_KEY" in details and '-      "content": "What is the capital of France?"' in details
    assert "    Recorded prompts for this endpoint:" in run.stderr
    index = (run.out / "index.html").read_text()
    assert "Cookbook run: 1 of 1 failed" in index and "<b>ReplayMiss</b>: No recording answers" in index
    shown = re.search(r'<pre class="details">([^<]*)</pre>', index)  # escaped: a browser shows the text as it is
    assert shown and html.unescape(shown[1]) == details
    # the executed notebook is kept, with the error in full
    errors = [o for c in run.notebook("01_hello_world").cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ReplayMiss"]


def _hrefs(page: str) -> list[str]:
    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.found.append(dict(attrs)["href"])

    parser = Links()
    parser.feed(page)
    return parser.found


# ------------------------------------------------------------------ usage errors: exit 2, nothing runs


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["run", "helo_world"], {}, ["Unknown recipe 'helo_world'. Did you mean 'hello_world'?", "01_hello_world"]),
        (["run", "42"], {}, ["Unknown recipe '42'", "08_connector_lifecycle"]),
        (["run", "1", "-p", "promt", "x"], {}, ["Unknown parameter 'promt'. Did you mean 'prompt'?", "cookbook list"]),
        (["run", "1", "-p", "exclude", "[a]"], {}, ["Unknown parameter 'exclude'", "a parameter of 05_tool_filters"]),
        (["run", "5", "-p", "exclude", "a"], {}, ["'exclude' of 05_tool_filters is a list", "-y 'exclude: ["]),
        (["run", "--mode", "live"], {}, ["live mode (from --mode)", "needs a key", "MISTRAL_API_KEY", "--mode replay"]),
        (["run", "1", "-p", "mode", "record"], {}, ["record mode (from -p mode)", "MISTRAL_API_KEY"]),
        (["run"], {"COOKBOOK_MODE": "live"}, ["live mode (from COOKBOOK_MODE)", "MISTRAL_API_KEY"]),
        (["run", "--mode", "replay", "-p", "mode", "live"], {}, ["disagree"]),
        (["run", "-y", "- not a mapping"], {}, ["-y takes a YAML mapping"]),
        (["run", "--jobs", "0"], {}, ["--jobs"]),
    ],
)
def test_usage_errors_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys, args, env, says):
    # in this process (the command's main, as the console script calls it); test_out_must_not_be_the_notebooks_folder
    # checks the same path through a real `python -m cookbook`
    monkeypatch.chdir(tmp_path)
    for name in ("MISTRAL_API_KEY", "COOKBOOK_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    code = _cli.main([*args, "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 2, stdout + stderr
    assert stderr.startswith("cookbook run: error: ")
    for text in says:
        assert text in stderr
    assert not out.exists() and stdout == ""  # no output folder, not even the "Running" line


def test_out_must_not_be_the_notebooks_folder(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "01_hello_world.ipynb").write_bytes((NOTEBOOKS / "01_hello_world.ipynb").read_bytes())
    result = cli("run", "--notebooks", str(folder), "--out", str(folder), cwd=tmp_path)
    assert result.returncode == 2 and "replace the recipes" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["01_hello_world.ipynb"]


# ------------------------------------------------------------------ cookbook list


def test_list_shows_each_parameter_with_its_default_and_help_and_the_recorded_prompts(tmp_path):
    result = cli("list", "1", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("01_hello_world  Recipe 1 · Hello world: a first conversation\n")
    assert re.search(r'^    prompt = "What is the capital of France\?"  # the user message$', text, re.M)
    assert re.search(r'^    exclude\s+= \["read_wiki_structure"\]  # tools hidden from the model', text, re.M)
    assert re.search(r"^    mode\s+= None  # \"replay\", \"live\" or \"record\"", text, re.M)
    for prompt in recorded_prompts("01_hello_world") + recorded_prompts("05_tool_filters"):
        assert f"    {json.dumps(prompt, ensure_ascii=False)}\n" in text
    assert "02_web_search" not in text


def test_list_json_is_what_papermill_and_the_cassettes_say(tmp_path):
    result = cli("list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [item["recipe"] for item in data] == SLUGS
    for item in data:
        inspected = papermill.inspect_notebook(str(NOTEBOOKS / f"{item['recipe']}.ipynb"))
        assert item["parameters"] == {n: {"default": p["default"], "help": p["help"]} for n, p in inspected.items()}
        assert item["recorded_prompts"] == recorded_prompts(item["recipe"])
        assert "mode" in item["parameters"] and "prompt" in item["parameters"]


def test_a_multiline_default_is_shown_on_one_line():
    source = '("Search the web for the latest SQLite release, "\n"then use deepwiki to find it.")'
    assert _cli.shown_default(source) == '"Search the web for the latest SQLite release, then use deepwiki to find it."'
    assert _cli.shown_default("None") == "None" and _cli.shown_default('["a", "b"]') == '["a", "b"]'
    assert _cli.shown_default("os.environ['X']") == "os.environ['X']"  # not a literal: shown as written


# ------------------------------------------------------------------ recipes, notebooks folder, parameters


def test_a_recipe_is_named_by_number_slug_or_name():
    recipes = _cli.find_recipes(str(NOTEBOOKS))[1]
    for form in ("01", "1", "01_hello_world", "hello_world", "Hello_World", "01_hello_world.ipynb"):
        assert [r.slug for r in _cli.select(recipes, [form])] == ["01_hello_world"], form
    assert [r.slug for r in _cli.select(recipes, ["3", "1", "01"])] == ["03_custom_connector", "01_hello_world"]
    assert _cli.select(recipes, []) == recipes


def test_notebooks_come_from_the_option_then_the_working_folder_then_the_checkout(tmp_path, monkeypatch):
    local = tmp_path / "notebooks"
    local.mkdir()
    (local / "02_web_search.ipynb").write_bytes((NOTEBOOKS / "02_web_search.ipynb").read_bytes())
    (local / "notes.ipynb").write_text("{}")  # not a recipe
    other = tmp_path / "other"
    other.mkdir()
    (other / "07_oauth_gmail.ipynb").write_bytes((NOTEBOOKS / "07_oauth_gmail.ipynb").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert [r.slug for r in _cli.find_recipes(str(other))[1]] == ["07_oauth_gmail"]
    assert [r.slug for r in _cli.find_recipes(None)[1]] == ["02_web_search"]
    monkeypatch.chdir(other)
    directory, recipes = _cli.find_recipes(None)
    assert directory == NOTEBOOKS and [r.slug for r in recipes] == SLUGS  # next to the (editable) package
    monkeypatch.setattr(_cli, "REPOSITORY_NOTEBOOKS", tmp_path / "nowhere")
    with pytest.raises(_cli.UsageError, match=r"not part of the installed package: clone .* --notebooks DIR"):
        _cli.find_recipes(None)
    with pytest.raises(_cli.UsageError, match="No recipe notebooks"):
        _cli.find_recipes(str(tmp_path / "nowhere"))


def test_p_values_are_typed_as_papermill_types_them():
    # papermill's -p: an int, else a float, else True/False/None, else the text as given
    typed = {"3": 3, "-2": -2, "0.5": 0.5, "1e3": 1000.0, "True": True, "False": False, "None": None, "text": "text",
             "[1, 2]": "[1, 2]", "": "", "true": "true"}
    for text, value in typed.items():
        assert _cli.parse_value(text) == value and type(_cli.parse_value(text)) is type(value), text
    assert _cli.parse_value("3") == 3 and _cli.parse_value("None") is None and _cli.parse_value("[1, 2]") == "[1, 2]"
    assert _cli.parse_yaml("exclude: [a, b]\nn: 2") == {"exclude": ["a", "b"], "n": 2}


def test_a_parameter_goes_only_to_the_recipes_that_declare_it():
    recipes = _cli.select(_cli.find_recipes(str(NOTEBOOKS))[1], ["1", "5"])
    per_recipe, takers = _cli.plan_parameters(recipes, {"exclude": ["x"], "prompt": "hi"})
    assert per_recipe == {"01_hello_world": {"prompt": "hi"}, "05_tool_filters": {"exclude": ["x"], "prompt": "hi"}}
    assert takers == {"exclude": ["05_tool_filters"], "prompt": ["01_hello_world", "05_tool_filters"]}


# ------------------------------------------------------------------ mode


def _mode(monkeypatch, tmp_path, mode=None, given=None, **env):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("COOKBOOK_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return _cli._mode_and_env(_cli.build_parser().parse_args(["run", *(["--mode", mode] if mode else [])]),
                              dict(given or {}))


def test_the_mode_resolves_as_make_client_resolves_it_and_says_why(monkeypatch, tmp_path):
    assert _mode(monkeypatch, tmp_path) == ("replay", "no MISTRAL_API_KEY found: the bundled recordings answer", {})
    assert _mode(monkeypatch, tmp_path, "replay", MISTRAL_API_KEY="sk-1")[:2] == ("replay", "from the command line")
    assert _mode(monkeypatch, tmp_path, COOKBOOK_MODE="replay", MISTRAL_API_KEY="sk-1") == (
        "replay", "from COOKBOOK_MODE", {})
    assert _mode(monkeypatch, tmp_path, MISTRAL_API_KEY="sk-1") == (
        "live", "MISTRAL_API_KEY found", {"MISTRAL_API_KEY": "sk-1"})
    assert _mode(monkeypatch, tmp_path, given={"mode": "replay"})[:2] == ("replay", "from the command line")


def test_a_key_from_a_dot_env_file_here_reaches_the_kernels(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("MISTRAL_API_KEY=sk-from-dotenv\n")
    mode, why, env = _mode(monkeypatch, tmp_path, "record")
    assert (mode, env) == ("record", {"MISTRAL_API_KEY": "sk-from-dotenv"})


# ------------------------------------------------------------------ the command itself


def test_help_names_the_commands_and_a_bare_cookbook_prints_it(tmp_path):
    result = cli(cwd=tmp_path)
    assert result.returncode == 0 and "list" in result.stdout and "run" in result.stdout
    result = cli("run", "--help", cwd=tmp_path)
    for option in ("-p NAME VALUE", "-y YAML", "--mode {replay,live,record}", "--jobs N", "--out DIR", "--notebooks"):
        assert option in result.stdout
    assert cli("--version", cwd=tmp_path).stdout.startswith("cookbook ")


def test_the_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^\[project\.scripts\]\ncookbook = "cookbook\._cli:main"$', text, re.M)


# ------------------------------------------------------------------ the answer marker


def test_responses_are_displayed_with_the_cookbook_marker_and_other_displays_are_not():
    from cookbook import display_response, display_stream

    events = [
        {"type": "conversation.response.started", "conversation_id": "conv_1"},
        {"type": "message.output.delta", "id": "m1", "output_index": 0, "content_index": 0, "content": "Hi there",
         "model": "mistral-small-latest", "role": "assistant"},
        {"type": "conversation.response.done",
         "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
    ]
    with ipython_shell() as (shell, displays, results):
        shell.user_ns.update(display_response=display_response, display_stream=display_stream,
                             resp=response(message("hello")), events=events)
        assert shell.run_cell("display_response(resp)", store_history=True).success
        assert shell.run_cell("shown = display_response(resp)", store_history=True).success
        assert shell.run_cell("shown", store_history=True).success  # shown again by _ipython_display_
        assert shell.run_cell("display_stream(iter(events))", store_history=True).success
    marked = [d for d in displays if ((d["metadata"] or {}).get("cookbook") or {}).get("kind") == "response"]
    assert [d["data"]["text/plain"].splitlines()[0] for d in marked] == ["hello", "hello", "hello", "Hi there"]
    live = [d for d in displays if d["data"] == {"text/plain": ""}]
    assert live and all(not d["metadata"] for d in live)  # the live stream output is not an answer
    assert response(message("x")) and results == []


def test_the_answer_is_the_summary_of_the_first_marked_output():
    marker = {"cookbook": {"kind": "response"}}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "Mistral client: replay mode"}, execution_count=1),
            nbformat.v4.new_output("stream", name="stdout", text="Created agent\n"),
        ]),
        nbformat.v4.new_code_cell(outputs=[
            nbformat.v4.new_output("display_data", {"text/plain": "\n\n  The answer.  \nmore"}, metadata=marker),
            nbformat.v4.new_output("display_data", {"text/plain": "second"}, metadata=marker),
        ]),
    ])
    assert _cli.first_answer_line(nb) == "The answer."
    assert _cli.first_answer_line(nbformat.v4.new_notebook()) == ""
    nb.cells[1].outputs[0].metadata = {"cookbook": {"kind": "response", "answer": "Plain words, first sentence."}}
    assert _cli.first_answer_line(nb) == "Plain words, first sentence."  # display_response's own summary


def test_ctrl_c_stops_the_run_promptly_with_status_130_and_no_report(tmp_path):
    import signal
    import time

    out = tmp_path / "out"
    argv, kw = command("run", "1", "2", "3", "--jobs", "2", "--out", str(out), cwd=tmp_path)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **kw)
    try:
        proc.stdout.readline()  # "Running 3 recipe(s) ...": the workers are starting their kernels
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole foreground group
        stopped = time.monotonic()
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # an impatient second Ctrl-C, while the workers are being stopped
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and time.monotonic() - stopped < 10
    assert "Interrupted: " in stderr and "no report written" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not (out / "index.html").exists()


def test_a_kernel_that_dies_fails_its_recipe_and_the_notebook_keeps_the_outputs_before_it(tmp_path):
    # the engine saves at the start and the end of a run, not around each cell: the end must come even so
    folder = tmp_path / "notebooks"
    folder.mkdir()
    params = nbformat.v4.new_code_cell('mode = None  # "replay", "live" or "record"')
    params.metadata["tags"] = ["parameters"]
    cells = [params, nbformat.v4.new_code_cell('print("before the crash")'),
             nbformat.v4.new_code_cell("import os\nos._exit(3)"), nbformat.v4.new_code_cell('print("never")')]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_crash.ipynb")
    out = tmp_path / "out"
    result = cli("run", "--notebooks", str(folder), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    (item,) = json.loads((out / "summary.json").read_text())["results"]
    assert item["status"] == "failed" and item["error"]["name"] == "DeadKernelError"
    executed = nbformat.read(out / "01_crash.ipynb", as_version=4)
    printed = [o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert "before the crash\n" in printed and not any("never" in text for text in printed)
    assert executed.cells[0].source.startswith("mode = None")  # the recipe's own cells, parameters injected after
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


def test_a_cassette_folder_under_home_is_the_same_folder_for_the_command_and_the_kernels(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-cli-test-fake-key-0123456789abcdef")
    args = _cli.build_parser().parse_args(["run", "1", "--mode", "record", "--cassettes", "~/recordings",
                                           "--notebooks", str(NOTEBOOKS)])
    assert _cli.Plan(args).env["COOKBOOK_CASSETTES"] == str(tmp_path / "recordings")


def test_changes_counts_a_hand_written_exchange_the_recording_left_as_kept():
    from cookbook import _cassette, _drift

    def exchange(prompt: str, **head) -> dict:
        return {**head, "request": {"method": "POST", "uri": "https://api.mistral.ai/v1/conversations",
                                    "json": {"inputs": prompt}},
                "response": {"status": {"code": 200, "message": "OK"}, "json": {"outputs": []}}}

    before = [exchange("Authored?", note="written by hand, no capture")]  # as a person writes it, not dumps()
    recorded = exchange("New?", provenance="recorded", recorded="2026-01-01T00:00:00.000000Z")
    after = _cassette.loads(_cassette.dumps({"interactions": [*before, recorded]}))["interactions"]
    assert _drift.changes(before, after) == [1, 0, 1, 1]
