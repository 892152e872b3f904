"""`KAFKA_NODES=3 just up`: a 3-node Kafka and two payment instances, as a user runs them.
One broker and one payment instance are killed while orders come in; every order is
accepted and delivered, and `just infra-up` brings the broker back.

The platform runs on ports of its own, beside the one of the other end-to-end tests: the
defaults plus PIZZA_E2E_HA_PORT_OFFSET (default: the e2e offset plus 500). Keep its
ports below the kernel's ephemeral range (32768 and up): there a busy machine's outgoing
connections may hold a port just when a broker wants to listen on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.supervisor.services import shifted_platform_env
from tests import REPO_ROOT
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e

ORDERS_PER_PHASE = 5


@pytest.fixture(scope="module")
def ha_platform() -> Iterator[RunningPlatform]:
    e2e_offset = int(os.environ.get("PIZZA_E2E_PORT_OFFSET", "20000"))
    offset = int(os.environ.get("PIZZA_E2E_HA_PORT_OFFSET", e2e_offset + 500))
    var_dir = tempfile.mkdtemp(prefix="pizza-e2e-ha-")
    env = {
        **os.environ,
        **shifted_platform_env(offset, var_dir, str(InfraSettings().cache_dir), kafka_nodes=3),
        "KITCHENS": "1",
        "KITCHEN_COOK_SECONDS": "0",
        "DELIVERY_DRIVE_SECONDS": "0",
        "PAYMENT_ERROR_RATE": "0",
    }
    running = RunningPlatform(env)
    started = running.just("up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield running
    finally:
        stopped = running.just("down")
        shutil.rmtree(var_dir, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def _ps(platform: RunningPlatform) -> dict[str, list[str]]:
    """instance -> its row of `just ps` (service, instance, pid, port, health, url)."""
    result = platform.just("ps")
    return {line.split()[1]: line.split() for line in result.stdout.splitlines()[1:] if line}


def _in_sync(platform: RunningPlatform) -> set[str]:
    rows = platform.just("topics").stdout.splitlines()[1:]
    return {row.split()[3] for row in rows if row}


def _until(
    what: str,
    probe: Callable[[], bool],
    why_not: Callable[[], str] = str,
    timeout_s: float = 120,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}: {why_not()}")
        time.sleep(1)


def _unhealthy(platform: RunningPlatform) -> list[str]:
    """The rows of `just ps` whose process is not healthy."""
    return [" ".join(row) for row in _ps(platform).values() if row[4] != "healthy"]


def _place_orders(platform: RunningPlatform) -> list[dict[str, str]]:
    """The 201 bodies of the orders placed (ids and tracking tokens)."""
    body = (REPO_ROOT / "docs" / "examples" / "order.json").read_text()
    accepted = []
    for n in range(ORDERS_PER_PHASE):
        answer = httpx.post(
            f"{platform.url('order')}/orders",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": f"ha-{time.time()}-{n}",
            },
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        accepted.append(answer.json())
    return accepted


def _delivered(platform: RunningPlatform, placed: dict[str, str]) -> bool:
    answer = httpx.get(
        f"{platform.url('delivery')}/orders/{placed['order_id']}",
        headers={"X-Tracking-Token": placed["tracking_token"]},
        timeout=5,
    )
    return answer.status_code == 200 and answer.json().get("status") == "delivered"


def test_one_broker_and_one_payment_instance_die_and_no_order_is_lost(
    ha_platform: RunningPlatform,
) -> None:
    ps = _ps(ha_platform)
    for instance in ("kafka-1", "kafka-2", "kafka-3", "payment-1", "payment-2"):
        assert ps[instance][4] == "healthy", ps
    assert _in_sync(ha_platform) == {"3"}
    orders = _place_orders(ha_platform)

    killed = ha_platform.just("broker", "stop", "2", "--kill")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    orders += _place_orders(ha_platform)
    os.kill(int(ps["payment-1"][2]), signal.SIGKILL)
    orders += _place_orders(ha_platform)
    _until("every order delivered", lambda: all(_delivered(ha_platform, o) for o in orders))

    up = ha_platform.just("infra-up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "started kafka-2" in up.stdout
    _until("every replica back in sync", lambda: _in_sync(ha_platform) == {"3"})
    # Consumers that lived through the outage start new clients once the broker is back,
    # and report not ready until those have joined their group again: wait for that.
    _until(
        "every process healthy again",
        lambda: not _unhealthy(ha_platform),
        lambda: f"not healthy: {_unhealthy(ha_platform)}",
    )
    after = _ps(ha_platform)
    assert after["payment-1"][2] != ps["payment-1"][2]  # circus replaced the killed one
    assert Path(ha_platform.env["PIZZA_VAR_DIR"], "run", "kafka-2.pid").exists()
