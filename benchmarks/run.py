"""The cookbook against its floor: one run on this machine, a table, and JSON.

Each benchmark times the cookbook (A) and what it is compared with (B) in
alternating pairs, A then B, then B then A, and so on, and reports the median of
the per-pair ratios (or differences), so that drift in the machine's speed
during the run cancels out:

* P1 ``cookbook run`` of the eight recipes in replay, against the floor: eight
  empty notebooks (a ``parameters`` cell and one empty code cell) run through
  the same command (``--notebooks TMPDIR``). Also ``--jobs 2`` against serial,
  for the recipes and for the floor (the floor's ratio is what two processes
  can give on this machine at best). And what each recipe's kernel cannot skip:
  importing the SDK's client and conversations module, against bare python;
  added to an empty notebook's share of the floor, it bounds the ratio from below.
* P2 ``python -c "import cookbook"`` against ``python -c "pass"`` and against
  ``python -c "import mistralai.client"`` (``sys.executable``, not a shim).
* P3 ``RenderedResponse(response)._repr_mimebundle_()`` (text/plain and
  text/html, what Jupyter asks for) on a synthetic response of 1,000 entries,
  against the recipe page's print helper on the same object; ``render_text``
  and ``render_html`` apart too, and the Markdown of the messages alone (what
  the Markdown engine and its safety checks cost).
* P4 the test suite's wall time, with and without the browser test
  (``--skip-tests`` leaves it out: it takes minutes).
* P5 replay's cost per request in a cassette of 1,000 interactions, for the
  request that matches the first, the middle and the last one, against a
  cassette of 10; and the time to load each cassette.

Run ``python benchmarks/run.py`` (``--quick`` for fewer repeats and no P4;
``--only P1,P3`` for some). The table goes to stdout, the numbers to
``--json`` (default ``benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {
    "P1": "cookbook run <= 1.3x the floor; --jobs 2 <= 0.65x serial",
    "P2": "import cookbook <= 50 ms over bare python",
    "P3": "mimebundle <= 5x the print helper",
    "P4": "suite without the browser test <= 60 s",
    "P5": "(no target)",
}


def median(values: list[float]) -> float:
    return statistics.median(values)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without a key or a mode (replay answers), the checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("MISTRAL_API_KEY", "COOKBOOK_MODE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def timed(argv: list[str], *, cwd: Path, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc


def pairs(a: Callable[[], float], b: Callable[[], float], repeats: int) -> tuple[list[float], list[float]]:
    """``repeats`` timings of ``a`` and of ``b``, run in alternating order (ABBA...)."""
    times_a, times_b = [], []
    for i in range(repeats):
        if i % 2 == 0:
            times_a.append(a())
            times_b.append(b())
        else:
            times_b.append(b())
            times_a.append(a())
    return times_a, times_b


def compare(name: str, times_a: list[float], times_b: list[float], unit: str = "s") -> dict[str, Any]:
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    diffs = [x - y for x, y in zip(times_a, times_b, strict=True)]
    return {
        "case": name, "unit": unit, "a": times_a, "b": times_b,
        "a_median": median(times_a), "b_median": median(times_b),
        "ratio": median(ratios), "difference": median(diffs),
    }


# --------------------------------------------------------------------------- P1: cookbook run

SDK_IMPORT = "import mistralai.client, mistralai.client.conversations"


def floor_notebooks(directory: Path, count: int = 8) -> Path:
    """``count`` notebooks named as recipes: a ``parameters`` cell (``mode = None``) and one empty code cell."""
    import nbformat

    directory.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
        params = nbformat.v4.new_code_cell('mode = None  # "replay", "live" or "record"')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell("")]
        nbformat.write(nb, str(directory / f"{n:02d}_empty.ipynb"))
    return directory


def bench_p1(repeats: int, work: Path) -> dict[str, Any]:
    floor = floor_notebooks(work / "floor")
    recipes = ROOT / "notebooks"
    runs = {"floor": [], "floor_j2": [], "recipes": [], "recipes_j2": []}

    def run(which: str) -> float:
        notebooks = floor if which.startswith("floor") else recipes
        jobs = "2" if which.endswith("_j2") else "1"
        out = work / f"out-{which}"
        shutil.rmtree(out, ignore_errors=True)
        argv = [sys.executable, "-m", "cookbook", "run", "--mode", "replay", "--notebooks", str(notebooks),
                "--jobs", jobs, "--out", str(out)]
        seconds, _ = timed(argv, cwd=work)
        runs[which].append(seconds)
        print(f"  P1 {which:<10} {seconds:6.1f} s", file=sys.stderr)
        return seconds

    order = ["floor", "recipes", "recipes_j2", "floor_j2"]
    for i in range(repeats):
        for which in order if i % 2 == 0 else order[::-1]:
            run(which)
    # What no recipe can do without: its fresh kernel imports the SDK's client and conversations module (the
    # recipes' first lines). Against an empty notebook's share of the floor, that alone bounds the ratio from below.
    sdk = lambda: timed([sys.executable, "-c", SDK_IMPORT], cwd=work)[0]  # noqa: E731
    bare = lambda: timed([sys.executable, "-c", "pass"], cwd=work)[0]  # noqa: E731
    sdk(), bare()
    sdk_row = compare("python: import the SDK client + conversations / bare python", *pairs(sdk, bare, 10 * repeats))
    per_notebook = median(runs["floor"]) / len(list(floor.glob("*.ipynb")))
    return {
        "rows": [
            compare("cookbook run (8 recipes) / floor (8 empty notebooks)", runs["recipes"], runs["floor"]),
            compare("cookbook run --jobs 2 / serial", runs["recipes_j2"], runs["recipes"]),
            compare("floor --jobs 2 / serial (what 2 processes give here)", runs["floor_j2"], runs["floor"]),
            sdk_row,
        ],
        "floor_per_notebook": per_notebook,
        "sdk_import": sdk_row["difference"],
        "ratio_lower_bound": 1 + sdk_row["difference"] / per_notebook,
    }


# --------------------------------------------------------------------------- P2: import


def bench_p2(repeats: int, work: Path) -> dict[str, Any]:
    def python(code: str) -> Callable[[], float]:
        return lambda: timed([sys.executable, "-c", code], cwd=work)[0]

    bare, sdk, ours = python("pass"), python("import mistralai.client"), python("import cookbook")
    for warm in (bare, sdk, ours):  # .pyc files and the page cache
        warm()
    rows = [
        compare("python -c 'import cookbook' / 'pass'", *pairs(ours, bare, repeats)),
        compare("python -c 'import cookbook' / 'import mistralai.client'", *pairs(ours, sdk, repeats)),
    ]
    return {"rows": rows}


# --------------------------------------------------------------------------- P3: display

BENCH_TOOLS = ("web_search", "ask_question", "read_wiki_structure", "code_interpreter")


def recipe_display_response(response) -> None:
    """The print helper from the recipe page, verbatim."""
    for output in response.outputs:
        if output.type == "message.output":
            content = output.content
            if isinstance(content, str):
                print(content)
            else:
                text = "".join(chunk.text if hasattr(chunk, "text") else str(chunk) for chunk in content)
                print(text)


def synthetic_response(entries: int) -> Any:
    """A ConversationResponse with ``entries`` outputs of every kind (messages with Markdown and citations,
    built-in and connector tool executions, function calls, handoffs), validated by the SDK's own model."""
    from mistralai.client.models import ConversationResponse

    outputs: list[dict[str, Any]] = []
    for i in range(entries):
        step = i % 5
        if step == 0:
            outputs.append({"type": "message.output", "model": "mistral-small-latest", "content": f"Plain answer {i}."})
        elif step == 1:
            outputs.append({
                "type": "message.output", "model": "mistral-small-latest",
                "content": [
                    {"type": "text", "text": f"## Result {i}\n\nThe **answer** is in `src/file_{i}.c`, see "},
                    {"type": "tool_reference", "tool": "web_search", "title": f"Source {i % 40}",
                     "url": f"https://example.com/{i % 40}", "favicon": "https://example.com/favicon.ico",
                     "description": "A page the search found."},
                    {"type": "text", "text": ".\n\n- first point\n- second point <b>not html</b>\n"},
                ],
            })
        elif step == 2:
            outputs.append({
                "type": "tool.execution", "name": BENCH_TOOLS[i % len(BENCH_TOOLS)],
                "arguments": json.dumps({"query": f"question {i}", "options": {"depth": i % 7, "tags": ["a", "b"]}}),
                "info": {"results": i % 9, "nested": {"level": {"deeper": list(range(5))}}},
            })
        elif step == 3:
            outputs.append({"type": "function.call", "tool_call_id": f"call_{i}", "name": "lookup",
                            "arguments": {"id": i}})
        else:
            outputs.append({"type": "agent.handoff", "previous_agent_id": "ag_1", "previous_agent_name": "Router",
                            "next_agent_id": "ag_2", "next_agent_name": "Writer"})
    usage = {"prompt_tokens": 1000, "completion_tokens": 2000, "total_tokens": 3000, "connector_tokens": 50,
             "connectors": {"my_deepwiki": 50}}
    return ConversationResponse.model_validate({"conversation_id": "conv_bench", "outputs": outputs, "usage": usage})


