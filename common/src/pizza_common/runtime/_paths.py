"""Where a process keeps its run-time files."""

from __future__ import annotations

import os
from pathlib import Path


def var_dir() -> Path:
    """Data, logs and downloads: ``PIZZA_VAR_DIR``, else ``var/`` in the working directory
    (the repository's, git-ignored, when started from a checkout)."""
    return Path(os.environ.get("PIZZA_VAR_DIR") or "var").absolute()
