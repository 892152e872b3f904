"""payment_svc on PostgreSQL: migrations, claims and replays work there as on SQLite.

Runs when ``PIZZA_TEST_POSTGRES_URL`` names an empty database to use, such as
``postgresql+asyncpg://pizza@127.0.0.1:5432/payment_test``; skipped otherwise.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.payment_svc.conftest import new_key, payment_body, payment_process

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("PIZZA_TEST_POSTGRES_URL"), reason="PIZZA_TEST_POSTGRES_URL is not set"
    ),
]


def test_payments_replays_and_restart_on_postgres(tmp_path: Path) -> None:
    process = payment_process(tmp_path)
    process.env["PAYMENT_DATABASE_URL"] = os.environ["PIZZA_TEST_POSTGRES_URL"]
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
