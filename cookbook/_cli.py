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
    """A ``-p`` value, typed as papermill's ``-p`` types it: True/False/None, an int, a float, else the text."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


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


# --------------------------------------------------------------------------- running notebooks


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


def _rest(text: str) -> str:
    """What an error says after its first line (a ReplayMiss: the diff, the prompts that replay, how to go live)."""
    lines = str(text).strip().splitlines()
    return "\n".join(lines[1:]).strip("\n")


def execute_recipe(job: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill and render it to HTML (in a worker process); return what happened.

    papermill saves the executed notebook after every cell, so a run that fails (an error, a timeout, a dead
    kernel) leaves the notebook with every output up to the failure.
    """
    import shutil
    import tempfile

    import nbformat
    import papermill
    from traitlets.config import Config

    out_dir = Path(job["out"])
    ipynb, page = out_dir / f"{job['slug']}.ipynb", out_dir / f"{job['slug']}.html"
    result: dict[str, Any] = {"recipe": job["slug"], "status": "ok", "seconds": 0.0, "answer": "", "error": None,
                              "notebook": ipynb.name, "html": None}
    started = time.monotonic()
    sockets = tempfile.mkdtemp(prefix="cookbook-") if os.name == "posix" else None
    # The kernel talks over IPC sockets in a folder of its own (no TCP port for parallel runs to race for), and is
    # stopped at once when its last cell has answered: both are settings of jupyter_client and nbclient.
    config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}} if sockets else {})
    try:
        papermill.execute_notebook(job["path"], str(ipynb), parameters=job["parameters"], cwd=job["cwd"],
                                   progress_bar=False, kernel_name="python3", shutdown_kernel="immediate",
                                   config=config)
    except papermill.PapermillExecutionError as error:
        result.update(status="failed", error={"name": error.ename, "message": _first_line(error.evalue),
                                              "details": _rest(error.evalue)})
    except Exception as error:  # the kernel died, a timeout, a bad notebook: report it, run the others
        result.update(status="failed", error={"name": type(error).__name__, "message": _first_line(str(error)),
                                              "details": _rest(str(error))})
    finally:
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    if not ipynb.is_file():
        result["notebook"] = None
        return result
    try:
        nb = nbformat.read(str(ipynb), as_version=4)
        result["answer"] = first_answer_line(nb)
        page.write_text(render_page(nb), encoding="utf-8")
        result["html"] = page.name
    except Exception as error:  # the run's result stands; the report says the page is missing
        result["html_error"] = f"{type(error).__name__}: {_first_line(str(error))}"
    return result


