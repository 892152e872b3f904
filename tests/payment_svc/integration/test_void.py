"""Looking a charge up by its idempotency key, and voiding it: payment_svc as a real process.

What the saga of order_svc relies on: a void is idempotent, recorded in the ledger, and
once a key is voided nothing is ever charged under it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.payment_svc.conftest import PaymentProcess, new_key, payment_body, plant_claim

pytestmark = pytest.mark.integration


def key_status(payment: PaymentProcess, key: str) -> dict[str, Any]:
    answer = httpx.get(f"{payment.url}/payments/by-key/{key}", timeout=5)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def void(payment: PaymentProcess, key: str, **params: str) -> httpx.Response:
    return httpx.post(f"{payment.url}/payments/by-key/{key}/void", params=params, timeout=5)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_an_approved_charge_is_voided_once_and_stays_voided(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    charged = payment.pay(body, key).json()
    assert key_status(payment, key)["state"] == "approved"

    first = void(payment, key, reason="order_too_old_to_accept")
    assert first.status_code == 200, first.text
    voided = first.json()
    assert voided["state"] == "voided"
    assert voided["payment"]["payment_id"] == charged["payment_id"]
    assert voided["payment"]["status"] == "voided"
    assert voided["payment"]["void_reason"] == "order_too_old_to_accept"
    assert voided["payment"]["voided_at"] is not None

    again = void(payment, key, reason="something_else")
    assert again.status_code == 200
    assert again.json() == voided  # idempotent: same answer, nothing changes

    [row] = payment.ledger(body["order_id"])
    assert (row["status"], row["void_reason"]) == ("voided", "order_too_old_to_accept")
    by_id = httpx.get(f"{payment.url}/payments/{charged['payment_id']}", timeout=5).json()
    assert by_id["status"] == "voided"

    # The same request again does not replay "approved": the key charges nothing any more.
    replay = payment.pay(body, key)
    assert replay.status_code == 410, replay.text
    assert len(payment.ledger(body["order_id"])) == 1


def test_a_key_never_used_is_closed_and_never_charges(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    assert key_status(payment, key) == {"idempotency_key": key, "state": "none", "payment": None}

    closed = void(payment, key)
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"idempotency_key": key, "state": "voided", "payment": None}
    assert void(payment, key).json() == closed.json()

    late = payment.pay(body, key)  # a request that was still on its way
    assert late.status_code == 410, late.text
    assert payment.ledger(body["order_id"]) == []
    assert key_status(payment, key)["state"] == "voided"


def test_a_decline_has_nothing_to_void(payment: PaymentProcess) -> None:
    body, key = payment_body(card_number="4000000000000002"), new_key()
    assert payment.pay(body, key).json()["status"] == "declined"

    answer = void(payment, key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "declined"
    assert answer.json()["payment"]["status"] == "declined"
    [row] = payment.ledger(body["order_id"])
    assert (row["status"], row["voided_at"]) == ("declined", None)


def test_a_key_in_use_is_voided_only_when_its_request_is_gone(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    plant_claim(payment, key, body, _timestamp(datetime.now(UTC)))
    assert key_status(payment, key)["state"] == "in_progress"
    busy = void(payment, key)
    assert busy.status_code == 409, busy.text
    assert busy.headers["Retry-After"] == "1"

    other_key = new_key()
    plant_claim(payment, other_key, body, _timestamp(datetime.now(UTC) - timedelta(hours=1)))
    taken = void(payment, other_key)  # a claim left by a request that died is taken over
    assert taken.status_code == 200, taken.text
    assert taken.json()["state"] == "voided"
    assert payment.pay(body, other_key).status_code == 410


def test_a_bad_key_or_reason_is_400(payment: PaymentProcess) -> None:
    assert void(payment, "bad key!").status_code in {400, 404}
    assert void(payment, new_key(), reason="Not A Reason").status_code == 400
