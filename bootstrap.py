#!/usr/bin/env python3
"""Set up the cookbook in ./.venv from nothing but Python 3.11 or newer (standard library only).

    python3 bootstrap.py && .venv/bin/cookbook run                # the cookbook
    python3 bootstrap.py --test && .venv/bin/python -m pytest     # the cookbook and what its tests need

1. Checks the Python running it (3.11 or newer; otherwise says what to install and stops).
2. Creates the virtual environment .venv/ with this Python's venv module, so a system Python marked
   externally managed (Debian 12, Ubuntu 23.04 and later) and whatever is installed outside .venv stay out.
   Where this Python has no ensurepip (Debian and Ubuntu without the python3-venv package), the environment
   is made without pip, and pip's wheel is fetched from the package index (PyPI, or PIP_INDEX_URL) and
   installs itself from that file.
3. Installs the cookbook into it with pip: ``pip install -e .``, or ``-e '.[test]'`` with --test.

Run again, it finds the environment in place (same Python, same pyproject.toml, the extras asked for) and
returns at once; after a change to pyproject.toml it installs again. Delete .venv/ to start over.

This file is written so that any Python, old ones included, can read it far enough to say what is missing.
"""

from __future__ import print_function

import hashlib
import json
import os
import re
import subprocess
import sys

MIN_PYTHON = (3, 11)  # pyproject.toml's requires-python (tests/test_readme.py checks they agree)
ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = ".venv"
STAMP = ".cookbook-bootstrap.json"  # inside .venv: what was installed, from which pyproject.toml
DEFAULT_INDEX = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"  # PEP 691; PEP 503's HTML page is read too


def say(message):
    print("bootstrap: " + message, file=sys.stderr)
    sys.stderr.flush()


class BootstrapError(Exception):
    """A step failed; the message says which and what to do."""


# ------------------------------------------------------------------ the Python running this


def python_problem(version_info, executable):
    """None when this Python will do, else the message that says what to install."""
    if tuple(version_info[:2]) >= MIN_PYTHON:
        return None
    need = "%d.%d" % MIN_PYTHON
    return (
        "the cookbook needs Python {need} or newer; this is Python {have} ({exe}).\n"
        "Install Python {need}+ and run this script with it (python3.11 bootstrap.py, python3.12 ..., "
        "or python3 once it is new enough):\n"
        "  - Debian 12 / Ubuntu 24.04 and later: their python3 is new enough (sudo apt install python3);\n"
        "  - elsewhere: python.org, your system's packages (e.g. python3.11), pyenv, "
        "or uv (uv python install {need})."
    ).format(need=need, have=".".join(str(part) for part in version_info[:3]), exe=executable)


def has_ensurepip():
    """Whether this Python can put pip into a new environment by itself (Debian moves ensurepip to python3-venv)."""
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------ the virtual environment


def venv_python(venv):
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def _output(command, **kwargs):
    """(exit status, stdout+stderr) of a command; a missing program counts as a failure."""
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, **kwargs)
    except OSError as error:
        return 127, str(error)
    return result.returncode, result.stdout


def venv_version(venv):
    """The (major, minor) of the environment's Python, or None when there is no working one."""
    return python_version_of(venv_python(venv))


