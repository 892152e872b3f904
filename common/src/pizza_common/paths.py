"""Where the checkout is and where run-time files go."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def var_dir() -> Path:
    """Data, logs and downloads: ``PIZZA_VAR_DIR``, else ``var/`` in the checkout (git-ignored)."""
    return Path(os.environ.get("PIZZA_VAR_DIR") or REPO_ROOT / "var")
