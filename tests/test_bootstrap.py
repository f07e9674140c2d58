"""bootstrap.py: the README's set-up, from a Python with nothing installed.

The path a stock Debian or Ubuntu Python takes (no ensurepip: the environment is made without pip, and pip's own
wheel is fetched from the index and installs itself) runs here for real, with no network: a package index on
127.0.0.1 serves the pip wheel this Python bundles for ensurepip, and a small project with a build backend of its
own (so nothing else is needed from an index) stands in for the cookbook. The cookbook's own install, the path
with ensurepip, is what CI does first (.ci/run).
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", ROOT / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = load_bootstrap()


def bundled_pip_wheel() -> Path:
    """The pip wheel this Python's ensurepip carries (Debian's python3 has none: then this test cannot run)."""
    try:
        import ensurepip
    except ImportError:
        pytest.skip("this Python has no ensurepip, so no pip wheel to serve")
    wheels = sorted(Path(ensurepip.__file__).parent.glob("_bundled/pip-*-py3-none-any.whl"))
    if not wheels:
        pytest.skip("this Python's ensurepip carries no pip wheel")
    return wheels[-1]


# ------------------------------------------------------------------ a package index on 127.0.0.1


class Index:
    """A simple package index (PEP 691 JSON when asked for it, PEP 503 HTML otherwise) serving local files."""

    def __init__(self, projects: dict[str, list[dict]], files: dict[str, bytes]):
        self.projects, self.files, self.requests = projects, files, []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                index.requests.append((self.path, self.headers.get("Accept", "")))
                match = re.fullmatch(r"/simple/([^/]+)/", self.path)
                if match and match.group(1) in index.projects:
                    entries = index.projects[match.group(1)]
                    if "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""):
                        body = json.dumps({"meta": {"api-version": "1.0"}, "name": match.group(1), "files": [
                            {"filename": e["filename"], "url": e["url"], "hashes": {"sha256": e["sha256"]},
                             "requires-python": e.get("requires-python"), "yanked": e.get("yanked", False)}
                            for e in entries]}).encode()
                        return self._send(body, "application/vnd.pypi.simple.v1+json")
                    anchors = []
                    for e in entries:
                        attrs = f' href="{e["url"]}#sha256={e["sha256"]}"'
                        if e.get("requires-python"):
                            attrs += f' data-requires-python="{e["requires-python"].replace(">", "&gt;")}"'
                        if e.get("yanked"):
                            attrs += ' data-yanked=""'
                        anchors.append(f"<a{attrs}>{e['filename']}</a><br>")
                    return self._send(f"<!DOCTYPE html><html><body>{''.join(anchors)}</body></html>".encode(),
                                      "text/html")
                if self.path in index.files:
                    return self._send(index.files[self.path], "application/octet-stream")
                self.send_error(404)

            def _send(self, body: bytes, content_type: str):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def pip_index(wheel: bytes, version: str = "23.2.1") -> Index:
    """pip's page as PyPI's looks: releases to skip (too new a Python, yanked, a pre-release, an sdist) around the
    one to take, served from a folder given by a relative URL."""
    digest = hashlib.sha256(wheel).hexdigest()
    decoy = b"not this one"
    decoy_digest = hashlib.sha256(decoy).hexdigest()
    entries = [
        {"filename": "pip-22.0-py3-none-any.whl", "url": "/files/pip-22.0-py3-none-any.whl", "sha256": decoy_digest,
         "requires-python": ">=3.7"},
        {"filename": f"pip-{version}-py3-none-any.whl", "url": f"../../files/pip-{version}-py3-none-any.whl",
         "sha256": digest, "requires-python": ">=3.7"},
        {"filename": "pip-24.1.tar.gz", "url": "/files/pip-24.1.tar.gz", "sha256": decoy_digest},
        {"filename": "pip-25.0-py3-none-any.whl", "url": "/files/pip-25.0-py3-none-any.whl", "sha256": decoy_digest,
         "yanked": True},
        {"filename": "pip-26.0b1-py3-none-any.whl", "url": "/files/pip-26.0b1-py3-none-any.whl",
         "sha256": decoy_digest},
        {"filename": "pip-99.0-py3-none-any.whl", "url": "/files/pip-99.0-py3-none-any.whl", "sha256": decoy_digest,
         "requires-python": ">=3.99"},
    ]
    files = {f"/files/{e['filename']}": decoy for e in entries}
    files[f"/files/pip-{version}-py3-none-any.whl"] = wheel
    return Index({"pip": entries}, files)


@pytest.fixture
def index():
    wheel = bundled_pip_wheel()
    version = wheel.name.split("-")[1]
    served = pip_index(wheel.read_bytes(), version)
    served.version, served.wheel = version, wheel
    yield served
    served.close()


# ------------------------------------------------------------------ the parts


def test_a_python_older_than_3_11_is_told_what_to_install():
    message = bootstrap.python_problem((3, 10, 13, "final", 0), "/usr/bin/python3")
    assert message.startswith("the cookbook needs Python 3.11 or newer; this is Python 3.10.13 (/usr/bin/python3)")
    assert "uv python install 3.11" in message and "python.org" in message
    assert bootstrap.python_problem(sys.version_info, sys.executable) is None  # this one will do


def test_an_older_python_reads_the_script_far_enough_to_say_so(tmp_path):
    """The script parses on old Pythons (no f-strings): run it with the older ones this machine has, if any."""
    candidates = {shutil.which(f"python3.{minor}") for minor in range(6, 11)}
    candidates |= {str(p) for p in Path.home().glob(".pyenv/versions/*/bin/python")}
    olds = []
    for candidate in sorted(filter(None, candidates)):
        said = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[0] * 100 + sys.version_info[1])"],
                              capture_output=True, text=True)
        if said.returncode == 0 and int(said.stdout) < 311:
            olds.append(candidate)
    if not olds:
        pytest.skip("no Python older than 3.11 on this machine")
    shutil.copy2(ROOT / "bootstrap.py", tmp_path / "bootstrap.py")
    (tmp_path / "pyproject.toml").write_text("")
    for old in olds:
        result = subprocess.run([old, "bootstrap.py", "--test"], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 3, (old, result.stderr)
        assert "the cookbook needs Python 3.11 or newer; this is Python " in result.stderr, (old, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bootstrap.py", "pyproject.toml"]  # no .venv made


def test_requires_python_is_read_as_pip_reads_it():
    ok = bootstrap.requires_python_ok
    assert ok(None, (3, 11)) and ok("", (3, 11)) and ok(">=3.9", (3, 11)) and ok(">=3.11", (3, 11))
    assert not ok(">=3.12", (3, 11)) and not ok("<3.11", (3, 11)) and ok(">3.10", (3, 11))
    assert ok(">=2.7,!=3.0.*,!=3.1.*,!=3.2.*", (3, 11)) and not ok(">=2.7,!=3.11.*", (3, 11))
    assert ok("==3.*", (3, 11)) and not ok("==2.*", (3, 11)) and ok("~=3.8", (3, 11)) and not ok("~=3.8.1", (3, 11))


@pytest.mark.parametrize("page", ["json", "html"])
def test_the_newest_pip_wheel_this_python_may_use_is_found(index, page, monkeypatch):
    if page == "html":  # an index that knows no PEP 691 answers HTML whatever is asked
        monkeypatch.setattr(bootstrap, "SIMPLE_JSON", "text/html")
    found = bootstrap.find_pip_wheel(index.url, python_version=(3, 11))
    assert found["version"] == index.version  # not 26.0b1, yanked 25.0, the sdist, nor 99.0 (Python 3.99)
    assert found["url"] == f"{index.url.removesuffix('/simple/')}/files/pip-{index.version}-py3-none-any.whl"
    assert found["sha256"] == hashlib.sha256(index.wheel.read_bytes()).hexdigest()
    accepted = [accept for path, accept in index.requests if path == "/simple/pip/"]
    assert accepted and all(("json" in a) == (page == "json") for a in accepted)


def test_a_download_that_does_not_match_its_hash_is_refused(index, tmp_path):
    url = f"{index.url.removesuffix('/simple/')}/files/pip-22.0-py3-none-any.whl"
    with pytest.raises(bootstrap.BootstrapError, match="does not match its sha256"):
        bootstrap.download(url, str(tmp_path / "pip.whl"), sha256="0" * 64)
    assert not (tmp_path / "pip.whl").exists()


def test_an_index_without_pip_says_so(index):
    with pytest.raises(bootstrap.BootstrapError, match="lists no pip wheel for Python 2.6"):
        bootstrap.find_pip_wheel(index.url, python_version=(2, 6))  # every release asks for 3.7 or newer
    with pytest.raises(bootstrap.BootstrapError, match="could not read"):
        bootstrap.find_pip_wheel(index.url + "nothing/")


# ------------------------------------------------------------------ the whole script, without ensurepip

TINY_BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION = "tinyproj", "1.0"


def _wheel(directory, files):
    dist = NAME + "-" + VERSION + ".dist-info"
    files = dict(files)
    files[dist + "/METADATA"] = ("Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION
                                 + "\\nProvides-Extra: test\\n").encode()
    files[dist + "/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[dist + "/entry_points.txt"] = b"[console_scripts]\\ntinyproj = tinyproj:main\\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(path + ",sha256=" + digest + "," + str(len(data)))
    record.append(dist + "/RECORD,,")
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(dist + "/RECORD", "\\n".join(record) + "\\n")
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("tinyproj.py", "rb") as source:
        return _wheel(wheel_directory, {"tinyproj.py": source.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"tinyproj.pth": (os.path.abspath(".") + "\\n").encode()})
'''


def tiny_project(path: Path) -> Path:
    """A project like the cookbook to bootstrap.py's eyes (pyproject.toml, a console script, a 'test' extra),
    built by a backend of its own so that pip needs nothing from the index but pip."""
    path.mkdir()
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tinybackend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "tinyproj"\nversion = "1.0"\n'
    )
    (path / "tinybackend.py").write_text(TINY_BACKEND)
    (path / "tinyproj.py").write_text('def main():\n    print("tinyproj runs")\n')
    shutil.copy2(ROOT / "bootstrap.py", path / "bootstrap.py")
    return path


def run_bootstrap(project: Path, index: Index, *args: str) -> subprocess.CompletedProcess:
    """``python bootstrap.py ARGS`` as a Python without ensurepip runs it (Debian's without python3-venv), with
    pip pointed at the local index and at nothing else (no configuration files, no PIP_* settings of this machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PIP_INDEX_URL=index.url, PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(project.parent / "pip-cache"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    hide_ensurepip = ("import runpy, sys; sys.modules['ensurepip'] = None; sys.argv = ['bootstrap.py', *sys.argv[1:]]; "
                      "runpy.run_path('bootstrap.py', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", hide_ensurepip, *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)


def test_without_ensurepip_pip_comes_from_the_index_then_the_project_installs_once(index, tmp_path):
    project = tiny_project(tmp_path / "project")
    first = run_bootstrap(project, index, "--test")
    assert first.returncode == 0, first.stderr
    assert f"this Python has no ensurepip: fetching pip from {index.url}" in first.stderr
    assert f"pip {index.version} installed from" in first.stderr
    venv = project / ".venv"
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True, text=True)
    assert pip.stdout.startswith(f"pip {index.version} from {venv}")
    ran = subprocess.run([str(venv / "bin" / "tinyproj")], capture_output=True, text=True)
    assert ran.stdout == "tinyproj runs\n"  # installed, console script and all
    assert (venv / ".gitignore").read_text().endswith("*\n")
    fetched = [path for path, _ in index.requests]
    assert fetched.count("/simple/pip/") == 1 and f"/files/pip-{index.version}-py3-none-any.whl" in fetched

    # run again: nothing to do, nothing asked of the index, at once
    asked = len(index.requests)
    started = time.monotonic()
    for args in (("--test",), ()):  # the plain install is part of the test one
        again = run_bootstrap(project, index, *args)
        assert again.returncode == 0, again.stderr
        assert ".venv is up to date" in again.stderr and "installing" not in again.stderr
    assert time.monotonic() - started < 10
    assert len(index.requests) == asked

    # pyproject.toml changed: installed again into the same environment, pip already there
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write('description = "changed"\n')
    third = run_bootstrap(project, index)
    assert third.returncode == 0, third.stderr
    assert "installing the cookbook into .venv" in third.stderr
    assert "creating" not in third.stderr and "fetching pip" not in third.stderr
