"""``cookbook``: list the recipe notebooks and run them with papermill.

``cookbook list`` shows each recipe's parameters (as papermill reads its cell
tagged ``parameters``) and the prompts its cassette can answer. ``cookbook run``
executes notebooks into a directory, shows a progress bar, prints a summary and
writes ``index.html`` linking an HTML rendering of every executed notebook.

Everything a command needs (papermill, nbconvert, tqdm) is imported inside it,
so ``import cookbook`` stays light. Mistakes on the command line (an unknown
recipe or parameter, live mode without a key) stop the command, with exit
status 2, before any notebook runs.
"""

from __future__ import annotations

import argparse
import ast
import functools
import html
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPE_FILE = re.compile(r"^(\d{2})_(\w+)\.ipynb$")
DEFAULT_OUT = "cookbook-run"
RESPONSE_KIND = "response"  # the display metadata cookbook.kind of a rendered response (see _display.py)


class UsageError(Exception):
    """A mistake on the command line, found before anything runs (exit status 2)."""


@dataclass(frozen=True)
class Recipe:
    slug: str  # "01_hello_world": the notebook's stem, also its cassette's name
    path: Path

    @property
    def number(self) -> str:
        return self.slug[:2]

    @property
    def name(self) -> str:
        return self.slug[3:]

    def title(self) -> str:
        """The notebook's first Markdown heading, without the '#'."""
        try:
            cells = json.loads(self.path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            return self.slug
        for cell in cells:
            if cell.get("cell_type") == "markdown":
                source = "".join(cell.get("source", []))
                for line in source.splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return self.slug


# --------------------------------------------------------------------------- finding recipes


def _recipes_in(directory: Path) -> list[Recipe]:
    if not directory.is_dir():
        return []
    return [Recipe(p.stem, p) for p in sorted(directory.iterdir()) if RECIPE_FILE.match(p.name)]


def repository_notebooks() -> Path:
    """``notebooks/`` next to the package: where an editable install (``pip install -e .``) keeps them."""
    return Path(__file__).resolve().parent.parent / "notebooks"


def find_recipes(explicit: str | None) -> tuple[Path, list[Recipe]]:
    """The notebooks directory and its recipes: ``--notebooks``, else ``./notebooks``, else the repository's."""
    if explicit:
        directory = Path(explicit)
        recipes = _recipes_in(directory)
        if not recipes:
            raise UsageError(
                f"No recipe notebooks (NN_name.ipynb) in {directory}: pass the cookbook's notebooks/ folder."
            )
        return directory, recipes
    looked = []
    for directory in (Path("notebooks"), repository_notebooks()):
        recipes = _recipes_in(directory)
        if recipes:
            return directory, recipes
        looked.append(str(directory.resolve()))
    raise UsageError(
        f"No recipe notebooks found (looked in {' and '.join(dict.fromkeys(looked))}). The notebooks are not part "
        "of the installed package: clone the cookbook's repository and run `pip install -e .` and `cookbook run` "
        "in it, or pass --notebooks DIR."
    )


def select(recipes: list[Recipe], wanted: list[str]) -> list[Recipe]:
    """The recipes named ``01``, ``1``, ``01_hello_world``, ``hello_world`` (or the notebook's file name)."""
    if not wanted:
        return list(recipes)
    chosen: list[Recipe] = []
    for text in wanted:
        key = text.strip().lower().removesuffix(".ipynb")
        key = key.rsplit("/", 1)[-1]
        found = [
            r for r in recipes
            if key in (r.slug.lower(), r.name.lower(), r.number) or (key.isdigit() and int(key) == int(r.number))
        ]
        if not found:
            known = ", ".join(r.slug for r in recipes)
            raise UsageError(
                f"Unknown recipe {text!r}.{_did_you_mean(key, [r.slug for r in recipes] + [r.name for r in recipes])}"
                f" Recipes: {known} (a number such as 1 or 01 also works)."
            )
        chosen.extend(r for r in found if r not in chosen)
    return chosen


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------- parameters


def parameters_of(recipe: Recipe) -> dict[str, dict[str, Any]]:
    """The recipe's parameters as papermill reads them: ``{name: {"default": source text, "help": comment}}``."""
    import papermill

    return papermill.inspect_notebook(str(recipe.path))


def literal(source: str) -> Any:
    """A parameter's default as a value (``...`` when it is not a plain literal)."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ...


def shown_default(source: str) -> str:
    """A default as one line of Python (adjacent string literals joined)."""
    value = literal(source)
    if value is ...:
        return " ".join(source.split())
    if isinstance(value, (str, list, dict)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return repr(value)


def parse_value(text: str) -> Any:
    """A ``-p`` value, typed as papermill's own ``-p`` types it (True/False/None, int, float, else str)."""
    try:
        from papermill.cli import _resolve_type
    except ImportError:  # papermill moved it: the same rules
        if text in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[text]
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    return _resolve_type(text)


def parse_yaml(text: str) -> dict[str, Any]:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(f"-y takes YAML such as 'exclude: [read_wiki_structure]': {error}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise UsageError("-y takes a YAML mapping of parameter names to values, e.g. -y 'exclude: [a, b]'.")
    return value


def plan_parameters(
    recipes: list[Recipe], given: dict[str, Any], others: list[Recipe] = ()
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Each recipe's parameters to inject, and which recipes take each given one.

    A parameter no selected recipe declares is an error; one that only some
    declare goes to those only. A list or mapping parameter given as text is an
    error too (papermill's ``-p`` gives text; ``-y`` gives lists).
    """
    declared = {r.slug: parameters_of(r) for r in recipes}
    per_recipe: dict[str, dict[str, Any]] = {r.slug: {} for r in recipes}
    takers: dict[str, list[str]] = {}
    for name, value in given.items():
        takers[name] = [slug for slug, params in declared.items() if name in params]
        if not takers[name]:
            known = sorted({p for params in declared.values() for p in params})
            where = f"{recipes[0].slug} takes" if len(recipes) == 1 else "The selected recipes take"
            elsewhere = [r.slug for r in others if r not in recipes and name in parameters_of(r)]
            hint = f" ({name} is a parameter of {', '.join(elsewhere)}.)" if elsewhere else ""
            raise UsageError(
                f"Unknown parameter {name!r}.{_did_you_mean(name, known)}{hint} {where}: {', '.join(known)}. "
                "See `cookbook list`."
            )
        for slug in takers[name]:
            default = literal(declared[slug][name]["default"])
            if isinstance(default, (list, tuple, dict)) and not isinstance(value, (list, tuple, dict)):
                kind = "a mapping" if isinstance(default, dict) else "a list"
                raise UsageError(
                    f"Parameter {name!r} of {slug} is {kind} (default {shown_default(declared[slug][name]['default'])})"
                    f"; give it as YAML: -y '{name}: [first, second]'."
                )
            per_recipe[slug][name] = value
    return per_recipe, takers


# --------------------------------------------------------------------------- cookbook list


def cmd_list(args: argparse.Namespace) -> int:
    from ._cassette import bundled_names, recorded_prompts

    _, recipes = find_recipes(args.notebooks)
    recipes = select(recipes, args.recipes)
    cassettes = set(bundled_names())
    items = []
    for recipe in recipes:
        params = parameters_of(recipe)
        prompts = recorded_prompts(recipe.slug) if recipe.slug in cassettes else []
        items.append((recipe, params, prompts))
    if args.json:
        data = [
            {
                "recipe": r.slug,
                "title": r.title(),
                "notebook": str(r.path),
                "parameters": {n: {"default": p["default"], "help": p["help"]} for n, p in params.items()},
                "recorded_prompts": prompts,
            }
            for r, params, prompts in items
        ]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    for i, (recipe, params, prompts) in enumerate(items):
        if i:
            print()
        print(f"{recipe.slug}  {recipe.title()}")
        print("  parameters (-p NAME VALUE):")
        width = max((len(n) for n in params), default=0)
        for name, info in params.items():
            comment = f"  # {info['help']}" if info.get("help") else ""
            print(f"    {name:<{width}} = {shown_default(info['default'])}{comment}")
        if prompts:
            print("  recorded prompts (replay answers these):")
            for prompt in prompts:
                print(f"    {json.dumps(prompt, ensure_ascii=False)}")
        else:
            print("  recorded prompts: none (no bundled cassette of this name)")
    return 0


# --------------------------------------------------------------------------- cookbook run: one notebook


def _kernel_manager_class(ipc_dir: str | None) -> type:
    """A kernel manager whose kernel runs in this interpreter (the one with ``cookbook``), over IPC when possible.

    The notebooks' kernelspec may name another Python (a user-wide ``python3``
    kernel); the recipes need the one that runs this command. IPC sockets in a
    private directory also keep the kernel off TCP ports.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class CookbookKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            connection = os.path.realpath(self.connection_file)
            return [sys.executable, "-m", "ipykernel_launcher", "-f", connection, *(extra_arguments or [])]

        if ipc_dir:

            @default("transport")
            def _default_transport(self) -> str:
                return "ipc"

            @default("ip")
            def _default_ip(self) -> str:
                return os.path.join(ipc_dir, "kernel")

    return CookbookKernelManager


ENGINE = "cookbook"


@functools.cache
def _register_engine() -> str:
    """papermill's nbclient engine, saving the executed notebook less often; returns its name.

    papermill saves the notebook before and after every cell, and each save validates the whole notebook
    against its schema: 0.05 to 0.3 s a recipe, more than some of their cells take. This engine saves when
    the run starts, every 30 s while a cell runs (papermill's autosave), and when it ends, whatever ended it
    (an error, a timeout or a dead kernel included), so the executed notebook is never missing or stale.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SaveAtEnds(NotebookExecutionManager):
        in_cell_hook = False

        def save(self, **kwargs: Any) -> None:
            if not self.in_cell_hook:
                super().save(**kwargs)

        def without_saving(self, hook: Any, *args: Any, **kwargs: Any) -> None:
            self.in_cell_hook = True
            try:
                hook(*args, **kwargs)
            finally:
                self.in_cell_hook = False

        def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            self.without_saving(super().cell_start, cell, cell_index, **kwargs)

        def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            self.without_saving(super().cell_complete, cell, cell_index, **kwargs)

    class CookbookEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                             progress_bar: bool = True, log_output: bool = False, autosave_cell_every: int = 30,
                             **kwargs: Any) -> Any:
            # papermill's Engine.execute_notebook, with the manager above
            manager = SaveAtEnds(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                 autosave_cell_every=autosave_cell_every)
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(ENGINE, CookbookEngine)
    return ENGINE


def first_answer_line(nb: Any) -> str:
    """The answer of the first response the notebook displayed, as plain text: what its display metadata says
    (``display_response`` writes the answer's first sentences there), else its first non-empty line."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            marker = (output.get("metadata") or {}).get("cookbook") or {}
            if marker.get("kind") == RESPONSE_KIND:
                if marker.get("answer"):
                    return str(marker["answer"])
                text = output.get("data", {}).get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else str(text)
                return _first_line(text)
    return ""


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def execute_recipe(job: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill and render it to HTML (in a worker process); return what happened."""
    import shutil
    import tempfile

    import nbformat
    import papermill

    out_dir = Path(job["out"])
    ipynb, page = out_dir / f"{job['slug']}.ipynb", out_dir / f"{job['slug']}.html"
    result: dict[str, Any] = {
        "recipe": job["slug"], "status": "ok", "seconds": 0.0, "answer": "", "error": None,
        "notebook": ipynb.name, "html": None,
    }
    ipc_dir = tempfile.mkdtemp(prefix="k", dir=job.get("ipc")) if os.name == "posix" else None
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            job["path"], str(ipynb), parameters=job["parameters"], cwd=job["cwd"], progress_bar=False,
            kernel_name="python3", kernel_manager_class=_kernel_manager_class(ipc_dir),
            engine_name=_register_engine(),
            # Once the last cell has answered, everything the notebook shows is in hand: the kernel is stopped at
            # once. A graceful stop costs 0.1-0.5 s of garbage collection at exit, and now and then ipykernel 7's
            # shutdown deadlocks (its control thread waits on a flush the stopped IO thread never does) until
            # jupyter_client kills it 2.5 s later. Cassettes are written after each exchange, not at exit.
            shutdown_kernel="immediate",
        )
    except papermill.PapermillExecutionError as error:
        result["status"] = "failed"
        result["error"] = {"name": error.ename, "message": _first_line(error.evalue)}
    except Exception as error:  # the kernel died, a timeout, a bad notebook: report it, run the others
        result["status"] = "failed"
        result["error"] = {"name": type(error).__name__, "message": _first_line(str(error))}
    finally:
        result["seconds"] = round(time.monotonic() - started, 1)
        if ipc_dir:
            shutil.rmtree(ipc_dir, ignore_errors=True)
    if not ipynb.is_file():
        result["notebook"] = None
        return result
    try:
        nb = nbformat.read(str(ipynb), as_version=4)
        result["answer"] = first_answer_line(nb)
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        page.write_text(body, encoding="utf-8")
        result["html"] = page.name
    except Exception as error:  # the run's result stands; the report says the page is missing
        result["html_error"] = f"{type(error).__name__}: {_first_line(str(error))}"
    return result


def _init_worker(env: dict[str, str]) -> None:
    import signal

    os.environ.update(env)
    # Ctrl-C is for the main process, which stops the workers; each kernel, in a session of its own,
    # exits when its worker does (ipykernel's parent poller).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_context() -> Any:
    """Fork on Linux, after importing what every worker needs (papermill alone takes a second or more to import);
    spawn elsewhere (fork is unsafe on macOS, absent on Windows)."""
    import multiprocessing

    if sys.platform == "linux":
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# --------------------------------------------------------------------------- cookbook run


def _mode_and_env(args: argparse.Namespace, given: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """The mode (resolved as ``make_client`` resolves it), why, and the environment the kernels need."""
    from ._client import KEY_VARIABLE, MODE_VARIABLE, resolve_mode
    from ._errors import ConfigurationError

    mode, source = args.mode, "--mode"
    if "mode" in given:
        source = "-p mode"
        if mode and given["mode"] != mode:
            raise UsageError(f"--mode {mode} and -p mode {given['mode']} disagree: give one.")
        mode = given.pop("mode")
    if mode is not None and str(mode).lower() not in ("replay", "live", "record"):
        raise UsageError(f"-p mode takes replay, live or record, not {mode!r}.")
    source = source if mode else MODE_VARIABLE
    try:
        chosen, key = resolve_mode(mode)
    except ConfigurationError as error:
        wanted = (mode or os.environ.get(MODE_VARIABLE, "")).strip().lower()
        if wanted not in ("live", "record"):
            raise UsageError(str(error)) from None
        raise UsageError(
            f"{wanted} mode (from {source}) talks to the Mistral API and needs a key: set {KEY_VARIABLE} in the "
            "environment or in a .env file here, or run with --mode replay (the bundled recordings answer)."
        ) from None
    if mode:
        why = "from the command line"
    elif os.environ.get(MODE_VARIABLE):
        why = f"from {MODE_VARIABLE}"
    elif key:
        why = f"{KEY_VARIABLE} found"
    else:
        why = f"no {KEY_VARIABLE} found: the bundled recordings answer"
    env = {KEY_VARIABLE: key} if key else {}  # a key read from ./.env reaches kernels that run elsewhere
    return chosen, why, env


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def write_index(out_dir: Path, summary: dict[str, Any], titles: dict[str, str]) -> Path:
    """``index.html``: the summary, each recipe's status, answer or error, and links to its pages."""
    from urllib.parse import quote

    esc = html.escape
    rows = []
    for item in summary["results"]:
        links = []
        if item.get("html"):
            links.append(f'<a href="{esc(quote(item["html"]))}">page</a>')
        if item.get("notebook"):
            links.append(f'<a href="{esc(quote(item["notebook"]))}">.ipynb</a>')
        if item.get("html_error"):
            links.append(f'<span class="muted">no page: {esc(item["html_error"])}</span>')
        if item["error"]:
            said = f'<b>{esc(item["error"]["name"])}</b>: {esc(item["error"]["message"])}'
        else:
            said = esc(item["answer"]) or '<span class="muted">(no response shown)</span>'
        name = esc(item["recipe"])
        first = f'<a href="{esc(quote(item["html"]))}">{name}</a>' if item.get("html") else name
        rows.append(
            f'<tr class="{esc(item["status"])}"><td>{first}<div class="muted">{esc(titles.get(item["recipe"], ""))}'
            f'</div></td><td><span class="status">{esc(item["status"])}</span></td>'
            f'<td class="num">{item["seconds"]:.1f}</td><td>{said}</td><td class="files">{" · ".join(links)}</td></tr>'
        )
    failed = sum(1 for item in summary["results"] if item["status"] != "ok")
    verdict = f"{failed} of {len(summary['results'])} failed" if failed else f"all {len(summary['results'])} ok"
    params = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in summary["parameters"].items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cookbook run: {esc(verdict)}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid #ddd; }}
th {{ background: #f4f4f4; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.files {{ white-space: nowrap; }}
.status {{ font-weight: 600; padding: 0 .4em; border-radius: 3px; color: #fff; background: #2e7d32; }}
tr.failed .status {{ background: #c62828; }} tr.failed td {{ background: #fff5f5; }}
.muted {{ color: #666; font-size: 90%; }}
</style></head><body>
<h1>Cookbook run: {esc(verdict)}</h1>
<p>Mode <b>{esc(summary["mode"])}</b> ({esc(summary["mode_reason"])}) · {len(summary["results"])} recipe(s)
in {summary["seconds"]:.1f} s with {summary["jobs"]} job(s) · {esc(summary["finished"])}
{f"· parameters {esc(params)}" if params else ""}</p>
<table><thead><tr><th>recipe</th><th>status</th><th>seconds</th><th>the answer, or the error</th>
<th>files</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<p class="muted">Each page is the executed notebook rendered by nbconvert; the .ipynb opens in Jupyter.</p>
</body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def cmd_run(args: argparse.Namespace) -> int:
    # Everything is checked before anything runs or is written.
    notebooks, every = find_recipes(args.notebooks)
    recipes = select(every, args.recipes)
    given: dict[str, Any] = {}
    for text in args.yaml or []:
        given.update(parse_yaml(text))
    for name, value in args.parameters or []:
        given[name] = parse_value(value)
    mode, why, env = _mode_and_env(args, given)
    per_recipe, takers = plan_parameters(recipes, given, every)
    if args.jobs < 1:
        raise UsageError("--jobs takes a number of parallel processes, 1 or more.")
    out_dir = Path(args.out)
    if out_dir.resolve() == notebooks.resolve():
        raise UsageError("--out must not be the notebooks folder: the executed copies would replace the recipes.")

    import shutil
    import tempfile
    from datetime import datetime

    from tqdm import tqdm

    for name, slugs in takers.items():
        if len(slugs) < len(recipes):
            print(f"note: {name} is a parameter of {', '.join(slugs)} only; the other recipes run with theirs.",
                  file=sys.stderr)
    jobs = min(args.jobs, len(recipes))
    print(f"Running {len(recipes)} recipe(s) in {mode} mode ({why}) into {out_dir}/ with {jobs} job(s).")
    sys.stdout.flush()
    out_dir.mkdir(parents=True, exist_ok=True)
    # short private paths for the kernels' IPC sockets (a socket path has a ~100-byte limit)
    ipc = tempfile.mkdtemp(prefix="cookbook-") if os.name == "posix" else None
    work = [
        {
            "slug": r.slug, "path": str(r.path.resolve()), "cwd": str(r.path.resolve().parent),
            "out": str(out_dir.resolve()), "parameters": {"mode": mode, **per_recipe[r.slug]}, "ipc": ipc,
        }
        for r in recipes
    ]
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    pool = _process_context().Pool(jobs, initializer=_init_worker, initargs=(env,))
    bar = None
    try:
        finished = pool.imap_unordered(execute_recipe, work)
        # the bar (and its monitor thread) only once the workers exist
        bar = tqdm(total=len(work), desc="cookbook run", unit="notebook", file=sys.stderr,
                   disable=not sys.stderr.isatty(), leave=False)
        for item in finished:
            results[item["recipe"]] = item
            error = item["error"]
            tail = f"{error['name']}: {error['message']}" if error else item["answer"]
            bar.write(f"{item['status']:>6}  {item['recipe']}  {item['seconds']:.1f}s  {_clip(tail, 60)}",
                      file=sys.stderr)
            bar.update()
        pool.close()
    except KeyboardInterrupt:
        pool.terminate()
        # A kernel still starting would find its socket folder gone and print a traceback: leave the
        # folder (in the temporary directory); the kernels exit by themselves once their worker is gone.
        ipc = None
        print(f"Interrupted: {len(results)} of {len(work)} recipe(s) finished; no report written.", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
        pool.terminate()
        pool.join()
        if ipc:
            shutil.rmtree(ipc, ignore_errors=True)
    ordered = [results[r.slug] for r in recipes]
    summary = {
        "mode": mode, "mode_reason": why, "jobs": jobs, "parameters": given,
        "seconds": round(time.monotonic() - started, 1),
        "finished": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "results": ordered,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    index = write_index(out_dir, summary, {r.slug: r.title() for r in recipes})

    rows = [["recipe", "status", "seconds", "answer"]]
    for item in ordered:
        shown = item["answer"] if item["status"] == "ok" else f"({item['error']['name']})"
        rows.append([item["recipe"], item["status"], f"{item['seconds']:.1f}", _clip(shown or "—")])
    print(_table(rows))
    print(f"Report: {index}")
    failed = [item for item in ordered if item["status"] != "ok"]
    if failed:
        print(f"{len(failed)} of {len(ordered)} recipe(s) failed:", file=sys.stderr)
        for item in failed:
            print(f"  {item['recipe']}: {item['error']['name']}: {item['error']['message']}", file=sys.stderr)
        print(f"  (the executed notebooks in {out_dir}/ show each error in full)", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- the command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cookbook",
        description="List and run the Mistral connectors cookbook's recipe notebooks (offline by default).",
        epilog="Recipes are named 01, 1, 01_hello_world or hello_world. Without a key, everything replays "
        "from the bundled recordings.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipes to include (default: all)")
        sub.add_argument("--notebooks", metavar="DIR",
                         help="the folder of recipe notebooks (default: ./notebooks, else the repository's)")

    listing = commands.add_parser("list", help="the recipes, their parameters and their recorded prompts",
                                  description="Show each recipe's parameters (name, default, help) and the "
                                  "prompts its recordings answer.")
    common(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser(
        "run", help="execute recipes with papermill and write a report",
        description="Execute recipe notebooks with papermill into DIR: the executed notebooks, an HTML page "
        "for each, index.html and summary.json. Exits 1 when a recipe fails, 2 on a usage error (nothing runs).",
    )
    common(run)
    run.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set a parameter, typed as papermill's -p does (True, None, 3, 0.5, else text)")
    run.add_argument("-y", "--parameters-yaml", dest="yaml", action="append", metavar="YAML",
                     help="set parameters from YAML, e.g. -y 'exclude: [read_wiki_structure]' (as papermill's -y)")
    run.add_argument("--mode", choices=("replay", "live", "record"),
                     help="default: $COOKBOOK_MODE, else live when MISTRAL_API_KEY is set, else replay")
    run.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="notebooks run in N processes (default 1)")
    run.add_argument("-o", "--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default ./{DEFAULT_OUT})")
    run.set_defaults(handler=cmd_run)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    from ._startup import defer_iri_grammar

    defer_iri_grammar()  # a second of CPU saved in this process and each worker (see cookbook/_startup.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"cookbook {args.command}: error: {error}", file=sys.stderr)
        return 2