def python_version_of(python):
    code, out = _output([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    if code != 0:
        return None
    try:
        major, minor = out.strip().splitlines()[-1].split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def create_venv(venv, with_pip):
    """A new environment in ``venv`` (anything there before is cleared); False when venv refused."""
    command = [sys.executable, "-m", "venv", "--clear"] + ([] if with_pip else ["--without-pip"]) + [venv]
    code, out = _output(command)
    if code != 0:
        say("python -m venv%s failed:\n%s" % ("" if with_pip else " --without-pip", out.strip()))
        return False
    with open(os.path.join(venv, ".gitignore"), "w") as ignore:  # as Python 3.13's venv and uv write it
        ignore.write("# created by bootstrap.py\n*\n")
    return True


def has_pip(python):
    return _output([python, "-m", "pip", "--version"])[0] == 0


def ensure_pip(python, index_url=None):
    """Pip in the environment of ``python``: there already, from ensurepip, or from the index's wheel."""
    if has_pip(python):
        return
    index_url = index_url or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    if has_ensurepip():
        code, out = _output([python, "-m", "ensurepip", "--default-pip"])
        if code == 0 and has_pip(python):
            return
        say("ensurepip failed, fetching pip from %s instead:\n%s" % (index_url, out.strip()))
    else:
        say("this Python has no ensurepip: fetching pip from %s" % index_url)
    found = find_pip_wheel(index_url, python_version=python_version_of(python) or sys.version_info[:2])
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bootstrap-pip-") as folder:
        wheel = download(found["url"], os.path.join(folder, found["filename"]), found.get("sha256"))
        # pip runs from its own wheel (a zip file Python can import from) and installs that same file.
        code, out = _output([python, os.path.join(wheel, "pip"), "install", "--no-index", "--no-deps",
                             "--disable-pip-version-check", "--quiet", wheel])
        if code != 0 or not has_pip(python):
            raise BootstrapError("pip did not install itself from %s:\n%s" % (found["url"], out.strip()))
    say("pip %s installed from %s" % (found["version"], found["url"]))


# ------------------------------------------------------------------ pip's wheel from a package index


def _version_key(text):
    return tuple(int(part) for part in text.split("."))


def requires_python_ok(spec, python_version):
    """Whether ``python_version`` (a tuple) satisfies a Requires-Python value such as '>=3.9' or
    '>=2.7,!=3.0.*'; a clause this cannot read counts as satisfied (pip itself checks again)."""
    if not spec:
        return True
    have = tuple(python_version) + (0,) * 3
    for clause in spec.split(","):
        match = re.match(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*$", clause)
        if not match:
            continue
        op, number, wildcard = match.groups()
        want = _version_key(number)
        if wildcard:
            same = tuple(have[:len(want)]) == want
            if (op == "==" and not same) or (op == "!=" and same):
                return False
            continue
        width = max(len(want), 3)
        a, b = tuple(have[:width]), want + (0,) * (width - len(want))
        ok = {"==": a == b, "===": a == b, "!=": a != b, "<=": a <= b, ">=": a >= b, "<": a < b, ">": a > b,
              "~=": a >= b and a[:len(want) - 1] == want[:len(want) - 1]}[op]
        if not ok:
            return False
    return True


def _get(url, accept=None, timeout=60):
    import ssl
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    context = None
    if url.startswith("https:"):  # pip's own certificate setting, where one is given
        context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as reply:
            return reply.geturl(), reply.headers.get("Content-Type", ""), reply.read()
    except Exception as error:  # URLError, HTTPError, timeouts, TLS: all say the same to the reader
        raise BootstrapError("could not read %s: %s" % (url, error))


def _index_files(page_url, content_type, body):
    """The files a simple-index page lists: dicts with filename, url (absolute), sha256, requires-python, yanked."""
    from urllib.parse import urldefrag, urljoin

    text = body.decode("utf-8", "replace")
    files = []
    if "json" in content_type or text.lstrip().startswith("{"):
        for item in json.loads(text).get("files", []):
            files.append({"filename": item.get("filename", ""), "url": urljoin(page_url, item.get("url", "")),
                          "sha256": (item.get("hashes") or {}).get("sha256"),
                          "requires-python": item.get("requires-python"), "yanked": bool(item.get("yanked"))})
        return files
    from html.parser import HTMLParser

    class Anchors(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag != "a":
                return
            attrs = dict(attrs)
            if not attrs.get("href"):
                return
            url, fragment = urldefrag(urljoin(page_url, attrs["href"]))
            digest = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
            files.append({"filename": url.rsplit("/", 1)[-1], "url": url, "sha256": digest,
                          "requires-python": attrs.get("data-requires-python"),
                          "yanked": "data-yanked" in attrs})

    Anchors().feed(text)
    return files


def find_pip_wheel(index_url, python_version=None):
    """The newest release of pip as a pure-Python wheel that ``python_version`` may use, from a simple index
    (PEP 691 JSON or PEP 503 HTML): a dict with filename, url, sha256 and version."""
    python_version = tuple(python_version or sys.version_info[:2])
    page = index_url.rstrip("/") + "/pip/"
    page_url, content_type, body = _get(page, accept=SIMPLE_JSON + ", text/html;q=0.1")
    best = None
    for item in _index_files(page_url, content_type, body):
        match = re.match(r"pip-([0-9]+(?:\.[0-9]+)*)-(?:py3|py2\.py3)-none-any\.whl$", item["filename"])
        if not match or item["yanked"] or not requires_python_ok(item["requires-python"], python_version):
            continue
        item["version"] = match.group(1)
        if best is None or _version_key(item["version"]) > _version_key(best["version"]):
            best = item
    if best is None:
        raise BootstrapError("%s lists no pip wheel for Python %s" % (page, ".".join(map(str, python_version))))
    return best


def download(url, path, sha256=None):
    _, _, body = _get(url, timeout=300)
    if sha256 and hashlib.sha256(body).hexdigest() != sha256.lower():
        raise BootstrapError("%s does not match its sha256 %s" % (url, sha256))
    with open(path, "wb") as out:
        out.write(body)
    return path


# ------------------------------------------------------------------ the cookbook


def pyproject_digest(root):
    with open(os.path.join(root, "pyproject.toml"), "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()


def read_stamp(venv):
    try:
        with open(os.path.join(venv, STAMP)) as source:
            return json.load(source)
    except (OSError, ValueError):
        return None


def up_to_date(root, venv, extras):
    stamp = read_stamp(venv)
    return bool(
        stamp and stamp.get("root") == root and stamp.get("pyproject") == pyproject_digest(root)
        and set(extras) <= set(stamp.get("extras", [])) and venv_version(venv) == tuple(stamp.get("python", ()))
        and os.path.isfile(venv_python(venv))
    )


def bootstrap(root=ROOT, extras=(), index_url=None):
    """Make ``root``/.venv hold the project of ``root`` (with ``extras``); return the environment's Python."""
    venv = os.path.join(root, VENV)
    if up_to_date(root, venv, extras):
        say("%s is up to date (delete it to start over)" % VENV)
        return venv_python(venv)
    stamp = read_stamp(venv)
    version = venv_version(venv)
    if os.path.exists(venv) and not os.path.isdir(venv):
        raise BootstrapError("%s is not a folder: move it away and run this again" % venv)
    if version is None or version < MIN_PYTHON or (stamp and stamp.get("root") != root):
        say("creating %s with Python %s (%s)" % (VENV, ".".join(map(str, sys.version_info[:3])), sys.executable))
        if not (has_ensurepip() and create_venv(venv, with_pip=True)):
            if not create_venv(venv, with_pip=False):
                raise BootstrapError("could not create %s with %s -m venv" % (venv, sys.executable))
    python = venv_python(venv)
    ensure_pip(python, index_url=index_url)
    target = ".[%s]" % ",".join(extras) if extras else "."
    say("installing the cookbook into %s: pip install -e '%s' (a minute or two the first time)" % (VENV, target))
    try:
        os.remove(os.path.join(venv, STAMP))  # until the install below has succeeded
    except OSError:
        pass
    code = subprocess.call([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-e", target],
                           cwd=root)
    if code != 0:
        raise BootstrapError("pip install -e '%s' failed (exit status %d): see pip's message above" % (target, code))
    with open(os.path.join(venv, STAMP), "w") as out:
        json.dump({"root": root, "pyproject": pyproject_digest(root), "extras": sorted(extras),
                   "python": list(venv_version(venv) or ())}, out)
    return python


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Create .venv/ and install the cookbook into it.")
    parser.add_argument("--test", action="store_true", help="also install what the tests need (the 'test' extra)")
    args = parser.parse_args(argv)
    problem = python_problem(sys.version_info, sys.executable)
    if problem:
        say(problem)
        return 3
    try:
        bootstrap(extras=("test",) if args.test else ())
    except BootstrapError as error:
        say(str(error))
        return 1
    say("ready: " + (".venv/bin/python -m pytest" if args.test else ".venv/bin/cookbook run"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
