"""The same cells run offline from recordings or live against the API: the eight recipes over real HTTP.

One module fixture runs ``python -m cookbook`` four times, against local servers only (a :class:`StandinAPI` that
answers like the Mistral API from cassettes, and a :class:`LocalMcpServer` shaped like DeepWiki, each on 127.0.0.1).
These three start together, each with servers of its own:

- ``record``: ``cookbook record`` of the eight into a fresh cassette folder, against a stand-in over the bundled
  cassettes: every recipe runs live over real HTTP, and what it sent and received is written;
- ``live``: ``cookbook run --mode live`` of recipes 01 and 07 against another such stand-in (live mode is record
  mode without the writing: two recipes show it answers the same and writes nothing);
- ``check``: ``cookbook check --live 01 03`` against a stand-in serving a copy of the bundled cassettes in which one
  answer of recipe 03 changed shape (its connector tool renamed), compared with the bundled recordings;

As soon as ``record`` is done, the servers it recorded from are stopped and a fourth starts:

- ``replay``: ``cookbook run --mode replay`` of the eight from what ``record`` wrote.

Every command runs with a fake key and a fake OAuth token, and with a network guard (a ``sitecustomize`` on its
``PYTHONPATH``, so in the notebooks' kernels too) that refuses and logs any TCP connection to a host other than
127.0.0.1, and in the replay run any TCP connection at all: nothing reaches the real API or DeepWiki, and the replay
provably needs no network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from executions import NOTEBOOKS, cli_env
from mcp_server import LocalMcpServer
from recipes import BY_SLUG
from standin_api import StandinAPI

from cookbook._cassette import bundled_names, resolve
from cookbook._cli import first_answer_line

SLUGS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LIVE_SLUGS = ["01_hello_world", "07_oauth_gmail"]  # the plain request, and the one that sends an OAuth token
API_KEY = "sk-live-runs-fake-key-7f3a9c0d5e1b24680aceBDF1"
OAUTH_TOKEN = "live-runs-fake-oauth-token-13579bdf2468ace0"
TIMEOUT = 600  # seconds, for each command
# The recipe 03 answer the drift check sees changed, and how: its connector tool call renamed.
RENAMED_FROM, RENAMED_TO = "my_deepwiki_read_wiki_structure", "my_deepwiki_read_wiki_index"

# A network guard for the commands and everything they start (papermill workers, kernels): a TCP connection to a
# host not in $LIVE_RUNS_ALLOW is refused and written to $LIVE_RUNS_NETLOG.
SITECUSTOMIZE = textwrap.dedent('''\
    import importlib.machinery, os, socket, sys

    _allowed = set(filter(None, os.environ.get("LIVE_RUNS_ALLOW", "").split(",")))
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _allowed:
            with open(os.environ["LIVE_RUNS_NETLOG"], "a") as log:
                log.write(f"{os.getpid()} {sys.argv[:3]} {address!r}\\n")
            raise ConnectionRefusedError(f"the test's network guard refused {address!r}")

    def connect(self, address, *rest):
        _check(self, address)
        return _connect(self, address, *rest)

    def connect_ex(self, address, *rest):
        _check(self, address)
        return _connect_ex(self, address, *rest)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex

    # any other sitecustomize still runs
    _here = os.path.dirname(os.path.abspath(__file__))
    _spec = importlib.machinery.PathFinder.find_spec(
        "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here])
    if _spec is not None and _spec.loader is not None:
        _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
''')


# ------------------------------------------------------------------ helpers


class Run:
    """A finished ``python -m cookbook`` command: exit code, output, and what it wrote to ``out``."""

    def __init__(self, name: str, out: Path, code: int | None, stdout: str, stderr: str, netlog: Path):
        self.name, self.out, self.code, self.stdout, self.stderr = name, out, code, stdout, stderr
        self.network = netlog.read_text().splitlines() if netlog.is_file() else []
        summary = out / ("check.json" if name == "check" else "summary.json")
        self.summary = json.loads(summary.read_text()) if summary.is_file() else {}
        self.results = {item["recipe"]: item for item in self.summary.get("results", [])}
        if name == "record":  # no summary: the table's statuses, and the answers the executed notebooks show
            self.results = {slug: {"recipe": slug, "status": row["status"], "error": None, "notebook": f"{slug}.ipynb",
                                   "answer": first_answer_line(nbformat.read(str(out / f"{slug}.ipynb"), 4))
                                   if (out / f"{slug}.ipynb").is_file() else ""}
                            for slug, row in cassette_table(stdout).items()}

    def answers(self) -> dict[str, str]:
        return {slug: item["answer"] for slug, item in self.results.items()}

    def why(self) -> str:
        """What the command said, and the error of each recipe that failed (its notebook in ``out`` shows it)."""
        failed = [f"  {slug}: {item['error']} (see {self.out / (item.get('notebook') or slug)})"
                  for slug, item in self.results.items() if item["status"] != "ok"]
        return (f"`cookbook {self.name}` exited {self.code}\n" + "\n".join(failed)
                + f"\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")

    def assert_all_ok(self, slugs: list[str]) -> None:
        assert self.code == 0 and sorted(self.results) == sorted(slugs), self.why()
        assert all(item["status"] == "ok" for item in self.results.values()), self.why()
        assert all(item["answer"] for item in self.results.values()), self.why()


def start(name: str, args: list[str], base: Path, *, allow: str) -> tuple[subprocess.Popen, dict]:
    """Start ``python -m cookbook ARGS --notebooks notebooks/ --out base/NAME`` with a fake key and token."""
    out, logs = base / name, base / "logs"
    logs.mkdir(exist_ok=True)
    env = cli_env(MISTRAL_API_KEY=API_KEY, GOOGLE_OAUTH_TOKEN=OAUTH_TOKEN, LIVE_RUNS_ALLOW=allow,
                  LIVE_RUNS_NETLOG=str(logs / f"{name}.network"))
    for variable in ("COOKBOOK_MODE", "COOKBOOK_CASSETTES", "MISTRAL_SERVER_URL"):
        env.pop(variable, None)
    env["PYTHONPATH"] = os.pathsep.join([str(base / "guard"), env["PYTHONPATH"]])
    argv = [sys.executable, "-m", "cookbook", *args, "--notebooks", str(NOTEBOOKS), "--out", str(out)]
    stdout, stderr = open(logs / f"{name}.stdout", "w+"), open(logs / f"{name}.stderr", "w+")
    # a session of its own: on a timeout, the command, its workers and their kernels are stopped together
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, text=True, cwd=base, env=env, start_new_session=True)
    return proc, {"name": name, "out": out, "stdout": stdout, "stderr": stderr, "netlog": logs / f"{name}.network"}


def stop(proc: subprocess.Popen) -> None:
    """Kill a command started by :func:`start` and every process of its session."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def finish(proc: subprocess.Popen, started: dict, deadline: float) -> Run:
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        stop(proc)
    texts = []
    for stream in (started["stdout"], started["stderr"]):
        stream.seek(0)
        texts.append(stream.read())
        stream.close()
    return Run(started["name"], started["out"], proc.returncode, *texts, started["netlog"])


