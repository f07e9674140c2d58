"""Binder: what repo2docker builds from ``binder/``, and a fresh environment built from those files alone.

No Docker engine is needed (nor available in CI): ``repo2docker --no-build`` writes the Dockerfile it would
build, and the tests read it. The build itself is reproduced outside Docker: a new virtual environment (no
system site-packages), ``binder/requirements.txt`` installed into it, ``binder/postBuild``, then every recipe
through ``binder/start`` as Binder would run it, and JupyterLab serving the launch URL. That needs PyPI, or
uv's cache holding the pinned wheels. Differences from Binder itself: Python is this interpreter, not
repo2docker's conda Python 3.11; the Jupyter packages come from the pins alone, not on top of repo2docker's
base environment; and uv installs the requirements where repo2docker runs pip (the same pinned wheels, in
seconds rather than a minute; ``pip check`` then checks what was installed, and postBuild runs its own pip).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
REPO2DOCKER = "jupyter-repo2docker==2026.4.0"
LAUNCH_PATH = "notebooks/01_hello_world.ipynb"  # the Binder badge's urlpath=lab/tree/<this>
SLUGS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def pins() -> dict[str, Requirement]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line.split("#", 1)[0]) for line in lines if line.split("#", 1)[0].strip()]
    return {canonical(r.name): r for r in reqs}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


# ------------------------------------------------------------------ the files, read as they are


def test_requirements_pin_every_runtime_dependency_within_pyproject_ranges():
    pinned = pins()
    for requirement in map(Requirement, project()["dependencies"]):
        name = canonical(requirement.name)
        assert name in pinned, f"binder/requirements.txt does not pin {requirement.name}"
        (spec,) = pinned[name].specifier
        assert spec.operator == "==", f"{name} is not pinned exactly: {spec}"
        assert requirement.specifier.contains(Version(spec.version)), f"{name}=={spec.version} is not {requirement}"
    for extra in ("nbconvert", "tqdm"):  # what `cookbook run` imports itself
        assert extra in pinned


def test_runtime_is_a_python_that_pyproject_allows():
    (line,) = (BINDER / "runtime.txt").read_text().split()
    version = re.fullmatch(r"python-(3\.\d+)", line).group(1)
    assert SpecifierSet(project()["requires-python"]).contains(Version(version))


def test_binder_scripts_are_executable_bash():
    for name in ("postBuild", "start"):
        path = BINDER / name
        assert os.access(path, os.X_OK), f"binder/{name} is not executable"
        assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert "pip install --no-cache-dir --no-deps -e ." in (BINDER / "postBuild").read_text()
    assert (ROOT / LAUNCH_PATH).is_file()


def _start(*command: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("MISTRAL_API_KEY", "COOKBOOK_MODE")}
    return subprocess.run([str(BINDER / "start"), *command], capture_output=True, text=True, env={**base, **env})


def test_start_defaults_to_replay_only_when_no_key_is_set():
    show = ("sh", "-c", 'echo "${COOKBOOK_MODE-unset}"')
    assert _start(*show).stdout == "replay\n"
    assert _start(*show, COOKBOOK_MODE="record").stdout == "record\n"  # an explicit mode is kept
    assert _start(*show, MISTRAL_API_KEY="sk-test").stdout == "unset\n"  # with a key: the usual rules
    assert _start(*show, MISTRAL_API_KEY="").stdout == "replay\n"  # an empty key is no key
    result = _start("sh", "-c", 'echo "$0 $1"; exit 7', "a b", "c")  # arguments and exit status pass through
    assert (result.stdout, result.returncode) == ("a b c\n", 7)


# ------------------------------------------------------------------ fresh environments (module fixtures)


def _copy_checkout(target: Path) -> Path:
    """The working tree as a clone would hold it (tracked and new files; nothing ignored, no .git)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _venv(path: Path) -> Path:
    """A virtual environment of this Python with pip in it (uv makes it: ``python -m venv`` takes seconds)."""
    subprocess.run([sys.executable, "-m", "uv", "venv", "--quiet", "--seed", "--python", sys.executable, str(path)],
                   check=True)
    assert "include-system-site-packages = false" in (path / "pyvenv.cfg").read_text()
    return path / "bin"