def bench_p3(repeats: int, entries: int = 1000) -> dict[str, Any]:
    from cookbook._display import RenderedResponse, render_html, render_text

    response = synthetic_response(entries)

    def clock(func: Callable[[], Any]) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            func()
            return time.perf_counter() - started

        return run

    def helper() -> str:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            recipe_display_response(response)
        return buffer.getvalue()

    cases = {
        "mimebundle (text/plain + text/html)": lambda: RenderedResponse(response)._repr_mimebundle_(),
        "text/plain (render_text)": lambda: render_text(response),
        "text/html (render_html)": lambda: render_html(response),
    }
    for func in (helper, *cases.values()):  # warm up: imports, the Markdown engine
        func()
    # the floor under text/html: the Markdown of the response's messages, rendered as render_html renders it
    from cookbook import _render

    sources: list[str] = []
    render_md = _render._render_md
    _render._render_md = lambda src: sources.append(src) or render_md(src)
    try:
        render_html(response)
    finally:
        _render._render_md = render_md
    cases[f"Markdown alone ({len(sources)} messages)"] = lambda: [render_md(src) for src in sources]
    rows = []
    for name, func in cases.items():
        row = compare(f"{name} / print helper", *pairs(clock(func), clock(helper), repeats))
        rows.append(row)
    sizes = {"helper": len(helper()), **{k: len(str(v())) for k, v in cases.items() if "Markdown" not in k}}
    return {"entries": entries, "rows": rows, "output_chars": sizes}


