"""A real payment_svc process for the integration tests, and ways to look inside it."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from payment_svc.domain import PaymentRequest
from tests.service_process import ServiceProcess, free_port

ADMIN = {"Authorization": "Bearer pizza-admin"}
APPROVING_CARD = "4242424242424242"
BASELINE_SIMULATION: dict[str, Any] = {
    "latency_ms": {"min": 0, "max": 0},
    "error_rate": 0.0,
    "hang": False,
    "amount_limit": "500.00",
    "declined_cards": {
        "4000000000000002": "card_declined",
        "4000000000009995": "insufficient_funds",
    },
}


def new_key() -> str:
    return f"test-{uuid.uuid4().hex}"


def payment_body(**changes: Any) -> dict[str, Any]:
    """A valid body for a fresh order."""
    return {
        "order_id": str(uuid.uuid4()),
        "amount": "49.00",
        "currency": "CHF",
        "card_number": APPROVING_CARD,
        **changes,
    }


class PaymentProcess(ServiceProcess):
    def pay(self, body: Any, key: str | None, **kwargs: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return httpx.post(f"{self.url}/pay", json=body, headers=headers, timeout=10, **kwargs)

    def simulate(self, **changes: Any) -> None:
        """Change the simulation at run time through the admin endpoint."""
        current = httpx.get(f"{self.url}/admin/simulation", headers=ADMIN, timeout=5).json()
        answer = httpx.put(
            f"{self.url}/admin/simulation", json={**current, **changes}, headers=ADMIN, timeout=5
        )
        assert answer.status_code == 200, answer.text

    @property
    def database(self) -> Path:
        return Path(self.env["PIZZA_VAR_DIR"]) / "data" / "payment_svc.db"

    def ledger(self, order_id: str) -> list[dict[str, Any]]:
        """The ledger's rows for one order, read from the service's own database."""
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM payments WHERE order_id = ?", (order_id,))
            return [dict(row) for row in rows]

    def idempotency_record(self, key: str) -> dict[str, Any] | None:
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
            return dict(row) if row is not None else None


def payment_process(var_dir: Path) -> PaymentProcess:
    port = free_port()
    return PaymentProcess(
        "payment_svc",
        port,
        env={
            "PAYMENT_PORT": str(port),
            "PIZZA_VAR_DIR": str(var_dir),
            "PAYMENT_ERROR_RATE": "0",
            "PAYMENT_LATENCY_MS": "0",
            "PAYMENT_HANG": "false",
            "PAYMENT_AMOUNT_LIMIT": "500.00",
            "PAYMENT_ADMIN_TOKEN": "pizza-admin",
        },
        log_path=var_dir / "payment.log",
    )


@pytest.fixture(scope="module")
def shared_payment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaymentProcess]:
    """One process for a module's tests: each test uses its own orders and keys."""
    process = payment_process(tmp_path_factory.mktemp("payment"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def payment(shared_payment: PaymentProcess) -> PaymentProcess:
    """The shared process with the baseline simulation (tests may change it)."""
    answer = httpx.put(
        f"{shared_payment.url}/admin/simulation",
        json=BASELINE_SIMULATION,
        headers=ADMIN,
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return shared_payment


@pytest.fixture
def own_payment(tmp_path: Path) -> Iterator[PaymentProcess]:
    """A process of the test's own, for tests that stop or restart it."""
    process = payment_process(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def plant_claim(process: PaymentProcess, key: str, body: dict[str, Any], claimed_at: str) -> None:
    """Leave a claim on ``key`` as a request still running (or one that died) would."""
    request = PaymentRequest(
        body["order_id"], Decimal(body["amount"]), body["currency"], body["card_number"]
    )
    with sqlite3.connect(process.database) as conn:
        conn.execute(
            "INSERT INTO idempotency_keys (key, fingerprint, state, claim_token, claimed_at) "
            "VALUES (?, ?, 'processing', 'planted', ?)",
            (key, request.fingerprint(), claimed_at),
        )
