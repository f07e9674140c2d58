"""The cookbook against its real peers, measured on this machine: a table, and JSON.

* B1 ``cookbook run`` of the eight recipes in replay (serial), against their real peer: the same eight notebooks
  run one after another with the ``papermill`` command (``papermill IN OUT -p mode replay``, a process each, as a
  pipeline would), and ``cookbook run --jobs 2`` against ``cookbook run``. The runs alternate (A, B, B, A, ...)
  and each ratio is the median of the per-pair ratios, so drift in the machine's speed cancels out.
* B2 the test suite's wall time (``python -m pytest``): browser, live and record runs included.
* B3 the size of the helper: lines of Python in ``cookbook/`` and radon's worst block.

``python benchmarks/run.py`` runs all; ``--only B1`` some; ``--pairs N`` how many pairs B1 times (default 3).
The numbers also go to ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TARGETS = {"B1": "cookbook run no slower than the papermill command; --jobs 2 <= 0.65x serial",
           "B2": "suite <= 60 s", "B3": "about 3,000 lines; no block rated D or worse"}


def clean_env() -> dict[str, str]:
    """This environment without a key, a mode or a server (replay answers)."""
    drop = ("MISTRAL_API_KEY", "COOKBOOK_MODE", "COOKBOOK_CASSETTES", "MISTRAL_SERVER_URL")
    return {k: v for k, v in os.environ.items() if k not in drop}


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def papermill_one_by_one(out: Path) -> float:
    started = time.perf_counter()
    for notebook in sorted(NOTEBOOKS.glob("0*.ipynb")):
        timed(["papermill", str(notebook), str(out / notebook.name), "-p", "mode", "replay", "--cwd",
               str(NOTEBOOKS), "--no-progress-bar"], out)
    return time.perf_counter() - started


def cookbook_run(out: Path, jobs: int = 1) -> float:
    return timed([sys.executable, "-m", "cookbook", "run", "--mode", "replay", "--jobs", str(jobs), "--out",
                  str(out), "--notebooks", str(NOTEBOOKS)], out)


def b1(pairs: int) -> dict:
    runs: dict[str, list[float]] = {"cookbook run": [], "papermill": [], "cookbook run --jobs 2": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for index in range(pairs):
            order = ["cookbook run", "papermill"] if index % 2 == 0 else ["papermill", "cookbook run"]
            for name in [*order, "cookbook run --jobs 2"]:
                runs[name].append({"cookbook run": lambda: cookbook_run(out), "papermill": lambda: papermill_one_by_one(
                    out), "cookbook run --jobs 2": lambda: cookbook_run(out, 2)}[name]())
    ratio = statistics.median(a / b for a, b in zip(runs["cookbook run"], runs["papermill"], strict=True))
    parallel = statistics.median(a / b for a, b in zip(runs["cookbook run --jobs 2"], runs["cookbook run"],
                                                       strict=True))
    return {"seconds": {k: statistics.median(v) for k, v in runs.items()}, "run/papermill": ratio,
            "jobs2/serial": parallel}


def b2() -> dict:
    return {"seconds": timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], ROOT)}


def b3() -> dict:
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "cookbook").glob("*.py"))
    radon = subprocess.run([sys.executable, "-m", "radon", "cc", "-s", "-j", str(ROOT / "cookbook")],
                           capture_output=True, text=True)
    blocks = [b for found in json.loads(radon.stdout or "{}").values() for b in found if isinstance(b, dict)]
    worst = max(blocks, key=lambda b: b["complexity"], default=None)
    return {"lines": lines, "worst": f"{worst['name']} {worst['rank']} ({worst['complexity']})" if worst else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="B1,B2,B3", help="comma-separated: B1, B2, B3")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    chosen = {name.strip() for name in args.only.split(",")}
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    for name, measure in (("B1", lambda: b1(args.pairs)), ("B2", b2), ("B3", b3)):
        if name in chosen:
            results[name] = measure()
            print(f"{name}  {json.dumps(results[name])}\n    target: {TARGETS[name]}")
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
