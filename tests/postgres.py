"""A real PostgreSQL server for the tests, on loopback, from the machine's installation
(Debian's ``postgresql`` package; `.ci/run` installs it). Tests that need it skip with a
clear reason where it is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.service_process import free_port

USER = "pizza"


@dataclass(frozen=True)
class PostgresServer:
    bindir: Path
    port: int

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy asyncpg URL."""
        self.run("createdb", name)
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{name}"

    def query(self, database: str, sql: str) -> str:
        return self.run("psql", "-d", database, "-tAc", sql).strip()

    def run(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            [str(self.bindir / tool), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, *args],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return result.stdout


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))  # Debian's layout
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="pizza-pg-"))
    # PostgreSQL refuses to run as root: then it runs as the package's postgres user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()

    def ctl(*args: str) -> None:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), *args],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER,
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    ctl("-w", "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    try:
        yield PostgresServer(bindir, port)
    finally:
        ctl("-w", "-m", "fast", "stop")
        shutil.rmtree(folder, ignore_errors=True)
