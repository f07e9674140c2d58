"""``import cookbook`` needs no network, no key, and loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["mistralai", "vcr", "yaml", "httpx2", "httpx", "IPython", "ipywidgets", "markdown_it", "pydantic"]


def test_import_is_light_and_offline():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise SystemExit('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import cookbook\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "", f"import cookbook loaded: {result.stdout.strip()}"
