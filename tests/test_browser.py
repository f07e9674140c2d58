"""The widgets in a real JupyterLab, driven through headless Chromium.

The test starts JupyterLab on 127.0.0.1 (free port, random token, replay mode)
over a temporary copy of notebook 05 and a small notebook that replays a
hostile response, opens them in Debian's Chromium with the ``playwright``
package (never a downloaded browser), runs all cells from the Run menu and
clicks through the playground. Screenshots go to ``artifacts/``.

CI must run these tests: a missing browser or playwright is a failure that says
what to install, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
HOSTILE = ROOT / "tests" / "fixtures" / "cassettes" / "hostile.yaml"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000  # any one wait: kernel start, a run of all cells, a widget update
SERVER_START_S = 60
TOKEN = "browser-test-oauth-token-never-shown"
INCLUDE_ASK = [
    {"type": "connector", "connector_id": "my_deepwiki", "tool_configuration": {"include": ["ask_question"]}},
]

# Elements and attributes that would run code if model or server text became markup.
DANGEROUS = ("script, iframe, object, embed, svg, [onerror], [onload], [onclick], [onmouseover], "
             "a[href^='javascript:' i], a[href^='data:' i], img[src^='javascript:' i], img[src^='data:' i]")


def _require_browser() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
                    "Install it with `apt-get install -y chromium` (.ci/run does); never `playwright install`.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stripped_copy(source: Path, target: Path) -> None:
    """The notebook without outputs or saved widget state, so every widget on the page is from this run."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)


