"""The README's set-up commands are the ones CI runs, and every place that names a Python version names the same."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "python3 bootstrap.py && .venv/bin/cookbook run"
TEST = "python3 bootstrap.py --test && .venv/bin/python -m pytest"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_two_commands():
    head = (ROOT / "README.md").read_text().split("## ", 1)[0]
    run, test = readme_commands()
    assert run in head and test in head
    # one line each: set up .venv with bootstrap.py (it needs no pip: a stock Debian or Ubuntu Python has none
    # it may use, PEP 668), then run from .venv
    assert (run, test) == (RUN, TEST)
    assert (ROOT / "bootstrap.py").is_file()


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines
    assert [line for line in ci_lines if line][-1] == test  # the last command: its exit status is CI's


def minimum_python() -> tuple[int, int]:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major, minor = re.fullmatch(r">=(3)\.(\d+)", spec).groups()
    return int(major), int(minor)


def test_every_place_names_the_python_that_pyproject_requires():
    major, minor = minimum_python()
    head = (ROOT / "README.md").read_text().split("## ", 1)[0]
    assert f"Python {major}.{minor} or newer" in head
    assert not re.search(r"Python 3\.\d+\+", head)  # no other version claimed
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["target-version"] == f"py{major}{minor}"
    assert (ROOT / "binder" / "runtime.txt").read_text().split() == [f"python-{major}.{minor}"]
    tree = ast.parse((ROOT / "bootstrap.py").read_text())
    (value,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["MIN_PYTHON"]]
    assert ast.literal_eval(value) == (major, minor)


def test_readme_lists_every_recipe_with_its_parameters_and_recorded_prompts():
    import papermill

    from cookbook import _cassette

    text = (ROOT / "README.md").read_text()
    for notebook in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        assert f"(notebooks/{notebook.name})" in text, notebook.name
        row = next(line for line in text.splitlines() if f"(notebooks/{notebook.name})" in line)
        for name in papermill.inspect_notebook(str(notebook)):
            if name not in ("mode", "model", "prompt"):
                assert f"`{name}`" in row, (notebook.name, name)
        for prompt in _cassette.recorded_prompts(notebook.stem):
            if prompt.startswith("Search the web"):  # recipe 8's follow-up: the notebook's default
                continue
            assert f'"{prompt}"' in text, prompt
