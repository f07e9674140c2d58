"""``python -m cookbook``: the same as the ``cookbook`` command (``list``, ``run``, ``record``, ``check``)."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