def render_page(nb: Any) -> str:
    """The executed notebook as one HTML page that loads nothing from the web (``templates/report-page.html.j2``):
    scripts out, and of each output the richest form a static page can show (a widget's own static HTML)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    static = [t for t in HTMLExporter().default_config["NbConvertBase"]["display_data_priority"]
              if t not in ("application/vnd.jupyter.widget-view+json", "application/javascript")]
    exporter = HTMLExporter(config=Config({"NbConvertBase": {"display_data_priority": static}}),
                            extra_template_paths=[str(Path(__file__).parent / "templates")],
                            template_file="report-page.html.j2")
    return exporter.from_notebook_node(nb)[0]


def _worker_env(env: dict[str, str]) -> None:
    import signal

    os.environ.update(env)
    # Ctrl-C is for the main process, which stops the workers; each kernel exits when its worker does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_notebooks(recipes: list[Recipe], parameters: dict[str, dict[str, Any]], env: dict[str, str], jobs: int,
                  out_dir: Path) -> dict[str, dict[str, Any]]:
    """Execute each recipe into ``out_dir`` in ``jobs`` worker processes; one progress line per finished recipe.

    On Ctrl-C the workers (and so their kernels) are stopped, a second Ctrl-C is ignored while that happens, and
    KeyboardInterrupt is raised again.
    """
    import multiprocessing
    import signal

    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    work = [{"slug": r.slug, "path": str(r.path.resolve()), "cwd": str(r.path.resolve().parent),
             "out": str(out_dir.resolve()), "parameters": parameters[r.slug]} for r in recipes]
    results: dict[str, dict[str, Any]] = {}
    pool = multiprocessing.Pool(jobs, initializer=_worker_env, initargs=(env,))
    try:
        with tqdm(total=len(work), desc="cookbook", unit="notebook", file=sys.stderr,
                  disable=not sys.stderr.isatty(), leave=False) as bar:
            for item in pool.imap_unordered(execute_recipe, work):
                results[item["recipe"]] = item
                error = item["error"]
                tail = f"{error['name']}: {error['message']}" if error else item["answer"]
                bar.write(f"{item['status']:>6}  {item['recipe']}  {item['seconds']:.1f}s  {_clip(tail, 60)}",
                          file=sys.stderr)
                bar.update()
        pool.close()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        raise
    finally:
        pool.terminate()
        pool.join()
    return results


# --------------------------------------------------------------------------- cookbook run


def _mode_and_env(args: argparse.Namespace, given: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """The mode (resolved as ``make_client`` resolves it), why, and the environment the kernels need."""
    from ._cassette import CASSETTES_VARIABLE
    from ._client import KEY_VARIABLE, MODE_VARIABLE, SERVER_VARIABLE, resolve_mode
    from ._errors import ConfigurationError

    mode, source = args.mode, getattr(args, "mode_source", "--mode")
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
        replay = ", or run with --mode replay (the bundled recordings answer)" if source == "--mode" else ""
        raise UsageError(
            f"{wanted} mode (from {source}) talks to the Mistral API and needs a key: set {KEY_VARIABLE} in the "
            f"environment or in a .env file here{replay}."
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
    if getattr(args, "server_url", None):
        env[SERVER_VARIABLE] = args.server_url
    if getattr(args, "cassettes", None):
        env[CASSETTES_VARIABLE] = str(Path(args.cassettes).resolve())
    return chosen, why, env


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def clear_report(out_dir: Path) -> None:
    """Remove an earlier report from ``out_dir`` (its pages, notebooks, index and summary), so a run of some
    recipes never leaves pages of others beside its index. Other files stay."""
    if not out_dir.is_dir():
        return
    for path in out_dir.iterdir():
        ours = path.name in ("index.html", "summary.json") or (
            path.suffix in (".ipynb", ".html") and RECIPE_FILE.match(path.stem + ".ipynb"))
        if ours and path.is_file():
            path.unlink()


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
            if item["error"].get("details"):
                said += f'<pre class="details">{esc(item["error"]["details"])}</pre>'
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
pre.details {{ white-space: pre-wrap; font-size: 85%; background: #f6f6f6; padding: .4rem .6rem; margin: .3rem 0 0; }}
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


@dataclass
class Plan:
    """A checked command line: which recipes, with which parameters, in which mode, where."""

    recipes: list[Recipe]
    parameters: dict[str, dict[str, Any]]  # per recipe, mode included
    given: dict[str, Any]
    takers: dict[str, list[str]]
    mode: str
    why: str
    env: dict[str, str]
    jobs: int
    out_dir: Path


def plan(args: argparse.Namespace, *, mode: str | None = None) -> Plan:
    """Everything a command needs, checked before anything runs or is written (a mistake is a UsageError)."""
    notebooks, every = find_recipes(args.notebooks)
    recipes = select(every, args.recipes)
    given: dict[str, Any] = {}
    for text in args.yaml or []:
        given.update(parse_yaml(text))
    for name, value in args.parameters or []:
        given[name] = parse_value(value)
    if mode is not None:
        args.mode, args.mode_source = mode, f"cookbook {args.command}"
    chosen, why, env = _mode_and_env(args, given)
    per_recipe, takers = plan_parameters(recipes, given, every)
    if args.jobs < 1:
        raise UsageError("--jobs takes a number of parallel processes, 1 or more.")
    out_dir = Path(args.out)
    if out_dir.resolve() == notebooks.resolve():
        raise UsageError("--out must not be the notebooks folder: the executed copies would replace the recipes.")
    return Plan(recipes, {r.slug: {"mode": chosen, **per_recipe[r.slug]} for r in recipes}, given, takers, chosen,
                why, env, min(args.jobs, len(recipes)), out_dir)


def cmd_run(args: argparse.Namespace) -> int:
    run = plan(args)
    recipes, given, takers, mode, why, env, jobs, out_dir = (run.recipes, run.given, run.takers, run.mode, run.why,
                                                              run.env, run.jobs, run.out_dir)
    from datetime import datetime

    for name, slugs in takers.items():
        if len(slugs) < len(recipes):
            print(f"note: {name} is a parameter of {', '.join(slugs)} only; the other recipes run with theirs.",
                  file=sys.stderr)
    print(f"Running {len(recipes)} recipe(s) in {mode} mode ({why}) into {out_dir}/ with {jobs} job(s).")
    sys.stdout.flush()
    clear_report(out_dir)
    started = time.monotonic()
    try:
        results = run_notebooks(recipes, run.parameters, env, jobs, out_dir)
    except KeyboardInterrupt:
        print("Interrupted: no report written.", file=sys.stderr)
        return 130
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
        _results_failed(results, recipes)
        print(f"  (the executed notebooks in {out_dir}/ show each error in context)", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- cookbook record, cookbook check


def _exchanges(path: Path) -> list[dict]:
    """A cassette's interactions (for one not written yet, those of the bundled cassette it will start from)."""
    from ._cassette import seed_for, serializer

    source = path if path.is_file() else seed_for(path)
    return serializer.deserialize(source.read_text(encoding="utf-8"))["interactions"] if source else []


