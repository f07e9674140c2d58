"""The notebook runs tests/test_cli.py and tests/test_notebooks.py read, executed together (conftest.notebook_runs).

Executing a notebook is the slow part of the suite. Every run those tests read starts here, once per session (once
across pytest-xdist workers too: the first worker to ask runs them, the others wait for its results), all at the
same time: the `cookbook run`s tests/test_cli.py checks, and the papermill runs tests/test_notebooks.py checks. The
full `cookbook run` is papermill on every recipe with its defaults in replay, so tests/test_notebooks.py reads its
executed notebooks for the default prompts instead of running the eight again. (A module of its own, so that the
papermill worker processes can find ``run_papermill`` by name.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from recipes import BY_SLUG, RECIPES

from cookbook._cli import KERNEL_START_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
UNRECORDED = "What is the airspeed velocity of an unladen swallow?"
JAPAN = "01_hello_world"  # the recipe of the "japan" run, with its recorded alternative prompt

CLI_RUNS = {
    # two recipes, one process, named two ways
    "serial": ["run", "1", "03_custom_connector"],
    # every recipe, two processes: the full run (tests/test_notebooks.py reads its notebooks too)
    "parallel": ["run", "--jobs", "2"],
    # a recorded alternative prompt given as papermill's -y YAML
    "japan": ["run", "hello_world", "-y", f"prompt: {BY_SLUG[JAPAN]['alternative_prompts'][0]}"],
    # a prompt no cassette holds, given as papermill's -p
    "miss": ["run", "01", "-p", "prompt", UNRECORDED],
}

# papermill runs of tests/test_notebooks.py: each recipe's alternative prompt (01's alternative prompt and the
# unrecorded one are the "japan" and "miss" runs': papermill again, through the command)
PAPERMILL_JOBS = [(r["slug"], "alternative") for r in RECIPES if r["slug"] != JAPAN]


def cli_env(**extra: str) -> dict[str, str]:
    """This environment without a key or a mode, with the checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("MISTRAL_API_KEY", "COOKBOOK_MODE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_papermill(job: tuple[str, str], out_dir: str) -> tuple[str, str | None]:
    """Execute one notebook with papermill (in a worker process); return its output path and any error."""
    import papermill

    slug, variant = job  # variant "alternative": the recipe's first alternative prompt
    parameters = {"mode": "replay", "prompt": BY_SLUG[slug]["alternative_prompts"][0]}
    out = os.path.join(out_dir, f"{slug}-{variant}.ipynb")
    try:
        # plain papermill; the kernel is stopped at once at the end, as nbval and `cookbook run` stop theirs, and
        # gets as long to start as `cookbook run` gives it (the suite starts many kernels at once)
        papermill.execute_notebook(str(NOTEBOOKS / f"{slug}.ipynb"), out, parameters=parameters,
                                   cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3",
                                   shutdown_kernel="immediate", start_timeout=KERNEL_START_TIMEOUT)
    except Exception as error:  # the notebook's error is checked by the tests
        return out, f"{type(error).__name__}: {error}"
    return out, None


def execute_all(base: Path) -> dict:
    """Start the `cookbook run`s and the papermill runs together; wait for all; say what each did."""
    started = {}
    for name, args in CLI_RUNS.items():
        out = base / "cli" / name
        argv = [sys.executable, "-m", "cookbook", *args, "--out", str(out), "--notebooks", str(NOTEBOOKS)]
        started[name] = (out, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                               cwd=base, env=cli_env()))
    papermill_out = base / "papermill"
    papermill_out.mkdir()
    saved = os.environ.pop("MISTRAL_API_KEY", None)
    try:
        with ProcessPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
            executed = list(pool.map(run_papermill, PAPERMILL_JOBS, [str(papermill_out)] * len(PAPERMILL_JOBS)))
    finally:
        if saved is not None:
            os.environ["MISTRAL_API_KEY"] = saved
    cli = {}
    for name, (out, proc) in started.items():
        stdout, stderr = proc.communicate(timeout=900)
        cli[name] = {"out": str(out), "code": proc.returncode, "stdout": stdout, "stderr": stderr}
    return {"cli": cli, "papermill": [[slug, variant, path, error]
                                      for (slug, variant), (path, error) in zip(PAPERMILL_JOBS, executed, strict=True)]}