def changed_cassettes(folder: Path) -> None:
    """A copy of the bundled cassettes in which recipe 03's answer to its default prompt calls its tool by another
    name (the tool call's ``name`` and ``function``)."""
    folder.mkdir()
    for name in bundled_names():
        shutil.copyfile(resolve(name, must_exist=True), folder / f"{name}.yaml")
    path = folder / "03_custom_connector.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    renamed = 0
    for item in doc["interactions"]:
        body = item["request"].get("json")
        if not (isinstance(body, dict) and not body.get("stream")
                and user_texts(body) == [BY_SLUG["03_custom_connector"]["prompts"][0]]):
            continue
        for output in (item["response"].get("json") or {}).get("outputs", []):
            if output.get("type") == "tool.execution" and output.get("name") == RENAMED_FROM:
                output["name"] = output["function"] = RENAMED_TO
                renamed += 1
    assert renamed == 1, "recipe 03's cassette no longer answers its default prompt with one read_wiki_structure call"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


def user_texts(body: object) -> list[str]:
    """The user messages of a conversation request's parsed body."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if isinstance(inputs, str):
        return [inputs]
    return [entry["content"] for entry in inputs or [] if isinstance(entry, dict) and entry.get("role") == "user"
            and isinstance(entry.get("content"), str)]


def is_replay_only_demo(seen) -> bool:
    """A request of one of the demos that only a recording can show (see each notebook's ``replay_only`` cell)."""
    text = seen.body.decode("utf-8", "replace")
    if any(marker in text for marker in ("(overload demo)", "(rate limit demo)", "(expired token demo)")):
        return True
    body = seen.json if isinstance(seen.json, dict) else {}
    connectors = [tool.get("connector_id") for tool in body.get("tools") or [] if isinstance(tool, dict)
                  and tool.get("type") == "connector"]
    duplicate_connector = len(connectors) != len(set(connectors))  # 04: one connector given twice
    agent_with_model = "agent_id" in body and "model" in body  # 06: an agent's conversation that names a model
    return duplicate_connector or agent_with_model


def outputs_text(path: Path) -> list[str]:
    """Each output of an executed notebook as text (a stream's text, or a display's plain text and HTML)."""
    texts = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append("\n".join(str(part) for part in (output.get("text"), data.get("text/plain"),
                                                           data.get("text/html")) if part))
    return texts


def cassette_table(stdout: str) -> dict[str, dict[str, str]]:
    """The rows of the table ``cookbook record`` prints, by recipe."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.split()[:2] == ["recipe", "status"]), None)
    if start is None:
        return {}
    header = ["recipe", "status", "added", "replaced", "kept", "authored"]
    rows = {}
    for line in lines[start + 2:]:
        cells = line.split()
        if len(cells) != len(header) or cells[0] not in SLUGS:
            break
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


# ------------------------------------------------------------------ the runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("live-runs")
    (base / "guard").mkdir()
    (base / "guard" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    changed_cassettes(base / "changed-cassettes")
    bundled = resolve("01_hello_world", must_exist=True).parent
    servers = {
        "record": (StandinAPI(bundled), LocalMcpServer()),
        "live": (StandinAPI(bundled), LocalMcpServer()),
        "check": (StandinAPI(base / "changed-cassettes"), LocalMcpServer()),
    }
    args = {
        "record": ["record", "--jobs", "2", "--cassettes", str(base / "cassettes")],
        "live": ["run", "--mode", "live", "--jobs", "2", *LIVE_SLUGS],
        "check": ["check", "--live", "01", "03", "--jobs", "2"],
    }
    deadline = time.monotonic() + TIMEOUT
    started, done, running = {}, {}, []
    try:
        for api, mcp in servers.values():
            for server in (api, mcp):
                server.start()
                running.append(server)
        for name, (api, mcp) in servers.items():
            mcp_url = ["-p", "mcp_server_url", mcp.url] if name != "live" else []  # recipes 01 and 07 take none
            started[name] = start(name, [*args[name], "--server-url", api.url, *mcp_url], base, allow="127.0.0.1")
        done["record"] = finish(*started["record"], deadline)
        for server in servers["record"]:  # the servers it recorded from stop; the replay of its cassettes starts
            server.stop()
            running.remove(server)
        replay_args = ["run", "--mode", "replay", "--jobs", "2", "--cassettes", str(base / "cassettes"),
                       "-p", "mcp_server_url", servers["record"][1].url]
        started["replay"] = start("replay", replay_args, base, allow="")  # the guard refuses every TCP connection
        for name in ("live", "check", "replay"):
            done[name] = finish(*started[name], deadline)
    finally:
        for proc, _ in started.values():
            if proc.poll() is None:
                stop(proc)
        for server in running:
            server.stop()
    return {"base": base, "runs": done, "servers": servers}


# ------------------------------------------------------------------ the tests


def sent_as_a_live_run(run: Run, api: StandinAPI, mcp: LocalMcpServer, slugs: list[str]) -> None:
    """The run answered every recipe over real HTTP, with the key as a bearer token and recipe 07's OAuth token,
    sent each recipe's prompt, and sent nothing for the demos only a recording can show (each says so instead)."""
    run.assert_all_ok(slugs)
    assert run.network == [], f"the {run.name} run tried to leave 127.0.0.1"
    assert api.requests, "the stand-in received nothing"
    assert {seen.headers.get("authorization") for seen in api.requests} == {f"Bearer {API_KEY}"}
    asked = {text for seen in api.requests for text in user_texts(seen.json)}
    assert {BY_SLUG[slug]["prompts"][0] for slug in slugs} <= asked, "a recipe's prompt never reached the stand-in"
    assert any(OAUTH_TOKEN in seen.body.decode() for seen in api.requests), "recipe 07 did not send its token"
    assert [f"{seen.method} {seen.path} {seen.body[:200]!r}" for seen in api.requests if is_replay_only_demo(seen)] \
        == []
    if "03_custom_connector" in slugs:
        assert {method for _, _, method in mcp.seen} >= {"initialize", "tools/list"}, "no MCP preflight reached it"
    mode = "record" if run.name == "record" else "live"
    for slug in slugs:  # one "Not sent in ... mode" output for each replay_only demo of the notebook
        demos = (NOTEBOOKS / f"{slug}.ipynb").read_text().count("replay_only(client,")
        said = [text for text in outputs_text(run.out / f"{slug}.ipynb") if f"Not sent in {mode} mode" in text]
        assert len(said) == demos, f"{slug}: {demos} replay-only demo(s), said {said}"


def test_live_mode_answers_as_the_offline_replay_and_writes_no_cassette(runs):
    """`cookbook run --mode live` answers as the replay of the recording does, and writes no cassette anywhere."""
    live, replay = runs["runs"]["live"], runs["runs"]["replay"]
    sent_as_a_live_run(live, *runs["servers"]["live"], LIVE_SLUGS)
    assert live.answers() == {slug: replay.answers()[slug] for slug in LIVE_SLUGS}
    assert live.summary["mode"] == "live"
    # record mode would write into the kernel's working folder (the notebooks') or the run's
    assert [*NOTEBOOKS.rglob("*.yaml"), *(runs["base"] / "live").rglob("*.yaml")] == []


def test_record_then_replay_with_the_servers_stopped_and_no_network(runs):
    """`cookbook record` runs all eight live over real HTTP and writes cassettes that replay the same answers with
    no server and no network; recorded exchanges sit next to the authored demos it did not send, and no secret
    reaches any file or output."""
    record, replay = runs["runs"]["record"], runs["runs"]["replay"]
    base = runs["base"]
    sent_as_a_live_run(record, *runs["servers"]["record"], SLUGS)
    assert sum((NOTEBOOKS / f"{slug}.ipynb").read_text().count("replay_only(client,") for slug in SLUGS) >= 3

    table = cassette_table(record.stdout)
    assert sorted(table) == SLUGS and {row["status"] for row in table.values()} == {"ok"}, record.stdout

    for slug in SLUGS:
        text = (base / "cassettes" / f"{slug}.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        kinds = [item["provenance"] for item in doc["interactions"]]
        counts = {"recorded": kinds.count("recorded"), "authored": kinds.count("authored")}
        assert doc["exchanges"] == counts, slug
        assert counts["recorded"] > 0 and counts["authored"] > 0 and doc["provenance"] == "mixed", (slug, counts)
        row = table[slug]
        assert (int(row["added"]) + int(row["replaced"]), int(row["authored"])) == \
            (counts["recorded"], counts["authored"]), (slug, row, counts)
        recorded = [item for item in doc["interactions"] if item["provenance"] == "recorded"]
        assert all(item["request"]["uri"].startswith("http://127.0.0.1:") for item in recorded), slug
    for slug, marker in (("01_hello_world", "(overload demo)"), ("02_web_search", "(rate limit demo)"),
                         ("07_oauth_gmail", "(expired token demo)")):
        doc = yaml.safe_load((base / "cassettes" / f"{slug}.yaml").read_text(encoding="utf-8"))
        demos = [item["provenance"] for item in doc["interactions"] if marker in json.dumps(item["request"])]
        assert demos == ["authored"], f"{slug}: the {marker} exchange is {demos}"

    # the servers it recorded from were stopped and the guard refused every connection: the cassettes alone answered
    replay.assert_all_ok(SLUGS)
    assert replay.network == [], f"the replay tried to reach the network: {replay.network}"
    assert replay.answers() == record.answers()
    assert replay.summary["mode"] == "replay"

    written = [path for path in base.rglob("*") if path.is_file()]
    pages = {base / run / f"{slug}.html" for run in ("record", "replay") for slug in SLUGS}
    pages |= {base / "live" / f"{slug}.html" for slug in LIVE_SLUGS}
    assert pages <= set(written), [item.get("html_error") for item in runs["runs"]["live"].results.values()]
    assert {base / "live" / "index.html", base / "replay" / "summary.json"} <= set(written)
    for secret in (API_KEY, OAUTH_TOKEN):
        leaked = [str(path.relative_to(base)) for path in written if secret.encode() in path.read_bytes()]
        assert leaked == [], f"{secret[:12]}… reached {leaked}"  # the command's stdout and stderr are in logs/


def test_check_live_reports_the_changed_answer(runs):
    """`cookbook check --live` against a stand-in whose recipe 03 answer calls a renamed tool: exit 1, the drift
    named in its output and check.json, and none in recipe 01. (Recipe 03's MCP preflight exchanges drift too, since
    the local MCP server is not DeepWiki; only the Mistral API's answers are asserted here.)"""
    check = runs["runs"]["check"]
    assert check.code == 1, check.why()
    assert sorted(check.results) == ["01_hello_world", "03_custom_connector"], check.why()
    assert {item["status"] for item in check.results.values()} == {"ok"}, check.why()
    assert check.network == [], "the check tried to leave 127.0.0.1"

    exchanges = check.summary["exchanges"]
    hello = [entry for entry in exchanges if entry["recipe"] == "01_hello_world"]
    assert hello and all(entry["compared"] and not entry["missing"] and not entry["new"] for entry in hello), hello
    api_drift = [entry for entry in exchanges if entry["recipe"] == "03_custom_connector"
                 and " /v1/" in entry["request"] and (entry["missing"] or entry["new"])]
    assert [(e["request"], e["missing"], e["new"]) for e in api_drift] == [(
        "POST /v1/conversations",
        [f"outputs[].function={RENAMED_FROM}", f"outputs[].name={RENAMED_FROM}"],
        [f"outputs[].function={RENAMED_TO}", f"outputs[].name={RENAMED_TO}"],
    )]

    printed = check.stdout.split("drift in ")
    assert not any(part.startswith("01_hello_world") for part in printed), check.stdout
    said = [part for part in printed if part.startswith("03_custom_connector, POST /v1/conversations (status 200)")]
    assert len(said) == 1, check.stdout
    assert f"  - outputs[].name={RENAMED_FROM}" in said[0] and f"  + outputs[].name={RENAMED_TO}" in said[0]