# --------------------------------------------------------------------------- P4: the test suite


def bench_p4(repeats: int, work: Path) -> dict[str, Any]:
    outcomes: dict[str, list[str]] = {"all": [], "no_browser": []}

    def suite(which: str) -> Callable[[], float]:
        extra = [] if which == "all" else ["--deselect", "tests/test_browser.py"]

        def run() -> float:
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
            seconds, proc = timed(argv, cwd=ROOT, check=False)
            tail = [line for line in proc.stdout.splitlines() if line.strip()][-1:] or ["(no output)"]
            outcomes[which].append(tail[0].strip("= "))
            print(f"  P4 {which:<10} {seconds:6.1f} s  {tail[0].strip('= ')}", file=sys.stderr)
            return seconds

        return run

    with_browser, without = pairs(suite("all"), suite("no_browser"), repeats)
    row = compare("pytest without the browser test / with it", without, with_browser)
    return {"rows": [row], "outcomes": outcomes}


# --------------------------------------------------------------------------- P5: replay lookup


def synthetic_cassette(path: Path, interactions: int) -> list[str]:
    """A cassette of ``interactions`` conversation turns, one prompt each, written with the cookbook's serializer."""
    from cookbook._cassette import serializer

    prompts, items = [], []
    for i in range(interactions):
        prompt = f"Benchmark question number {i}?"
        prompts.append(prompt)
        entry = {"role": "user", "content": prompt, "object": "entry", "type": "message.input", "prefix": False}
        body = {"inputs": [entry], "stream": False, "model": "mistral-small-latest"}
        answer = {
            "object": "conversation.response", "conversation_id": f"conv_{i:06d}",
            "outputs": [{"object": "entry", "type": "message.output", "id": f"msg_{i:06d}", "role": "assistant",
                         "model": "mistral-small-latest", "created_at": "2025-01-01T00:00:00Z",
                         "completed_at": "2025-01-01T00:00:01Z", "content": f"Answer number {i}."}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        items.append({
            "request": {"method": "POST", "uri": "https://api.mistral.ai/v1/conversations",
                        "headers": {"content-type": ["application/json"]}, "body": json.dumps(body)},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["application/json"]},
                         "body": {"string": json.dumps(answer)}, "provenance": "authored"},
        })
    text = serializer.serialize({"interactions": items, "metadata": {"recipe": path.stem}})
    path.write_text(text, encoding="utf-8")
    return prompts


