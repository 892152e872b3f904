"""Bad bytes and coerced types at payment_svc's edge, ``POST /pay`` and the admin API:
always a clear 4xx problem, never a 500, and nothing charged or changed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.payment_svc.conftest import (
    ADMIN,
    BASELINE_SIMULATION,
    PaymentProcess,
    new_key,
    payment_body,
)

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
DEEP = b'{"order_id": ' + b"[" * 5000 + b"]" * 5000 + b"}"


def _problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    return problem


def _simulation(payment: PaymentProcess) -> dict[str, Any]:
    answer = httpx.get(f"{payment.url}/admin/simulation", headers=ADMIN, timeout=5)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _no_errors_logged(payment: PaymentProcess) -> None:
    assert not [r for r in payment.log_records() if r.get("level") == "error"]


def _invalid_utf8(body: dict[str, Any], field: str) -> bytes:
    """``body`` as JSON with bytes that are not UTF-8 inside the string of ``field``."""
    return json.dumps({**body, field: "@@"}).encode().replace(b"@@", b"\xff\xfe")


BAD_PAY_BYTES = {
    # Each was a 500: UnicodeDecodeError, RecursionError.
    "invalid-utf8": (_invalid_utf8(payment_body(), "currency"), "not valid UTF-8"),
    "nested-5000": (DEEP, "nested too deeply"),
    # It was a 400 that called an empty body "not a JSON object".
    "empty": (b"", "the request body is empty"),
}


@pytest.mark.parametrize(("content", "detail"), BAD_PAY_BYTES.values(), ids=BAD_PAY_BYTES.keys())
def test_bad_bytes_to_pay_are_400_and_charge_nothing(
    payment: PaymentProcess, content: bytes, detail: str
) -> None:
    key = new_key()
    answer = httpx.post(
        f"{payment.url}/pay", content=content, headers={**JSON, "Idempotency-Key": key}, timeout=5
    )
    assert detail in _problem(answer, 400)["detail"]
    assert payment.idempotency_record(key) is None
    _no_errors_logged(payment)


def test_a_body_over_the_limit_is_413_and_charges_nothing(payment: PaymentProcess) -> None:
    body = payment_body()
    key = new_key()
    content = json.dumps({**body, "card_number": "4" * 20_000}).encode()
    answer = httpx.post(
        f"{payment.url}/pay", content=content, headers={**JSON, "Idempotency-Key": key}, timeout=5
    )
    _problem(answer, 413)
    assert payment.ledger(body["order_id"]) == []
    assert payment.idempotency_record(key) is None


BAD_ADMIN_BYTES = {
    "invalid-utf8": (
        _invalid_utf8({**BASELINE_SIMULATION, "declined_cards": {}}, "amount_limit"),
        "not valid UTF-8",
    ),
    "nested-5000": (DEEP.replace(b"order_id", b"latency_ms"), "nested too deeply"),
    "empty": (b"", "the request body is empty"),
}


@pytest.mark.parametrize(
    ("content", "detail"), BAD_ADMIN_BYTES.values(), ids=BAD_ADMIN_BYTES.keys()
)
def test_bad_bytes_to_the_admin_api_are_400_and_change_nothing(
    payment: PaymentProcess, content: bytes, detail: str
) -> None:
    before = _simulation(payment)
    answer = httpx.put(
        f"{payment.url}/admin/simulation", content=content, headers={**JSON, **ADMIN}, timeout=5
    )
    assert detail in _problem(answer, 400)["detail"]
    assert _simulation(payment) == before
    _no_errors_logged(payment)


def test_an_admin_body_over_the_limit_is_413(payment: PaymentProcess) -> None:
    before = _simulation(payment)
    cards = {f"4{n:015d}": "card_declined" for n in range(1000)}
    answer = httpx.put(
        f"{payment.url}/admin/simulation",
        json={**BASELINE_SIMULATION, "declined_cards": cards},
        headers=ADMIN,
        timeout=5,
    )
    _problem(answer, 413)
    assert _simulation(payment) == before


COERCED = {
    # Each was accepted: "yes" and 1 as true, "5", 5.0 and true as the integer 5 or 1.
    "hang-yes": ({"hang": "yes"}, "hang"),
    "hang-1": ({"hang": 1}, "hang"),
    "min-string": ({"latency_ms": {"min": "5", "max": 10}}, "latency_ms.min"),
    "min-float": ({"latency_ms": {"min": 5.0, "max": 10}}, "latency_ms.min"),
    "max-bool": ({"latency_ms": {"min": 0, "max": True}}, "latency_ms.max"),
    "error-rate-string": ({"error_rate": "0.5"}, "error_rate"),
    "error-rate-bool": ({"error_rate": True}, "error_rate"),
}


@pytest.mark.parametrize(("change", "field"), COERCED.values(), ids=COERCED.keys())
def test_admin_types_are_strict(
    payment: PaymentProcess, change: dict[str, Any], field: str
) -> None:
    before = _simulation(payment)
    answer = httpx.put(
        f"{payment.url}/admin/simulation",
        json={**BASELINE_SIMULATION, **change},
        headers=ADMIN,
        timeout=5,
    )
    problem = _problem(answer, 422)
    assert [error["field"] for error in problem["errors"]] == [field]
    assert _simulation(payment) == before


def test_json_valid_spellings_are_still_accepted(payment: PaymentProcess) -> None:
    """Strict types, but what the contract allows in JSON: a decimal as a string or a
    number, a rate as an integer, a UUID as a string."""
    answer = httpx.put(
        f"{payment.url}/admin/simulation",
        json={**BASELINE_SIMULATION, "error_rate": 0, "amount_limit": 500},
        headers=ADMIN,
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["amount_limit"] == "500.00"
    for amount in ("49.00", 49, 49.5):
        paid = payment.pay(payment_body(amount=amount), new_key())
        assert paid.status_code == 201, paid.text
