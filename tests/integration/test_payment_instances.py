"""Payment as several instances behind one address, under the process manager: SIGKILL one
while requests flow and every request is still answered (after at most the client's
retries); `just stop payment` refuses connections at once, and `start` brings it back; a
simulation put through one instance holds for all, a restarted one included."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.supervisor.platform import Platform
from pizza_infra.supervisor.services import PlatformSettings

pytestmark = pytest.mark.integration

REQUESTS = 200
CONCURRENCY = 4
KILL_AFTER = 60  # answers before one instance is killed
ATTEMPTS = 4  # the client's retries: a connection lost, or the key still held by the dead one
REFRESH_S = 0.2  # PAYMENT_SIMULATION_REFRESH_S: every instance follows a change within it
ADMIN = {"Authorization": "Bearer pizza-admin"}


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
        "PAYMENT_SIMULATION_REFRESH_S": str(REFRESH_S),
        "PAYMENT_ADMIN_TOKEN": "pizza-admin",
        "OTEL_TRACES_EXPORTER": "none",
        # Only payment runs here, no identity provider: its tokens are tested end to end
        # (tests/e2e/test_service_identity.py).
        "KEYCLOAK_ENABLED": "false",
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


def _payment_body() -> dict[str, str]:
    return {
        "order_id": str(uuid.uuid4()),
        "amount": "12.50",
        "currency": "CHF",
        "card_number": "4242424242424242",
    }


async def _pay(client: httpx.AsyncClient, key: str, tally: Tally) -> None:
    body = _payment_body()
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


def _pay_once(url: str) -> int:
    answer = httpx.post(
        f"{url}/pay",
        json=_payment_body(),
        headers={"Idempotency-Key": f"sim-{uuid.uuid4().hex}"},
        timeout=10,
    )
    return answer.status_code


def _simulation(url: str) -> dict[str, object]:
    answer = httpx.get(f"{url}/admin/simulation", headers=ADMIN, timeout=5)
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_a_simulation_put_through_one_instance_holds_for_all(payments: Platform) -> None:
    shared = payments.settings.url("payment")
    first, second = payments.settings.url("payment", 1), payments.settings.url("payment", 2)
    outage = {**_simulation(first), "latency_ms": {"min": 0, "max": 0}, "error_rate": 1.0}

    put = httpx.put(f"{first}/admin/simulation", json=outage, headers=ADMIN, timeout=5)
    assert put.status_code == 200, put.text
    assert _pay_once(first) == 503  # the instance that took it: at once
    time.sleep(REFRESH_S)  # the documented bound for every other instance

    assert _pay_once(second) == 503
    assert [_pay_once(shared) for _ in range(20)] == [503] * 20
    assert _simulation(second) == _simulation(first) == outage

    # An instance started again (SIGKILL, circus restarts it) applies the stored simulation,
    # not the environment's PAYMENT_ERROR_RATE=0: a restart changes nothing for anyone.
    before = {p.instance: p.pid for p in payments.processes()}
    os.kill(before["payment-2"], signal.SIGKILL)
    after = {p.instance: p.pid for p in payments.wait_healthy(["payment"])}
    assert after["payment-2"] != before["payment-2"]
    assert _simulation(second) == outage
    assert _pay_once(second) == 503

    working = {**outage, "error_rate": 0.0}
    put = httpx.put(f"{shared}/admin/simulation", json=working, headers=ADMIN, timeout=5)
    assert put.status_code == 200, put.text
    time.sleep(REFRESH_S)
    assert [_pay_once(url) for url in (first, second, shared, shared)] == [201] * 4
