"""Finding a Java runtime that is new enough for each server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pizza_infra.config import InfraError

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major_version(java: Path) -> int | None:
    """The feature version of ``java`` (8, 17, 21, ...), or None if it does not run."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = _VERSION.search(result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates() -> list[Path]:
    found: list[Path] = []
    if home := os.environ.get("JAVA_HOME"):
        found.append(Path(home) / "bin" / "java")
    if on_path := shutil.which("java"):
        found.append(Path(on_path))
    # Where Debian's and Temurin's packages install JDKs side by side.
    found.extend(sorted(Path("/usr/lib/jvm").glob("*/bin/java")))
    return [path for path in found if path.exists()]


def find_java(minimum: int, needed_by: str) -> Path:
    """The first Java (JAVA_HOME, then PATH, then installed JDKs) of at least ``minimum``."""
    seen: list[str] = []
    for java in _candidates():
        version = java_major_version(java)
        if version is not None and version >= minimum:
            return java
        seen.append(f"{java} ({version or 'unknown'})")
    found = f" Found only: {', '.join(seen)}." if seen else " No Java was found."
    raise InfraError(
        f"{needed_by} needs Java {minimum} or newer.{found} "
        f"Install a JDK {minimum}+ (e.g. Debian's openjdk or Temurin) and set JAVA_HOME to it."
    )