def bench_p5(repeats: int, work: Path) -> dict[str, Any]:
    from cookbook import make_client

    rows, loads = [], {}
    clients, prompts = {}, {}
    for size in (10, 1000):
        path = work / f"synthetic_{size}.yaml"
        prompts[size] = synthetic_cassette(path, size)
        times = []
        for _ in range(max(3, repeats // 5)):
            started = time.perf_counter()
            clients[size] = make_client("replay", cassette=str(path))
            times.append(time.perf_counter() - started)
        loads[size] = median(times)

    def request(size: int, index: int) -> Callable[[], float]:
        client, prompt = clients[size], prompts[size][index]

        def run() -> float:
            for cassette in client.cookbook.transport.cassettes:
                cassette.rewind()  # every timed request is a first play, as in a notebook run
            started = time.perf_counter()
            client.beta.conversations.start(model="mistral-small-latest",
                                            inputs=[{"role": "user", "content": prompt}])
            return time.perf_counter() - started

        return run

    for where, index_big, index_small in (("first", 0, 0), ("middle", 500, 5), ("last", 999, 9)):
        request(1000, index_big)()  # warm up
        request(10, index_small)()
        row = compare(f"request matching the {where} of 1,000 / of 10", *pairs(request(1000, index_big),
                                                                             request(10, index_small), repeats))
        rows.append(row)
    rows.append({"case": "make_client on the 1,000-interaction cassette / on 10", "unit": "s", "a": [], "b": [],
                 "a_median": loads[1000], "b_median": loads[10], "ratio": loads[1000] / loads[10],
                 "difference": loads[1000] - loads[10]})
    return {"rows": rows}


# --------------------------------------------------------------------------- table


def _fmt(seconds: float) -> str:
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms" if abs(seconds) >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    out = {}
    results = report["results"]
    if "P1" in results:
        rows = results["P1"]["rows"]
        bound = results["P1"].get("ratio_lower_bound")
        out["P1"] = (f"{'met' if rows[0]['ratio'] <= 1.3 else 'MISSED'} (x{rows[0]['ratio']:.2f} floor"
                     + (f"; the SDK's import alone makes it at least x{bound:.2f}" if bound else "") + "); "
                     f"{'met' if rows[1]['ratio'] <= 0.65 else 'MISSED'} (x{rows[1]['ratio']:.2f} serial)")
    if "P2" in results:
        diff = results["P2"]["rows"][0]["difference"]
        out["P2"] = f"{'met' if diff <= 0.050 else 'MISSED'} ({diff * 1e3:+.0f} ms)"
    if "P3" in results:
        ratio = results["P3"]["rows"][0]["ratio"]
        out["P3"] = f"{'met' if ratio <= 5 else 'MISSED'} (x{ratio:.1f})"
    if "P4" in results:
        seconds = results["P4"]["rows"][0]["a_median"]
        out["P4"] = f"{'met' if seconds <= 60 else 'MISSED'} ({seconds:.0f} s)"
    return out


def table(report: dict[str, Any]) -> str:
    lines = [
        f"cookbook benchmarks · {report['machine']} · medians; ratio = median of per-pair A/B",
        f"{'':4}{'A / B':<62}{'A':>11}{'B':>11}{'A/B':>8}{'A-B':>11}",
    ]
    for key, result in report["results"].items():
        for row in result["rows"]:
            lines.append(
                f"{key:<4}{row['case']:<62}{_fmt(row['a_median']):>11}{_fmt(row['b_median']):>11}"
                f"{row['ratio']:>8.2f}{_fmt(row['difference']):>11}"
            )
    lines.append("")
    for key, verdict in report["verdicts"].items():
        lines.append(f"{key}: {TARGETS[key]}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="P1,P2,P3,P4,P5", help="comma-separated benchmarks (default: all)")
    parser.add_argument("--skip-tests", action="store_true", help="leave out P4 (the test suite: minutes)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, and no P4")
    parser.add_argument("--repeats", type=int, default=None, help="pairs per benchmark (default: per benchmark)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json", help="write results here")
    args = parser.parse_args(argv)
    wanted = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    if args.skip_tests or args.quick:
        wanted = [w for w in wanted if w != "P4"]
    defaults = {"P1": 3, "P2": 20, "P3": 9, "P4": 1, "P5": 15} if not args.quick else \
        {"P1": 1, "P2": 10, "P3": 5, "P4": 1, "P5": 7}
    report: dict[str, Any] = {
        "machine": f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
                   f"{os.cpu_count()} CPUs",
        "python": sys.executable, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "results": {},
    }
    benches = {"P1": bench_p1, "P2": bench_p2, "P3": lambda n, work: bench_p3(n), "P4": bench_p4, "P5": bench_p5}
    with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as tmp:
        for key in wanted:
            print(f"{key}: {TARGETS[key]}", file=sys.stderr)
            started = time.perf_counter()
            report["results"][key] = benches[key](args.repeats or defaults[key], Path(tmp))
            report["results"][key]["bench_seconds"] = round(time.perf_counter() - started, 1)
    report["verdicts"] = verdicts(report)
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
