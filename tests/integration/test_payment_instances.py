"""Payment as several instances behind one address, under the process manager: SIGKILL one
while requests flow and every request is still answered (after at most the client's
retries); `just stop payment` refuses connections at once, and `start` brings it back."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.platform import Platform
from pizza_infra.services import PlatformSettings

pytestmark = pytest.mark.integration

REQUESTS = 200
CONCURRENCY = 4
KILL_AFTER = 60  # answers before one instance is killed
ATTEMPTS = 4  # the client's retries: a connection lost, or the key still held by the dead one


@pytest.fixture
def payments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """circusd running only payment, 2 instances, on ports of this test's own."""
    offset = int(os.environ.get("PIZZA_TEST_PORT_OFFSET", "10000")) + 500
    env = {
        "PAYMENT_PORT": str(8002 + offset),
        "PAYMENT_INSTANCE_PORT": str(8021 + offset),
        "PAYMENTS": "2",
        "CIRCUS_PORT": str(5555 + offset),
        "PIZZA_VAR_DIR": str(tmp_path),
        "PAYMENT_ERROR_RATE": "0",
        "PAYMENT_LATENCY_MS": "20-80",
        # A request killed with its instance leaves its key claimed: taken over after 1 s.
        "PAYMENT_STALE_CLAIM_S": "1",
        "OTEL_TRACES_EXPORTER": "none",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    platform = Platform(PlatformSettings(), InfraSettings())
    platform.start_manager(services=["payment"])
    try:
        platform.wait_healthy(["payment"])
        yield platform
    finally:
        platform.quit()


@dataclass
class Tally:
    answered: dict[str, int] = field(default_factory=dict)  # key -> final status
    payment_ids: set[str] = field(default_factory=set)
    retries: int = 0


async def _pay(client: httpx.AsyncClient, key: str, tally: Tally) -> None:
    body = {
        "order_id": str(uuid.uuid4()),
        "amount": "12.50",
        "currency": "CHF",
        "card_number": "4242424242424242",
    }
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = await client.post("/pay", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            if attempt == ATTEMPTS:
                raise
            tally.retries += 1
            continue
        if answer.status_code == 409 and "Retry-After" in answer.headers and attempt < ATTEMPTS:
            tally.retries += 1
            await asyncio.sleep(float(answer.headers["Retry-After"]))
            continue
        tally.answered[key] = answer.status_code
        if answer.status_code == 201:
            tally.payment_ids.add(answer.json()["payment_id"])
        return


async def _load(platform: Platform, victim: int) -> Tally:
    """REQUESTS payments, CONCURRENCY at a time; SIGKILL ``victim`` after KILL_AFTER."""
    tally = Tally()
    keys = iter(f"ha-{n}" for n in range(REQUESTS))
    killed = False

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal killed
        for key in keys:
            await _pay(client, key, tally)
            if not killed and len(tally.answered) >= KILL_AFTER:
                killed = True
                os.kill(victim, signal.SIGKILL)

    url = platform.settings.url("payment")
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return tally


def test_killing_one_payment_instance_loses_no_request(payments: Platform, tmp_path: Path) -> None:
    before = {p.instance: p.pid for p in payments.processes()}
    assert sorted(before) == ["payment-1", "payment-2"]

    tally = asyncio.run(_load(payments, before["payment-1"]))

    assert len(tally.answered) == REQUESTS, f"unanswered: {REQUESTS - len(tally.answered)}"
    assert set(tally.answered.values()) == {201}, tally.answered
    assert len(tally.payment_ids) == REQUESTS  # one payment per key: no double charge
    with sqlite3.connect(tmp_path / "data" / "payment_svc.db") as db:
        [(rows,)] = db.execute("SELECT count(*) FROM payments").fetchall()
    assert rows == REQUESTS
    # The killed instance is replaced; both served (their request logs name them).
    after = {p.instance: p.pid for p in payments.wait_healthy(["payment"])}
    assert after["payment-1"] != before["payment-1"]
    assert after["payment-2"] == before["payment-2"]
    log = (tmp_path / "log" / "payment.log").read_text()
    for instance in ("payment-1", "payment-2"):
        assert f'"instance": "{instance}"' in log or f'"instance":"{instance}"' in log


def test_a_stopped_payment_refuses_connections_and_comes_back(payments: Platform) -> None:
    url = payments.settings.url("payment")
    payments.stop("payment")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5)
    payments.start("payment")
    payments.wait_healthy(["payment"])
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
