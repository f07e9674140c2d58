"""``cookbook``: list the recipe notebooks, run them with papermill, re-record them, check them live.

Each command checks its command line as a :class:`Plan` (a mistake exits 2 before anything runs or is written), then
runs the recipes in worker processes. papermill and nbconvert are imported where used: ``cookbook --help`` stays quick.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm
from traitlets.config import Config

from . import __version__, _cassette, _drift
from ._client import KEY_VARIABLE, MODE_VARIABLE, MODES, SERVER_VARIABLE, resolve_mode
from ._errors import ConfigurationError
from ._markup import render

RECIPE_FILE = re.compile(r"^(\d{2})_(\w+)\.ipynb$")
REPOSITORY_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"  # where an editable install keeps them
KERNEL_START_TIMEOUT = 180  # seconds: papermill's 60 is too short on a busy machine (parallel jobs, CI)
# What a report page shows of an output, richest first: no widget view or JavaScript, as nothing on the page runs.
STATIC_OUTPUTS = ["text/html", "text/markdown", "image/svg+xml", "text/latex", "image/png", "image/jpeg", "text/plain"]


class UsageError(Exception):
    """A mistake on the command line, found before anything runs (exit status 2)."""


@dataclass(frozen=True)
class Recipe:
    slug: str  # "01_hello_world": the notebook's stem, also its cassette's name
    path: Path

    def title(self) -> str:
        """The notebook's first Markdown heading, without the '#'."""
        cells = json.loads(self.path.read_text(encoding="utf-8"))["cells"]
        lines = (line for c in cells if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines())
        return next((line.lstrip("#").strip() for line in lines if line.startswith("#")), self.slug)

    def parameters(self) -> dict[str, dict[str, Any]]:
        """As papermill reads the cell tagged ``parameters``: ``{name: {"default": source, "help": comment, ...}}``."""
        import papermill

        return papermill.inspect_notebook(str(self.path))


def find_recipes(explicit: str | None) -> tuple[Path, list[Recipe]]:
    """The notebooks folder and its recipes: ``--notebooks``, else ``./notebooks``, else the repository's."""
    candidates = [Path(explicit)] if explicit else [Path("notebooks"), REPOSITORY_NOTEBOOKS]
    for directory in candidates:
        if recipes := [Recipe(p.stem, p) for p in sorted(directory.glob("*.ipynb")) if RECIPE_FILE.match(p.name)]:
            return directory, recipes
    looked = " and ".join(dict.fromkeys(str(d.resolve()) for d in candidates))
    raise UsageError(f"No recipe notebooks (NN_name.ipynb) found in {looked}. The notebooks are not part of the "
                     "installed package: clone the cookbook's repository and run `pip install -e .` and `cookbook run` "
                     "in it, or pass --notebooks DIR with the cookbook's notebooks/ folder.")


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def select(recipes: list[Recipe], wanted: list[str]) -> list[Recipe]:
    """The recipes named ``01``, ``1``, ``01_hello_world``, ``hello_world`` (or the notebook's file name)."""
    chosen: list[Recipe] = []
    for text in wanted:
        key = text.strip().lower().removesuffix(".ipynb").rsplit("/", 1)[-1]
        key = f"{int(key):02d}" if key.isdecimal() else key  # 1, 01 and 001 name 01_...
        if not (found := [r for r in recipes if key in (r.slug.lower(), r.slug[:2], r.slug[3:].lower())]):
            names = [r.slug for r in recipes]
            raise UsageError(f"Unknown recipe {text!r}.{_did_you_mean(key, names + [n[3:] for n in names])} "
                             f"Recipes: {', '.join(names)} (a number such as 1 or 01 also works).")
        chosen += found
    return list(dict.fromkeys(chosen)) if wanted else list(recipes)


