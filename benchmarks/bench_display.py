"""How long ``display_response`` takes next to the recipe page's print helper.

Builds one synthetic ``ConversationResponse`` (validated by the SDK's own model)
with N output entries — messages with Markdown and citations, built-in and
connector tool executions, function calls and handoffs — and times, on that
same object:

* ``recipe helper``: the recipe page's ``display_response`` printing to a buffer;
* ``text/plain``: ``render_text`` (what ``print`` and terminals show);
* ``text/html``: ``render_html`` (what Jupyter shows);
* ``mimebundle``: a fresh ``RenderedResponse`` asked for both, as Jupyter does.

Each is run ``--repeats`` times; the table shows the median and its ratio to
the helper's median. ``--json PATH`` also writes the numbers. Run with
``python benchmarks/bench_display.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cookbook._display import RenderedResponse, render_html, render_text  # noqa: E402

TOOLS = ("web_search", "ask_question", "read_wiki_structure", "code_interpreter")


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
    """A ConversationResponse with ``entries`` outputs of every kind, parsed by the SDK."""
    from mistralai.client.models import ConversationResponse

    outputs: list[dict[str, Any]] = []
    for i in range(entries):
        step = i % 5
        if step == 0:
            outputs.append({"type": "message.output", "model": "mistral-small-latest", "content": f"Plain answer {i}."})
        elif step == 1:
            outputs.append(
                {
                    "type": "message.output",
                    "model": "mistral-small-latest",
                    "content": [
                        {"type": "text", "text": f"## Result {i}\n\nThe **answer** is in `src/file_{i}.c`, see "},
                        {
                            "type": "tool_reference",
                            "tool": "web_search",
                            "title": f"Source {i % 40}",
                            "url": f"https://example.com/{i % 40}",
                            "favicon": "https://example.com/favicon.ico",
                            "description": "A page the search found.",
                        },
                        {"type": "text", "text": ".\n\n- first point\n- second point <b>not html</b>\n"},
                    ],
                }
            )
        elif step == 2:
            tool = TOOLS[i % len(TOOLS)]
            outputs.append(
                {
                    "type": "tool.execution",
                    "name": tool,
                    "arguments": json.dumps(
                        {"query": f"question {i}", "options": {"depth": i % 7, "tags": ["a", "b"]}}
                    ),
                    "info": {"results": i % 9, "nested": {"level": {"deeper": list(range(5))}}},
                }
            )
        elif step == 3:
            outputs.append(
                {"type": "function.call", "tool_call_id": f"call_{i}", "name": "lookup", "arguments": {"id": i}}
            )
        else:
            outputs.append(
                {
                    "type": "agent.handoff",
                    "previous_agent_id": "ag_1",
                    "previous_agent_name": "Router",
                    "next_agent_id": "ag_2",
                    "next_agent_name": "Writer",
                }
            )
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 2000,
        "total_tokens": 3000,
        "connector_tokens": 50,
        "connectors": {"my_deepwiki": 50},
    }
    return ConversationResponse.model_validate({"conversation_id": "conv_bench", "outputs": outputs, "usage": usage})


def _helper(response: Any) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        recipe_display_response(response)
    return buffer.getvalue()


def _bundle(response: Any) -> dict[str, str]:
    return RenderedResponse(response)._repr_mimebundle_()


def measure(entries: int, repeats: int) -> dict[str, Any]:
    response = synthetic_response(entries)
    cases = {
        "recipe helper": _helper,
        "text/plain": render_text,
        "text/html": render_html,
        "mimebundle": _bundle,
    }
    for func in cases.values():  # warm up (imports, markdown-it set-up)
        func(response)
    rows = []
    base = None
    for name, func in cases.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = func(response)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        base = base if base is not None else median
        size = len(out) if isinstance(out, str) else sum(len(v) for v in out.values())
        rows.append({"case": name, "median_s": median, "min_s": min(times), "ratio": median / base, "chars": size})
    return {
        "entries": entries,
        "repeats": repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": rows,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"display_response on {report['entries']} entries, median of {report['repeats']} runs "
        f"(Python {report['python']}, {report['machine']})",
        f"{'case':<15}{'median ms':>11}{'min ms':>10}{'x helper':>10}{'output chars':>14}",
    ]
    for row in report["results"]:
        lines.append(
            f"{row['case']:<15}{row['median_s'] * 1e3:>11.2f}{row['min_s'] * 1e3:>10.2f}"
            f"{row['ratio']:>10.1f}{row['chars']:>14,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1000, help="output entries in the synthetic response")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case (the median is reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    report = measure(args.entries, args.repeats)
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