def _install(bin_dir: Path, *args: str, cwd: Path | None = None) -> None:
    """``pip install ARGS`` into the venv, done by uv: the same pins and wheels from PyPI, resolved and
    unpacked in a few seconds instead of about a minute of pip (``pip check`` still checks the result)."""
    command = [sys.executable, "-m", "uv", "pip", "install", "--python", str(bin_dir / "python"), *args]
    result = subprocess.run(command, cwd=cwd, env={**os.environ, "UV_NO_PROGRESS": "1"},
                            capture_output=True, text=True)
    said = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"uv pip install {' '.join(args)} failed:\n{said}"


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A virtual environment built the way repo2docker builds the image: requirements, then postBuild."""
    base = tmp_path_factory.mktemp("binder")
    repo = _copy_checkout(base / "repo")
    timings = {}
    started = time.monotonic()
    bin_dir = _venv(base / "venv")
    timings["venv"] = time.monotonic() - started
    _install(bin_dir, "-r", "binder/requirements.txt", cwd=repo)
    timings["requirements"] = time.monotonic() - started - sum(timings.values())
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    build = subprocess.run([str(repo / "binder" / "postBuild")], cwd=repo, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    timings["postBuild"] = time.monotonic() - started - sum(timings.values())
    # what a Binder session sees: the image's PATH, a home with no Jupyter or pip settings, no key, no mode
    home = base / "home"
    home.mkdir()
    session = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "TMPDIR": str(base),
    }
    return {"repo": repo, "bin": bin_dir, "session": session, "timings": timings, "base": base}


def _in_session(binder_env, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(binder_env["repo"] / "binder" / "start"), *command], cwd=binder_env["repo"],
                          env=binder_env["session"], capture_output=True, text=True, timeout=timeout)


def test_the_binder_environment_is_fresh_consistent_and_holds_the_checkout(binder_env):
    check = subprocess.run([str(binder_env["bin"] / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # the pins satisfy pyproject's dependencies, transitively too
    where = _in_session(binder_env, "python", "-c",
                        "import sys, site, cookbook; print(sys.prefix); print(cookbook.__file__); "
                        "print(any('site-packages' in p and not p.startswith(sys.prefix) for p in sys.path))")
    prefix, module, outside = where.stdout.split()
    assert prefix == str(binder_env["base"] / "venv")
    assert module == str(binder_env["repo"] / "cookbook" / "__init__.py")  # editable: the checked-out package
    assert outside == "False"  # nothing from this machine's site-packages
    print(f"\nbinder venv build: {json.dumps({k: round(v, 1) for k, v in binder_env['timings'].items()})}")


def test_every_recipe_runs_in_replay_from_the_binder_environment(binder_env):
    out = binder_env["base"] / "run"
    started = time.monotonic()
    result = _in_session(binder_env, "cookbook", "run", "--jobs", "2", "--out", str(out))
    print(f"\ncookbook run in the binder venv: {time.monotonic() - started:.1f}s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in replay mode (from COOKBOOK_MODE)" in result.stdout  # binder/start chose it: no key here
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["recipe"], r["status"]) for r in summary["results"]] == [(slug, "ok") for slug in SLUGS]
    assert all(r["answer"] for r in summary["results"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyterlab_from_the_binder_environment_serves_the_launch_notebook(binder_env):
    port = _free_port()
    log = (binder_env["base"] / "jupyterlab.log").open("w+")
    server = subprocess.Popen(
        [str(binder_env["repo"] / "binder" / "start"), "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--IdentityProvider.token=", f"--ServerApp.root_dir={binder_env['repo']}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # Binder runs as jovyan; CI containers may be root
        cwd=binder_env["repo"], env=binder_env["session"], stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    server.wait()
                    log.seek(0)
                    pytest.fail(f"JupyterLab did not start:\n{log.read()[-3000:]}")
                time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/lab/tree/{LAUNCH_PATH}", timeout=10) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        with urllib.request.urlopen(f"{base}/api/contents/{LAUNCH_PATH}?content=0", timeout=10) as reply:
            assert json.load(reply)["type"] == "notebook"
        with urllib.request.urlopen(f"{base}/api/kernelspecs", timeout=10) as reply:
            specs = json.load(reply)
        assert specs["default"] == "python3"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


# ------------------------------------------------------------------ repo2docker, without building


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory):
    """The Dockerfile repo2docker would build for this checkout (``--no-build --debug`` needs no Docker engine)."""
    base = tmp_path_factory.mktemp("repo2docker")
    bin_dir = _venv(base / "venv")
    _install(bin_dir, REPO2DOCKER)
    repo = _copy_checkout(base / "repo")
    result = subprocess.run(
        [str(bin_dir / "repo2docker"), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan",
         str(repo)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_repo2docker_builds_python_3_11_with_the_requirements_then_postbuild_then_start(dockerfile):
    assert "Building conda environment for python=3.11" in dockerfile  # binder/runtime.txt
    assert "ENV KERNEL_PYTHON_PREFIX=${NB_PYTHON_PREFIX}" in dockerfile  # one environment: server and kernel
    steps = [
        'RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"',
        "COPY --chown=1000:1000 src/ ${REPO_DIR}/",
        "RUN ./binder/postBuild",
        'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"',
    ]
    at = [dockerfile.find(step) for step in steps]
    assert -1 not in at and at == sorted(at), dict(zip(steps, at, strict=True))