def literal(source: str) -> Any:
    """A parameter's default as a value (``...`` when it is not a plain literal)."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ...


def shown_default(source: str) -> str:
    """A default as one line of Python (adjacent string literals joined)."""
    if (value := literal(source)) is ...:
        return " ".join(source.split())
    return json.dumps(value, ensure_ascii=False, default=repr) if isinstance(value, str | list | dict) else repr(value)


def parse_value(text: str) -> Any:
    """A ``-p`` value, typed as papermill's ``-p`` types it: True/False/None, an int, a float, else the text."""
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return {"True": True, "False": False, "None": None}.get(text, text)


def parse_yaml(text: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(f"-y takes YAML such as 'exclude: [read_wiki_structure]': {error}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise UsageError("-y takes a YAML mapping of parameter names to values, e.g. -y 'exclude: [a, b]'.")
    return value


def _unknown_parameter(name: str, declared: dict[str, dict], recipes: list[Recipe], others: list[Recipe]) -> str:
    known = sorted({p for params in declared.values() for p in params})
    where = f"{recipes[0].slug} takes" if len(recipes) == 1 else "The selected recipes take"
    elsewhere = [r.slug for r in others if r not in recipes and name in r.parameters()]
    hint = f" ({name} is a parameter of {', '.join(elsewhere)}.)" if elsewhere else ""
    return f"Unknown parameter {name!r}.{_did_you_mean(name, known)}{hint} {where}: {', '.join(known)}. See " \
           "`cookbook list`."


def plan_parameters(recipes: list[Recipe], given: dict[str, Any], others: list[Recipe] = ()
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Each recipe's parameters to inject, and which recipes take each given one: only those that declare it (none is
    an error). A list or mapping given as text is an error too (papermill's ``-p`` gives text; ``-y`` lists)."""
    declared = {r.slug: r.parameters() for r in recipes}
    takers = {name: [slug for slug, params in declared.items() if name in params] for name in given}
    for name, slugs in takers.items():
        if not slugs:
            raise UsageError(_unknown_parameter(name, declared, recipes, others))
        for slug in slugs:
            default = literal(source := declared[slug][name]["default"])
            if isinstance(default, list | tuple | dict) and not isinstance(given[name], list | tuple | dict):
                kind = "a mapping" if isinstance(default, dict) else "a list"
                raise UsageError(f"Parameter {name!r} of {slug} is {kind} (default {shown_default(source)}); give it "
                                 f"as YAML: -y '{name}: [first, second]'.")
    return {slug: {name: given[name] for name in given if slug in takers[name]} for slug in declared}, takers


def _wanted_mode(args: argparse.Namespace, given: dict[str, Any]) -> tuple[str | None, str]:
    """The mode the command line asks for (``-p mode`` taken out of the parameters), and where it says so."""
    mode, source = args.mode, "--mode" if args.command == "run" else f"cookbook {args.command}"
    if "mode" in given:
        if mode and given["mode"] != mode:
            raise UsageError(f"--mode {mode} and -p mode {given['mode']} disagree: give one.")
        mode, source = given.pop("mode"), "-p mode"
    if mode is not None and str(mode).lower() not in MODES:
        raise UsageError(f"-p mode takes replay, live or record, not {mode!r}.")
    return (str(mode), source) if mode is not None else (None, MODE_VARIABLE)


def _mode_and_env(args: argparse.Namespace, given: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """The mode (resolved as ``make_client`` resolves it), why, and the environment the kernels need."""
    mode, source = _wanted_mode(args, given)
    try:
        chosen, key = resolve_mode(mode)
    except ConfigurationError as error:
        wanted = (mode or os.environ.get(MODE_VARIABLE, "")).strip().lower()
        if wanted not in ("live", "record"):
            raise UsageError(str(error)) from None
        replay = ", or run with --mode replay (the bundled recordings answer)" if source == "--mode" else ""
        raise UsageError(f"{wanted} mode (from {source}) talks to the Mistral API and needs a key: set "
                         f"{KEY_VARIABLE} in the environment or in a .env file here{replay}.") from None
    why = ("from the command line" if mode else f"from {MODE_VARIABLE}" if os.environ.get(MODE_VARIABLE)
           else f"{KEY_VARIABLE} found" if key else f"no {KEY_VARIABLE} found: the bundled recordings answer")
    # a key read from ./.env reaches the kernels, which run elsewhere
    env = {KEY_VARIABLE: key, SERVER_VARIABLE: args.server_url,
           _cassette.CASSETTES_VARIABLE: args.cassettes and str(Path(args.cassettes).expanduser().resolve())}
    return chosen, why, {name: value for name, value in env.items() if value}


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def first_answer_line(nb: Any) -> str:
    """The first response's answer: its display metadata's summary (``display_response``), else its first line."""
    for output in (output for cell in nb.get("cells", []) for output in cell.get("outputs", [])):
        if (marker := (output.get("metadata") or {}).get("cookbook") or {}).get("kind") == "response":
            return str(marker.get("answer") or _first_line("".join(output.get("data", {}).get("text/plain", ""))))
    return ""


def _worker_init(env: dict[str, str]) -> None:
    """A worker's environment (its kernels inherit it; this process keeps its own); Ctrl-C is left to this process."""
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def execute_recipe(path: Path, parameters: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Run one notebook with papermill and render its page (in a worker process); return what happened."""
    import nbformat
    import papermill

    ipynb, error, started = out_dir / f"{path.stem}.ipynb", None, time.monotonic()
    # The kernel talks over IPC sockets in a folder of its own, so parallel runs never race for a TCP port, and is
    # stopped at once when its last cell has answered. papermill saves the notebook after each cell (its default),
    # so a dead kernel leaves the outputs before it.
    with tempfile.TemporaryDirectory(prefix="cookbook-", ignore_cleanup_errors=True) as sockets:
        ipc = {"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}} if os.name != "nt" else {}
        try:
            papermill.execute_notebook(path, ipynb, parameters=parameters, cwd=path.parent, progress_bar=False,
                                       kernel_name="python3", shutdown_kernel="immediate", config=Config(ipc),
                                       start_timeout=KERNEL_START_TIMEOUT)
        except Exception as failure:  # a cell's exception, a dead kernel, a timeout: report it, run the others
            cell = isinstance(failure, papermill.PapermillExecutionError)
            name, text = (failure.ename, failure.evalue) if cell else (type(failure).__name__, str(failure))
            # the first line is the message; the rest (a ReplayMiss: the diff, the prompts that replay) the details
            error = {"name": name, "message": _first_line(text),
                     "details": "\n".join(text.strip().splitlines()[1:]).strip("\n")}
    result = {"recipe": path.stem, "status": "failed" if error else "ok",
              "seconds": round(time.monotonic() - started, 1), "answer": "", "error": error,
              "notebook": ipynb.name if ipynb.is_file() else None, "html": None}
    if result["notebook"]:
        try:
            nb = nbformat.read(ipynb, as_version=4)
            result["answer"] = first_answer_line(nb)
            (page := ipynb.with_suffix(".html")).write_text(render_page(nb), encoding="utf-8")
            result["html"] = page.name
        except Exception as failure:  # the run's result stands; the report says the page is missing
            result["html_error"] = f"{type(failure).__name__}: {_first_line(str(failure))}"
    return result


def render_page(nb: Any) -> str:
    """The executed notebook as one HTML page that loads nothing from the web (``templates/report-page.html.j2``)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(config=Config(NbConvertBase={"display_data_priority": STATIC_OUTPUTS}),
                            extra_template_paths=[str(Path(__file__).parent / "templates")],
                            template_file="report-page.html.j2")
    return exporter.from_notebook_node(nb)[0]


class Plan:
    """A checked command line (which recipes, with which parameters, in which mode, where), and running it."""

    def __init__(self, args: argparse.Namespace) -> None:
        notebooks, every = find_recipes(args.notebooks)
        self.recipes = select(every, args.recipes)
        self.given = {name: value for text in args.yaml or [] for name, value in parse_yaml(text).items()}
        self.given.update((name, parse_value(value)) for name, value in args.parameters or [])
        self.mode, self.why, self.env = _mode_and_env(args, self.given)
        per_recipe, self.takers = plan_parameters(self.recipes, self.given, every)
        self.parameters = {slug: {"mode": self.mode, **params} for slug, params in per_recipe.items()}
        if args.jobs < 1:
            raise UsageError("--jobs takes a number of parallel processes, 1 or more.")
        self.jobs, self.out_dir = min(args.jobs, len(self.recipes)), Path(args.out)
        if self.out_dir.resolve() == notebooks.resolve():
            raise UsageError("--out must not be the notebooks folder: the executed copies would replace the recipes.")

    def run(self, heading: str) -> list[dict[str, Any]]:
        """Say what runs, run it (a progress line as each recipe ends); the results in recipe order."""
        for name, slugs in self.takers.items():
            if len(slugs) < len(self.recipes):
                print(f"note: {name} is a parameter of {', '.join(slugs)} only; the other recipes run with theirs.",
                      file=sys.stderr)
        print(heading, flush=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(self.jobs, initializer=_worker_init, initargs=(self.env,)) as pool:
            try:
                futures = [pool.submit(execute_recipe, r.path.resolve(), self.parameters[r.slug],
                                       self.out_dir.resolve()) for r in self.recipes]
                for future in tqdm(as_completed(futures), total=len(futures), desc="cookbook", unit="notebook",
                                   file=sys.stderr, leave=False, disable=not sys.stderr.isatty()):
                    item = future.result()
                    said = f"{item['error']['name']}: {item['error']['message']}" if item["error"] else item["answer"]
                    tqdm.write(f"{item['status']:>6}  {item['recipe']}  {item['seconds']:.1f}s  {_clip(said, 60)}",
                               file=sys.stderr)
            except KeyboardInterrupt:
                # The workers ignore Ctrl-C: stop them, and so their kernels (each exits when its parent has gone).
                # A second Ctrl-C must not interrupt that; main() then says what is left.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                pool.shutdown(wait=False, cancel_futures=True)
                for worker in multiprocessing.active_children():
                    worker.terminate()
                raise
        return [future.result() for future in futures]

    def failures(self, results: list[dict[str, Any]]) -> int:
        """Print each failed recipe's whole error; the exit status (1 when any failed)."""
        if not (failed := [item for item in results if item["status"] != "ok"]):
            return 0
        print(f"{len(failed)} of {len(results)} recipe(s) failed:", file=sys.stderr)
        for item in failed:
            print(f"  {item['recipe']}: {item['error']['name']}: {item['error']['message']}", file=sys.stderr)
            print("".join(f"    {line}\n" for line in item["error"]["details"].splitlines()), end="", file=sys.stderr)
        print(f"  (the executed notebooks in {self.out_dir}/ show each error in context)", file=sys.stderr)
        return 1


def _table(*rows: list[str]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _clip(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def clear_report(out_dir: Path) -> None:
    """Remove an earlier report's files, so that no page of another recipe stays beside the new index."""
    for path in out_dir.glob("*"):
        page = path.suffix in (".ipynb", ".html") and RECIPE_FILE.match(path.stem + ".ipynb")
        if path.is_file() and (page or path.name in ("index.html", "summary.json")):
            path.unlink()


def cmd_list(args: argparse.Namespace) -> int:
    """Show each recipe's parameters (name, default, help) and the prompts its recordings answer."""
    bundled = set(_cassette.bundled_names())
    items = [{"recipe": r.slug, "title": r.title(), "notebook": str(r.path),
              "parameters": {n: {"default": p["default"], "help": p["help"]} for n, p in r.parameters().items()},
              "recorded_prompts": _cassette.recorded_prompts(r.slug) if r.slug in bundled else []}
             for r in select(find_recipes(args.notebooks)[1], args.recipes)]
    print(json.dumps(items, indent=2, ensure_ascii=False) if args.json else "\n\n".join(map(_listing, items)))
    return 0


def _listing(item: dict[str, Any]) -> str:
    width = max(map(len, item["parameters"]), default=0)
    lines = [f"{item['recipe']}  {item['title']}", "  parameters (-p NAME VALUE):"] + [
        f"    {name:<{width}} = {shown_default(info['default'])}" + (f"  # {info['help']}" if info["help"] else "")
        for name, info in item["parameters"].items()]
    if not item["recorded_prompts"]:
        return "\n".join([*lines, "  recorded prompts: none (no bundled cassette of this name)"])
    prompts = [f"    {json.dumps(prompt, ensure_ascii=False)}" for prompt in item["recorded_prompts"]]
    return "\n".join([*lines, "  recorded prompts (replay answers these):", *prompts])


def cmd_run(args: argparse.Namespace) -> int:
    """Execute recipe notebooks with papermill into DIR: the executed notebooks, an HTML page for each, index.html
    and summary.json. Exits 1 when a recipe fails, 2 on a usage error (nothing runs)."""
    plan, started = Plan(args), time.monotonic()
    clear_report(plan.out_dir)
    results = plan.run(f"Running {len(plan.recipes)} recipe(s) in {plan.mode} mode ({plan.why}) into "
                       f"{plan.out_dir}/ with {plan.jobs} job(s).")
    summary = {"mode": plan.mode, "mode_reason": plan.why, "jobs": plan.jobs, "parameters": plan.given,
               "seconds": round(time.monotonic() - started, 1), "results": results,
               "finished": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}
    (plan.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (index := plan.out_dir / "index.html").write_text(render(
        "index.html.j2", summary=summary, titles={r.slug: r.title() for r in plan.recipes},
        parameters=", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in plan.given.items())), "utf-8")
    print(_table(["recipe", "status", "seconds", "answer"], *(
        [item["recipe"], item["status"], f"{item['seconds']:.1f}",
         _clip((item["answer"] if item["status"] == "ok" else f"({item['error']['name']})") or "—")]
        for item in results)))
    print(f"Report: {index}")
    return plan.failures(results)


def cmd_record(args: argparse.Namespace) -> int:
    """Run recipes in record mode: every exchange goes to the API and is written, scrubbed, to the cassette folder
    (--cassettes, $COOKBOOK_CASSETTES, else ./cassettes; a new cassette starts from the bundled one). Prints, per
    recipe, the exchanges added, replaced and kept, and the authored ones left."""
    folder = Path(args.cassettes or os.environ.get(_cassette.CASSETTES_VARIABLE) or _cassette.RECORD_DIR)
    folder = folder.expanduser()  # as the kernels read it (``_cassette.resolve``)
    args.cassettes = str(folder)
    plan = Plan(args)
    before = {r.slug: _drift.exchanges(folder / f"{r.slug}.yaml") for r in plan.recipes}
    results = plan.run(f"Recording {len(plan.recipes)} recipe(s) into {folder}/ ({plan.why}); executed notebooks in "
                       f"{plan.out_dir}/.")
    print(_table(["recipe", "status", "added", "replaced", "kept", "authored left"], *(
        [slug := item["recipe"], item["status"],
         *map(str, _drift.changes(before[slug], _drift.exchanges(folder / f"{slug}.yaml")))] for item in results)))
    return plan.failures(results)


def _copy_recordings(recipes: list[Recipe], theirs: Path | None, work: Path) -> dict[str, Path]:
    """Each recipe's recording (in ``theirs``, else the one replay reads), copied into ``work`` to record over."""
    sources = {}
    for recipe in recipes:
        mine = theirs / f"{recipe.slug}.yaml" if theirs else None
        sources[recipe.slug] = mine if mine and mine.is_file() else _cassette.resolve(recipe.slug, must_exist=False)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for source in filter(Path.is_file, sources.values()):
        shutil.copyfile(source, work / source.name)
    return sources


def cmd_check(args: argparse.Namespace) -> int:
    """Run recipes live (recording into DIR/cassettes, never over your cassettes) and compare the shape of every
    answer with the recording it replaces: status, entry types, tool names, field names, stream event kinds, never
    the model's words. Writes DIR/check.json; exits 1 on drift or failure."""
    if not args.live:
        raise UsageError("cookbook check runs the recipes against the API for real (billed requests): pass --live "
                         "to say so.")
    theirs = Path(args.cassettes).expanduser() if args.cassettes else None
    args.cassettes = str(work := Path(args.out) / "cassettes")
    plan = Plan(args)
    sources, since = _copy_recordings(plan.recipes, theirs, work), _cassette.now_stamp()
    results = plan.run(f"Checking {len(plan.recipes)} recipe(s) live ({plan.why}) against their recordings.")
    report = {slug: _drift.compare(_drift.exchanges(source), _drift.exchanges(work / f"{slug}.yaml"), since)
              for slug, source in sources.items()}
    exchanges = [{"recipe": slug, **entry} for slug, entries in report.items() for entry in entries]
    (plan.out_dir / "check.json").write_text(json.dumps({"results": results, "exchanges": exchanges}, indent=2)
                                             + "\n", "utf-8")
    print(_table(["recipe", "status", "exchanges", "compared", "drifted"], *(
        [item["recipe"], item["status"], *map(str, _drift.counts(report[item["recipe"]]))] for item in results)))
    for entry in (drifted := [entry for entry in exchanges if entry["missing"] or entry["new"]]):
        print(f"drift in {entry['recipe']}, {_drift.describe(entry)}")
    print(f"Report: {plan.out_dir / 'check.json'}")
    failed = plan.failures(results)
    return 1 if drifted else failed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cookbook", description="List and run the Mistral connectors cookbook's recipe notebooks (offline by "
        "default).", epilog="Recipes are named 01, 1, 01_hello_world or hello_world. Without a key, everything "
        "replays from the bundled recordings.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Any, summary: str, out: str | None = None) -> argparse.ArgumentParser:
        """A command described by its handler's docstring; one that runs recipes into ``out`` takes more options."""
        sub = commands.add_parser(name, help=summary, description=handler.__doc__)
        sub.set_defaults(handler=handler, mode="record" if name in ("record", "check") else None)
        sub.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipes to include (default: all)")
        sub.add_argument("--notebooks", metavar="DIR",
                         help="the folder of recipe notebooks (default: ./notebooks, else the repository's)")
        if out is None:
            return sub
        sub.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                         help="set a parameter, typed as papermill's -p does (True, None, 3, 0.5, else text)")
        sub.add_argument("-y", "--parameters-yaml", dest="yaml", action="append", metavar="YAML",
                         help="set parameters from YAML, e.g. -y 'exclude: [read_wiki_structure]' (as papermill's -y)")
        sub.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="run N notebooks at once (default 1)")
        sub.add_argument("-o", "--out", default=out, metavar="DIR", help=f"output folder (default ./{out})")
        sub.add_argument("--server-url", metavar="URL",
                         help="the API's base URL for every client (default: $MISTRAL_SERVER_URL, else Mistral's)")
        sub.add_argument("--cassettes", metavar="DIR", help="the folder cassettes are read from and recorded into "
                         "(default: $COOKBOOK_CASSETTES; replay then falls back to the bundled ones)")
        return sub

    command("list", cmd_list, "the recipes, their parameters and their recorded prompts").add_argument(
        "--json", action="store_true", help="print JSON instead of text")
    command("run", cmd_run, "execute recipes with papermill and write a report", "cookbook-run").add_argument(
        "--mode", choices=MODES, help="default: $COOKBOOK_MODE, else live when MISTRAL_API_KEY is set, else replay")
    command("record", cmd_record, "re-record recipes against the API (needs a key)", "cookbook-record")
    command("check", cmd_check, "run recipes live and compare each answer's shape with its recording",
            "cookbook-check").add_argument("--live", action="store_true",
                                           help="required: the check sends real, billed requests")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        code = args.handler(args)
        sys.stdout.flush()  # in the try: a reader that has gone (`cookbook list | head`) is noticed here, not at exit
        return code
    except UsageError as error:
        print(f"cookbook {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = "what was recorded so far is in the cassettes" if args.command == "record" else "no report written"
        print(f"Interrupted: {kept}.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader has gone: say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