def _stamp(item: dict) -> tuple:
    from ._cassette import Request, match_key

    request = item["request"]
    key = match_key(Request(request["method"], request["uri"], request["body"], request["headers"]))
    return key, item["response"].get("provenance"), item["response"].get("recorded")


def changes(before: list[dict], after: list[dict]) -> dict[str, int]:
    """What a recording did to a cassette: exchanges added, replaced and kept, and the authored ones left."""
    old = {_stamp(item) for item in before}
    old_keys = {key for key, _, _ in old}
    new = [_stamp(item) for item in after]
    fresh = [stamp for stamp in new if stamp not in old]
    return {"added": sum(key not in old_keys for key, _, _ in fresh),
            "replaced": sum(key in old_keys for key, _, _ in fresh),
            "kept": sum(stamp in old for stamp in new), "authored": sum(p == "authored" for _, p, _ in new)}


def _results_failed(results: dict[str, dict[str, Any]], recipes: list[Recipe]) -> list[dict[str, Any]]:
    failed = [results[r.slug] for r in recipes if results[r.slug]["status"] != "ok"]
    for item in failed:
        error = item["error"]
        print(f"  {item['recipe']}: {error['name']}: {error['message']}", file=sys.stderr)
        for line in (error.get("details") or "").splitlines():
            print(f"    {line}", file=sys.stderr)
    return failed


def cmd_record(args: argparse.Namespace) -> int:
    from ._cassette import CASSETTES_VARIABLE, RECORD_DIR

    folder = Path(args.cassettes or os.environ.get(CASSETTES_VARIABLE) or RECORD_DIR)
    args.cassettes = str(folder)
    run = plan(args, mode="record")
    before = {r.slug: _exchanges(folder / f"{r.slug}.yaml") for r in run.recipes}
    print(f"Recording {len(run.recipes)} recipe(s) into {folder}/ ({run.why}); executed notebooks in "
          f"{run.out_dir}/.")
    sys.stdout.flush()
    try:
        results = run_notebooks(run.recipes, run.parameters, run.env, run.jobs, run.out_dir)
    except KeyboardInterrupt:
        print("Interrupted: what was recorded so far is in the cassettes.", file=sys.stderr)
        return 130
    rows = [["recipe", "status", "added", "replaced", "kept", "authored left"]]
    for recipe in run.recipes:
        done = changes(before[recipe.slug], _exchanges(folder / f"{recipe.slug}.yaml"))
        rows.append([recipe.slug, results[recipe.slug]["status"], *(str(done[k]) for k in
                                                                     ("added", "replaced", "kept", "authored"))])
    print(_table(rows))
    return 1 if _results_failed(results, run.recipes) else 0


def _same_host(a: str, b: str) -> bool:
    """Whether two recorded URLs are of one server (an MCP preflight of another server compares with nothing)."""
    from urllib.parse import urlsplit

    return urlsplit(a).netloc == urlsplit(b).netloc or "/v1/" in urlsplit(a).path