def _hostile_notebook(target: Path) -> None:
    cells = [
        # Positive controls: in this JupyterLab, markup in a trusted output does run (a script, an onerror
        # handler, a script in a widget Output), so the hostile response staying inert below means something.
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\n"
            "from IPython.display import HTML, display\n\n"
            "display(HTML('<script>window.__control_script = 1</script>'\n"
            "             '<img src=\"missing.png\" style=\"display:none\" onerror=\"window.__control_img = 1\">'))\n"
            "control = widgets.Output()\n"
            "control.outputs = ({'output_type': 'display_data', 'metadata': {},\n"
            "                    'data': {'text/html': '<script>window.__control_widget = 1</script>'}},)\n"
            "control"),
        nbformat.v4.new_code_cell(
            "from cookbook import Playground, display_response, make_client\n\n"
            "client = make_client(\"replay\", cassette=\"hostile.yaml\")\n"
            "display_response(client.beta.conversations.start(\n"
            "    model=\"mistral-small-latest\",\n"
            "    inputs=[{\"role\": \"user\", \"content\": \"Show me the hostile report.\"}],\n"
            "    tools=[{\"type\": \"web_search\"}],\n"
            "))"),
        nbformat.v4.new_code_cell("Playground(client, tools=[{\"type\": \"web_search\"}])"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}})
    nbformat.write(nb, target)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[dict]:
    """JupyterLab on 127.0.0.1 over a temporary folder; stopped (and its kernels with it) at the end."""
    _require_browser()
    work = tmp_path_factory.mktemp("lab")
    root = work / "notebooks"
    root.mkdir()
    _stripped_copy(ROOT / "notebooks" / "05_tool_filters.ipynb", root / "05_tool_filters.ipynb")
    shutil.copy(HOSTILE, root / "hostile.yaml")
    _hostile_notebook(root / "hostile.ipynb")
    # A settings folder of its own: no news or update checks, nothing from the user's JupyterLab settings.
    notifications = work / "settings" / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True)
    (notifications / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ, "COOKBOOK_MODE": "replay", "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"), "JUPYTER_CONFIG_DIR": str(work / "config"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    env.pop("MISTRAL_API_KEY", None)
    token, port = secrets.token_hex(16), _free_port()
    log_path = work / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--IdentityProvider.token={token}",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--ServerApp.root_dir={root}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--allow-root"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
        yield {"base": base, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Notebook:
    """One notebook open in its own page; dialogs (alert, confirm, prompt) are recorded and dismissed."""

    def __init__(self, browser, lab: dict, name: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1600})  # tall: whole playground shots
        self.page.set_default_timeout(TIMEOUT_MS)
        self.name = Path(name).stem
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        # A workspace of its own, reset: only this notebook is open, so the status bar is its kernel's.
        self.page.goto(f"{lab['base']}/lab/workspaces/{self.name}/tree/{name}?reset&token={lab['token']}")
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        self.wait_idle()

    def _dialog(self, dialog) -> None:
        if dialog.type != "beforeunload":
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def wait_idle(self) -> None:
        # The status bar, not the toolbar's execution indicator: that one says "idle" before the kernel connects,
        # and cells run then are dropped.
        status = self.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle$"))
        status.first.wait_for(state="attached")

    def run_all(self, last: str) -> None:
        """Run > Run All Cells, then wait for ``last`` (a selector the last cell shows) and an idle kernel."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            self.page.wait_for_selector(last, state="visible")
            self.wait_idle()
        except Exception:
            self.screenshot(f"browser-failed-{self.name}.png")
            raise
        errors = self.page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0, errors.all_inner_texts()

    def screenshot(self, name: str, locator=None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        (locator or self.page).screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.page.close()


def test_the_playground_of_notebook_05_sends_the_picked_filter_and_shows_the_reply(lab, browser):
    from playwright.sync_api import expect

    notebook = Notebook(browser, lab, "05_tool_filters.ipynb")
    try:
        notebook.run_all(".cb-playground .cb-run")
        page = notebook.page
        playground = page.locator(".cb-playground")
        preview = playground.locator(".cb-tools-preview pre")
        deepwiki = playground.locator(".cb-connector-my_deepwiki")
        expect(preview).to_contain_text('"include"')  # the notebook presets the include example

        deepwiki.locator(".widget-toggle-button", has_text="exclude").click()
        expect(deepwiki).to_contain_text("Selection cleared")  # "keep these" must not silently mean "hide these"
        expect(preview).not_to_contain_text('"include"')  # one filter at a time
        deepwiki.locator("select").select_option(["read_wiki_structure"])
        expect(preview).to_contain_text('"exclude"')
        deepwiki.locator(".widget-toggle-button", has_text="include").click()
        deepwiki.locator("select").select_option(["ask_question"])
        expect(preview).to_have_text(json.dumps(INCLUDE_ASK, indent=2))
        assert json.loads(preview.inner_text()) == INCLUDE_ASK
        assert deepwiki.locator("select option").all_inner_texts() == [
            "ask_question", "read_wiki_contents", "read_wiki_structure"]  # from list_tools

        playground.locator(".cb-run").click()
        reply = playground.locator(".cb-output .cb-resp")
        expect(reply).to_contain_text("I have access to: ask_question")
        expect(playground.locator(".cb-run")).to_be_enabled()
        notebook.screenshot("browser-05-playground.png", playground)

        # A recorded prompt, picked from the list, runs with the same filter.
        alternative = "Can you read a repository's wiki structure? Answer yes or no, then say which tool you would use."
        playground.locator(".cb-recorded select").select_option(alternative)
        expect(playground.locator(".cb-prompt textarea")).to_have_value(alternative)
        playground.locator(".cb-run").click()
        expect(reply).to_contain_text("No — my only tool is ask_question")

        # Gmail takes OAuth: the token goes into the list sent, masked in the preview, and the field empties.
        gmail = playground.locator(".cb-connector-gmail")
        gmail.locator("input[type='checkbox']").check()
        token_field = gmail.locator(".cb-token input")
        token_field.fill(TOKEN)
        token_field.press("Enter")
        expect(preview).to_contain_text("••••••")
        expect(token_field).to_have_value("")
        expect(token_field).to_have_attribute("placeholder", "token set (••••••); paste another to replace it")
        assert TOKEN not in page.content() and TOKEN not in preview.inner_text()
        notebook.screenshot("browser-05-oauth-token.png", playground)
        assert notebook.dialogs == []
    finally:
        notebook.close()


def test_hostile_model_and_server_text_stays_text_in_jupyterlab(lab, browser):
    from playwright.sync_api import expect

    notebook = Notebook(browser, lab, "hostile.ipynb")
    try:
        notebook.run_all(".cb-playground .cb-run")
        page = notebook.page
        playground = page.locator(".cb-playground")
        hostile = playground.locator(".cb-connector-hostile_connector")
        hostile.locator("input[type='checkbox']").check()
        hostile.locator(".widget-toggle-button", has_text="include").click()
        expect(hostile.locator("select option")).to_have_text(["<img src=x onerror=alert('tool name')>"])
        hostile.locator("select").select_option(index=0)
        expect(playground.locator(".cb-tools-preview pre")).to_contain_text("onerror=alert('tool name')")
        hostile.locator("input[type='checkbox']").first.uncheck()  # back to the recorded request
        playground.locator(".cb-run").click()
        expect(playground.locator(".cb-output .cb-resp")).to_contain_text("Here is the report")
        page.wait_for_timeout(500)  # time for an injected handler (an image's onerror) to fire, if there were one

        controls = page.evaluate("[window.__control_script, window.__control_img, window.__control_widget]")
        assert controls == [1, 1, 1], "the positive controls did not run: this page would not catch an injection"
        assert page.evaluate("window.__pwned") is None
        assert notebook.dialogs == []
        rendered = page.locator(".cb-resp, .cb-playground")
        assert rendered.count() == 3  # the cell's response, the playground and the response inside it
        for index in range(rendered.count()):
            assert rendered.nth(index).locator(DANGEROUS).count() == 0
        response = rendered.first
        expect(response).to_contain_text("<script>window.__pwned=1;alert('script tag')</script>")
        expect(response).to_contain_text("<img src=x onerror=\"window.__pwned=1;alert('img onerror')\">")
        expect(response).to_contain_text("<a href=\"javascript:window.__pwned=1\">a raw link</a>")
        expect(playground).to_contain_text("<script>window.__pwned=1;alert('connector title')</script>")
        hrefs = page.eval_on_selector_all(".cb-resp a[href]", "links => links.map(a => a.getAttribute('href'))")
        assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
        notebook.screenshot("browser-hostile-cell.png", response)
        notebook.screenshot("browser-hostile-playground.png", playground)
    finally:
        notebook.close()
