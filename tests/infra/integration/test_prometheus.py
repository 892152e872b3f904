"""The local Prometheus scrapes the platform's processes, and follows the kitchens through
its targets file (as `just scale` rewrites it)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.supervisor import prometheus
from pizza_infra.supervisor.services import PlatformSettings
from tests.conftest import infra_env
from tests.service_process import ServiceProcess, free_port

pytestmark = pytest.mark.integration

SERVER = prometheus.binary()


def _wait(what: str, probe: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def platform() -> PlatformSettings:
    ports = {
        name: free_port()
        for name in ("order", "payment", "delivery", "kitchen", "monitor", "board")
    }
    return PlatformSettings(
        order_port=ports["order"],
        payment_instance_port=ports["payment"],  # one instance, scraped on its own port
        payments=1,
        delivery_port=ports["delivery"],
        kitchen_port=ports["kitchen"],
        monitor_port=ports["monitor"],
        board_port=ports["board"],
        prometheus_port=free_port(),
    )


@pytest.fixture
def scraped(
    infra: InfraSettings, platform: PlatformSettings, tmp_path: Path
) -> Iterator[InfraSettings]:
    """Payment and the lag exporter running, and Prometheus scraping the platform's ports."""
    if SERVER is None:
        pytest.skip("prometheus is not installed (apt-get install -y prometheus)")
    own = infra.model_copy(update={"var_dir": tmp_path})
    env = {**infra_env(infra), "PIZZA_VAR_DIR": str(tmp_path)}
    started = [
        ServiceProcess(
            "payment_svc",
            platform.port("payment", 1),
            {**env, "PAYMENT_PORT": str(platform.port("payment", 1))},
            tmp_path / "payment.log",
        ).start(timeout_s=60),
        ServiceProcess(
            "pizza_infra.lag_exporter",
            platform.monitor_port,
            {
                **env,
                **infra_env(infra, "monitor"),
                "LAG_EXPORTER_PORT": str(platform.monitor_port),
                "PIZZA_VAR_DIR": str(tmp_path),
            },
            tmp_path / "exporter.log",
        ).start(),
    ]
    prometheus.write_targets(platform, own, kitchens=1)
    log = (tmp_path / "prometheus.log").open("wb")
    server = subprocess.Popen(
        prometheus.command(SERVER, platform, own), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait("prometheus to be ready", lambda: prometheus.healthy(platform))
        yield own
    finally:
        server.terminate()
        server.wait(20)
        log.close()
        for process in started:
            process.stop()


def targets(platform: PlatformSettings) -> dict[str, str]:
    """instance -> health of every active target."""
    answer = httpx.get(f"{prometheus.url(platform)}/api/v1/targets", timeout=5).json()
    return {t["labels"]["instance"]: t["health"] for t in answer["data"]["activeTargets"]}


def test_prometheus_scrapes_the_platform_and_follows_the_kitchens(
    platform: PlatformSettings, scraped: InfraSettings
) -> None:
    expected = {"order_svc", "payment-1", "delivery_svc", "kitchen-1", "lag-exporter", "board_svc"}
    found = _wait(
        "every target scraped once",
        lambda: (
            (t := targets(platform)).keys() == expected
            and all(h != "unknown" for h in t.values())
            and t
        ),
    )
    # Only payment and the exporter run here: the others must show as down, not vanish.
    assert found == {
        "order_svc": "down",
        "payment-1": "up",
        "delivery_svc": "down",
        "kitchen-1": "down",
        "lag-exporter": "up",
        "board_svc": "down",
    }
    query = f"{prometheus.url(platform)}/api/v1/query"
    lag = httpx.get(query, params={"query": "pizza_consumer_lag"}, timeout=5).json()
    assert {series["metric"]["group"] for series in lag["data"]["result"]} == {
        "kitchen",
        "delivery",
    }

    prometheus.write_targets(platform, scraped, kitchens=2)
    _wait("kitchen-2 to become a target", lambda: "kitchen-2" in targets(platform))
