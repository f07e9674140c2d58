"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_two_commands():
    head = (ROOT / "README.md").read_text().split("## ", 1)[0]
    run, test = readme_commands()
    assert run in head and test in head
    assert "pip install" in run and "pip install" in test and "pytest" in test


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines


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
