"""Command-line tools compiled from their Go modules into the cache, once per version.

``go install`` runs with GOPATH, GOCACHE and GOMODCACHE inside the cache, so a second
run builds nothing and deleting the cache removes every trace. The binary is moved into
place by a rename only when complete, so an interrupted first run is simply repeated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pizza_infra.config import InfraError


@dataclass(frozen=True, slots=True)
class GoTool:
    name: str
    package: str
    version: str
    # Without the compiler's optimisations and inlining a big tool (Helm) compiles with a
    # third less CPU and still runs fast enough; a busy one keeps them.
    optimised: bool = True


def run_tool(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """``command``'s output; :class:`InfraError` with the end of its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise InfraError(f"{what} failed:\n{tail}")
    return result.stdout


def go_env(root: Path) -> dict[str, str]:
    go = root / "go"
    return {
        **os.environ,
        "GOPATH": str(go),
        "GOCACHE": str(go / "cache"),
        "GOMODCACHE": str(go / "pkg" / "mod"),
        # Writable module files: the cache can be deleted like any other folder.
        "GOFLAGS": "-buildvcs=false -modcacherw",
        # Pure Go: static binaries, and no C compiler run during the build.
        "CGO_ENABLED": "0",
    }


def go() -> str:
    found = shutil.which("go")
    if found is None:
        raise InfraError(
            "Go is needed to build the project's tools from their modules; install it "
            "(Debian/Ubuntu: apt-get install golang) and run again."
        )
    return found


def go_tool(tool: GoTool, root: Path) -> Path:
    """The tool's binary under ``root``, compiled on first use."""
    target = root / "bin" / f"{tool.name}-{tool.version}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        flags = ["-trimpath", "-ldflags=-s -w"] + ([] if tool.optimised else ["-gcflags=all=-N -l"])
        run_tool(
            [go(), "install", *flags, f"{tool.package}@{tool.version}"],
            f"building {tool.name} {tool.version}",
            env={**go_env(root), "GOBIN": staging},
        )
        os.replace(Path(staging) / tool.name, target)
    return target
