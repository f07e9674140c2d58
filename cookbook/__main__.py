"""``python -m cookbook``: the ``cookbook`` command (``list``, ``run``, ``record``, ``check``)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
