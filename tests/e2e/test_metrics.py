"""The platform's monitoring as a user sees it: the monitor in `just ps`, lag as metrics,
and (when installed) Prometheus scraping every process."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pizza_infra.supervisor import prometheus
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e


def test_ps_lists_the_monitor_and_the_exporter_serves_lag(platform: RunningPlatform) -> None:
    ps = platform.just("ps")
    assert ps.returncode == 0, ps.stdout + ps.stderr
    [monitor] = [line for line in ps.stdout.splitlines() if line.startswith("monitor ")]
    assert "lag-exporter" in monitor
    assert "healthy" in monitor

    port = platform.env["LAG_EXPORTER_PORT"]
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=15)
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    groups = {s.labels["group"] for s in families["pizza_consumer_lag"].samples}
    assert groups == {"kitchen", "delivery"}


@pytest.mark.skipif(prometheus.binary() is None, reason="prometheus is not installed")
def test_prometheus_scrapes_every_process(platform: RunningPlatform) -> None:
    url = f"http://127.0.0.1:{platform.env['PROMETHEUS_PORT']}/api/v1/targets"
    wanted = {
        "order_svc",
        "payment-1",
        "payment-2",
        "delivery_svc",
        "kitchen-1",
        "lag-exporter",
        "board_svc",
    }
    deadline = time.monotonic() + 60
    health: dict[str, str] = {}
    while time.monotonic() < deadline:
        targets = httpx.get(url, timeout=5).json()["data"]["activeTargets"]
        health = {t["labels"]["instance"]: t["health"] for t in targets}
        if health.keys() == wanted and set(health.values()) == {"up"}:
            break
        time.sleep(1)
    assert health == dict.fromkeys(wanted, "up")
