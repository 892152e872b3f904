"""Secrets a process keeps for itself when its environment gives none."""

from __future__ import annotations

import contextlib
import os
import secrets

from pizza_common.runtime._paths import var_dir


def local_secret(name: str) -> str:
    """``var/secrets/<name>.secret``, generated the first time (mode 0600; two processes
    starting at once get the same one): stable across restarts and shared by the
    instances of a service on this machine."""
    path = var_dir() / "secrets" / f"{name}.secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        # Written in full under a name of its own, then linked into place: a process
        # starting meanwhile never reads a half-written secret.
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()
