"""``import cookbook`` needs no network and no key."""

from __future__ import annotations

import subprocess
import sys


def test_import_needs_no_network_and_no_key():
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise SystemExit('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import cookbook\n"
        "from cookbook import make_client\n"
        "print(make_client().cookbook.mode)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                            cwd="/tmp")
    assert result.stdout.strip() == "replay", result.stdout + result.stderr
