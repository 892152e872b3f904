"""payment_svc on PostgreSQL: migrations, claims, replays and the stored simulation work
there as on SQLite.

Runs on the tests' own PostgreSQL server (tests/postgres.py).
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.payment_svc.conftest import (
    ADMIN,
    APPROVING_CARD,
    BASELINE_SIMULATION,
    new_key,
    payment_body,
    payment_process,
)
from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_payments_replays_and_restart_on_postgres(tmp_path: Path, postgres: PostgresServer) -> None:
    process = payment_process(tmp_path)
    process.env["PAYMENT_DATABASE_URL"] = postgres.create_database("payment_test")
    process.start()
    try:
        body, key = payment_body(), new_key()
        first = process.pay(body, key)
        assert first.status_code == 201, first.text
        declined = process.pay(payment_body(card_number="4000000000009995"), new_key())
        assert declined.json()["reason"] == "insufficient_funds"
        assert process.pay({**body, "amount": "1.00"}, key).status_code == 409
        # Stored, so it outlives the restart (the environment seeded only the empty database).
        kept = {
            **BASELINE_SIMULATION,
            "amount_limit": "9999999.99",
            "declined_cards": {APPROVING_CARD: "card_declined"},
        }
        url = f"{process.url}/admin/simulation"
        assert httpx.put(url, json=kept, headers=ADMIN, timeout=5).status_code == 200
        assert process.stop() in (0, -signal.SIGTERM)

        process.start()
        replay = process.pay(body, key)
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
        fetched = httpx.get(f"{process.url}/payments/{first.json()['payment_id']}", timeout=5)
        assert fetched.json() == first.json()
        assert httpx.get(f"{process.url}/ready", timeout=5).status_code == 200
        assert httpx.get(url, headers=ADMIN, timeout=5).json() == kept
        assert process.pay(payment_body(), new_key()).json()["reason"] == "card_declined"
        # Every field comes back from the row as it was put: a GET reads the row.
        edges = {**kept, "latency_ms": {"min": 1, "max": 60000}, "error_rate": 0.125, "hang": True}
        assert httpx.put(url, json=edges, headers=ADMIN, timeout=5).status_code == 200
        assert httpx.get(url, headers=ADMIN, timeout=5).json() == edges
    finally:
        process.stop()
