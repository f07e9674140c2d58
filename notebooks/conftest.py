"""nbval runs the notebooks offline: replay mode, whatever key the machine has."""

import os

os.environ["COOKBOOK_MODE"] = "replay"