def cmd_check(args: argparse.Namespace) -> int:
    import shutil

    from . import _cassette, _drift

    if not args.live:
        raise UsageError("cookbook check runs the recipes against the API for real (billed requests): pass --live "
                         "to say so.")
    sources = {r.slug: _cassette.resolve(r.slug, must_exist=False) for r in select(find_recipes(args.notebooks)[1],
                                                                                     args.recipes)}
    work = Path(args.out) / "cassettes"
    args.cassettes = str(work)
    run = plan(args, mode="record")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for source in sources.values():
        if source.is_file():
            shutil.copyfile(source, work / source.name)
    since = _cassette.now_stamp()
    print(f"Checking {len(run.recipes)} recipe(s) live ({run.why}) against their recordings.")
    sys.stdout.flush()
    try:
        results = run_notebooks(run.recipes, run.parameters, run.env, run.jobs, run.out_dir)
    except KeyboardInterrupt:
        print("Interrupted: no report written.", file=sys.stderr)
        return 130
    report: list[dict[str, Any]] = []
    for recipe in run.recipes:
        recorded = _exchanges(sources[recipe.slug]) if sources[recipe.slug].is_file() else []
        for item in _exchanges(work / f"{recipe.slug}.yaml"):
            if (item["response"].get("recorded") or "") < since:
                continue
            live = _cassette.Request(item["request"]["method"], item["request"]["uri"], item["request"]["body"])
            old = next((o for o in recorded if _same_host(live.uri, o["request"]["uri"]) and _cassette.matches(
                live, _cassette.Request(o["request"]["method"], o["request"]["uri"], o["request"]["body"]))), None)
            entry = {"recipe": recipe.slug, "request": f"{live.method} {live.path}", "status":
                     item["response"]["status"]["code"], "missing": [], "new": [], "compared": old is not None}
            if old is not None:
                entry["missing"], entry["new"] = _drift.drift(old["response"], item["response"])
            report.append(entry)
    drifted = [e for e in report if e["missing"] or e["new"]]
    (run.out_dir / "check.json").write_text(json.dumps({"results": [results[r.slug] for r in run.recipes],
                                                        "exchanges": report}, indent=2) + "\n", encoding="utf-8")
    rows = [["recipe", "status", "exchanges", "compared", "drifted"]]
    for recipe in run.recipes:
        mine = [e for e in report if e["recipe"] == recipe.slug]
        rows.append([recipe.slug, results[recipe.slug]["status"], str(len(mine)),
                     str(sum(e["compared"] for e in mine)), str(sum(e in drifted for e in mine))])
    print(_table(rows))
    for entry in drifted:
        print(f"drift in {entry['recipe']}, {entry['request']} (status {entry['status']}):")
        for fact in entry["missing"]:
            print(f"  - {fact}")
        for fact in entry["new"]:
            print(f"  + {fact}")
    print(f"Report: {run.out_dir / 'check.json'}")
    failed = _results_failed(results, run.recipes)
    return 1 if drifted or failed else 0


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

    def running(sub: argparse.ArgumentParser, out: str) -> None:
        common(sub)
        sub.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                         help="set a parameter, typed as papermill's -p does (True, None, 3, 0.5, else text)")
        sub.add_argument("-y", "--parameters-yaml", dest="yaml", action="append", metavar="YAML",
                         help="set parameters from YAML, e.g. -y 'exclude: [read_wiki_structure]' (as papermill's -y)")
        sub.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                         help="notebooks run in N processes (default 1)")
        sub.add_argument("-o", "--out", default=out, metavar="DIR", help=f"output folder (default ./{out})")
        sub.add_argument("--server-url", metavar="URL",
                         help="the API's base URL for every client (default: $MISTRAL_SERVER_URL, else Mistral's)")
        sub.add_argument("--cassettes", metavar="DIR", help="the folder cassettes are read from and recorded into "
                         "(default: $COOKBOOK_CASSETTES; replay then falls back to the bundled ones)")

    run = commands.add_parser(
        "run", help="execute recipes with papermill and write a report",
        description="Execute recipe notebooks with papermill into DIR: the executed notebooks, an HTML page "
        "for each, index.html and summary.json. Exits 1 when a recipe fails, 2 on a usage error (nothing runs).",
    )
    running(run, DEFAULT_OUT)
    run.add_argument("--mode", choices=("replay", "live", "record"),
                     help="default: $COOKBOOK_MODE, else live when MISTRAL_API_KEY is set, else replay")
    run.set_defaults(handler=cmd_run)

    record = commands.add_parser(
        "record", help="re-record recipes against the API (needs a key)",
        description="Run recipes in record mode: every exchange goes to the API and is written, scrubbed, to the "
        "cassette folder (--cassettes, $COOKBOOK_CASSETTES, else ./cassettes; a new cassette starts from the "
        "bundled one). Prints, per recipe, the exchanges added, replaced and kept, and the authored ones left.",
    )
    running(record, "cookbook-record")
    record.set_defaults(handler=cmd_record, mode=None)

    check = commands.add_parser(
        "check", help="run recipes live and compare each answer's shape with its recording",
        description="Run recipes live (recording into DIR/cassettes, never over your cassettes) and compare the "
        "shape of every answer with the recording it replaces: status, entry types, tool names, field names, "
        "stream event kinds, never the model's words. Writes DIR/check.json; exits 1 on drift or failure.",
    )
    running(check, "cookbook-check")
    check.add_argument("--live", action="store_true", help="required: the check sends real, billed requests")
    check.set_defaults(handler=cmd_check, mode=None)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
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
    except BrokenPipeError:  # `cookbook list | head`: the reader has gone; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
