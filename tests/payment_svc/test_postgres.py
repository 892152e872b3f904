"""payment_svc on PostgreSQL: migrations, claims and replays work there as on SQLite.

Runs on the tests' own PostgreSQL server (tests/postgres.py).
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.payment_svc.conftest import new_key, payment_body, payment_process
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
        assert process.stop() in (0, -signal.SIGTERM)

        process.start()
        replay = process.pay(body, key)
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
        fetched = httpx.get(f"{process.url}/payments/{first.json()['payment_id']}", timeout=5)
        assert fetched.json() == first.json()
        assert httpx.get(f"{process.url}/ready", timeout=5).status_code == 200
    finally:
        process.stop()
