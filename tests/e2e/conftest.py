"""The whole platform started as a user starts it (`just up`), on ports of its own.

Ports are the defaults plus PIZZA_E2E_PORT_OFFSET (20000), data lives in a temporary
folder, and cooking and driving take no time, so the demos run in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.supervisor.services import shifted_platform_env
from tests import REPO_ROOT


@dataclass(frozen=True)
class RunningPlatform:
    env: dict[str, str]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_PORT']}"

    def just(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["just", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )


def platform_env(var_dir: str) -> dict[str, str]:
    offset = int(os.environ.get("PIZZA_E2E_PORT_OFFSET", "20000"))
    return {
        **os.environ,
        **shifted_platform_env(offset, var_dir, str(InfraSettings().cache_dir)),
        "KITCHENS": "1",
        "KITCHEN_COOK_SECONDS": "0",
        "DELIVERY_DRIVE_SECONDS": "0",
        "PAYMENT_ERROR_RATE": "0",
        # Payment asks for the identity provider's keys again after 2 s, not 5 minutes:
        # the key rotation test sees a removed key refused at once.
        "PAYMENT_AUTH_JWKS_CACHE_S": "2",
    }


@pytest.fixture(scope="package")
def platform() -> Iterator[RunningPlatform]:
    var_dir = tempfile.mkdtemp(prefix="pizza-e2e-")
    running = RunningPlatform(platform_env(var_dir))
    started = running.just("up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield running
    finally:
        stopped = running.just("down")
        shutil.rmtree(var_dir, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
