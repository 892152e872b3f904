"""payment_svc over HTTP, as a real process: payments, idempotency, simulation, errors."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.payment_svc.conftest import (
    ADMIN,
    APPROVING_CARD,
    BASELINE_SIMULATION,
    PaymentProcess,
    new_key,
    payment_body,
    payment_process,
    plant_claim,
)

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


def _assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    return problem


def _wait_for_log(process: PaymentProcess, event: str, attempts: int = 50) -> dict[str, Any]:
    for _ in range(attempts):
        for record in process.log_records():
            if record.get("event") == event:
                return record
        time.sleep(0.1)
    raise AssertionError(f"no log line {event!r} in:\n{process.log_text()[-3000:]}")


def test_a_valid_payment_is_approved_and_recorded(payment: PaymentProcess) -> None:
    body = payment_body(card_number="4242 4242 4242 4242")
    answer = payment.pay(body, new_key())

    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["payment_id"].startswith("pay_")
    assert created == {
        "payment_id": created["payment_id"],
        "order_id": body["order_id"],
        "status": "approved",
        "reason": None,
        "amount": "49.00",
        "currency": "CHF",
        "created_at": created["created_at"],
        "voided_at": None,
        "void_reason": None,
    }
    assert created["created_at"].endswith("Z")
    assert "Idempotent-Replayed" not in answer.headers
    assert answer.headers["Location"] == f"/payments/{created['payment_id']}"

    [row] = payment.ledger(body["order_id"])
    assert row["payment_id"] == created["payment_id"]
    assert row["status"] == "approved"
    assert row["card_last4"] == "4242"
    assert APPROVING_CARD not in json.dumps(row)

    fetched = httpx.get(f"{payment.url}/payments/{created['payment_id']}", timeout=5)
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_amount_may_be_a_json_number(payment: PaymentProcess) -> None:
    answer = payment.pay(payment_body(amount=12.5), new_key())
    assert answer.status_code == 201, answer.text
    assert answer.json()["amount"] == "12.50"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"card_number": "4000000000000002"}, "card_declined"),
        ({"card_number": "4000000000009995"}, "insufficient_funds"),
        ({"amount": "500.01"}, "amount_over_limit"),
    ],
)
def test_decline_rules(payment: PaymentProcess, changes: dict[str, str], reason: str) -> None:
    body = payment_body(**changes)
    answer = payment.pay(body, new_key())

    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "declined"
    assert answer.json()["reason"] == reason
    [row] = payment.ledger(body["order_id"])
    assert (row["status"], row["reason"]) == ("declined", reason)


def test_amount_limit_follows_the_simulation(payment: PaymentProcess) -> None:
    payment.simulate(amount_limit="40.00")
    answer = payment.pay(payment_body(amount="49.00"), new_key())
    assert answer.json()["reason"] == "amount_over_limit"
    payment.simulate(amount_limit="1000.00")
    answer = payment.pay(payment_body(amount="999.00"), new_key())
    assert answer.json()["status"] == "approved"


def test_same_key_and_body_replays_the_first_answer(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    first = payment.pay(body, key)
    # The same payment spelled differently is still the same request.
    respelled = {**body, "amount": 49, "card_number": "4242 4242 4242 4242"}
    replays = [payment.pay(body, key), payment.pay(respelled, key)]

    assert first.status_code == 201
    for replay in replays:
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
    assert len(payment.ledger(body["order_id"])) == 1


def test_a_declined_payment_replays_as_declined(payment: PaymentProcess) -> None:
    body, key = payment_body(card_number="4000000000000002"), new_key()
    first = payment.pay(body, key)
    replay = payment.pay(body, key)
    assert replay.json() == first.json()
    assert replay.json()["status"] == "declined"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(payment.ledger(body["order_id"])) == 1


def test_same_key_with_another_body_is_a_conflict(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    assert payment.pay(body, key).status_code == 201

    _assert_problem(payment.pay({**body, "amount": "49.50"}, key), 409)
    other_order = payment_body()
    _assert_problem(payment.pay(other_order, key), 409)

    assert len(payment.ledger(body["order_id"])) == 1
    assert payment.ledger(other_order["order_id"]) == []


def test_concurrent_duplicates_charge_once(payment: PaymentProcess) -> None:
    # Some latency keeps the first request busy while the others arrive.
    payment.simulate(latency_ms={"min": 300, "max": 300})
    body, key = payment_body(), new_key()

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=payment.url, timeout=10) as client:
            return await asyncio.gather(
                *(
                    client.post("/pay", json=body, headers={"Idempotency-Key": key})
                    for _ in range(8)
                )
            )

    answers = asyncio.run(send_all())

    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = [answer for answer in answers if answer.status_code == 201]
    assert created
    assert len({json.dumps(answer.json(), sort_keys=True) for answer in created}) == 1
    for answer in answers:
        if answer.status_code == 409:
            _assert_problem(answer, 409)
            assert answer.headers["Retry-After"] == "1"
    [row] = payment.ledger(body["order_id"])
    assert row["payment_id"] == created[0].json()["payment_id"]

    later = payment.pay(body, key)
    assert later.status_code == 201
    assert later.json() == created[0].json()


def test_outage_charges_nothing_and_a_retry_succeeds(payment: PaymentProcess) -> None:
    payment.simulate(error_rate=1.0)
    body, key = payment_body(), new_key()

    for _ in range(3):
        answer = payment.pay(body, key)
        _assert_problem(answer, 503)
        assert answer.headers["Retry-After"] == "1"
    assert payment.ledger(body["order_id"]) == []
    assert payment.idempotency_record(key) is None

    payment.simulate(error_rate=0.0)
    retry = payment.pay(body, key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["status"] == "approved"
    assert "Idempotent-Replayed" not in retry.headers
    assert len(payment.ledger(body["order_id"])) == 1


def test_hang_never_answers_and_charges_nothing(payment: PaymentProcess) -> None:
    payment.simulate(hang=True)
    body, key = payment_body(), new_key()

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{payment.url}/pay", json=body, headers={"Idempotency-Key": key}, timeout=0.5)
    # The service notices that the client went away (and so frees the request).
    _wait_for_log(payment, "client gave up on a hanging request")
    assert payment.ledger(body["order_id"]) == []
    assert payment.idempotency_record(key) is None

    payment.simulate(hang=False)
    retry = payment.pay(body, key)
    assert retry.status_code == 201, retry.text
    assert len(payment.ledger(body["order_id"])) == 1


def test_admin_needs_the_token(payment: PaymentProcess) -> None:
    url = f"{payment.url}/admin/simulation"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "pizza-admin"}):
        problem = _assert_problem(httpx.get(url, headers=headers, timeout=5), 401)
        assert "Bearer" in problem["detail"]
    refused = httpx.put(
        url,
        json={**BASELINE_SIMULATION, "error_rate": 1.0},
        headers={"Authorization": "Bearer wrong"},
        timeout=5,
    )
    _assert_problem(refused, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert httpx.get(url, headers=ADMIN, timeout=5).json() == BASELINE_SIMULATION


def test_admin_replaces_the_whole_simulation(payment: PaymentProcess) -> None:
    url = f"{payment.url}/admin/simulation"
    new = {
        "latency_ms": {"min": 1, "max": 3},
        "error_rate": 0.0,
        "hang": False,
        "amount_limit": "100.00",
        "declined_cards": {APPROVING_CARD: "insufficient_funds"},
    }
    answer = httpx.put(url, json=new, headers=ADMIN, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json() == new
    assert httpx.get(url, headers=ADMIN, timeout=5).json() == new

    # The built-in test cards were replaced too: only the listed card is declined now.
    declined = payment.pay(payment_body(), new_key()).json()
    assert declined["reason"] == "insufficient_funds"
    formerly_declined = payment.pay(payment_body(card_number="4000000000000002"), new_key())
    assert formerly_declined.json()["status"] == "approved"


def test_admin_refuses_bad_values_per_field(payment: PaymentProcess) -> None:
    url = f"{payment.url}/admin/simulation"
    bad = {
        "latency_ms": {"min": 50, "max": 10},
        "error_rate": 1.5,
        "hang": False,
        "amount_limit": "-1",
        "declined_cards": {},
    }
    problem = _assert_problem(httpx.put(url, json=bad, headers=ADMIN, timeout=5), 422)
    fields = [error["field"] for error in problem["errors"]]
    assert sorted(fields) == ["amount_limit", "error_rate", "latency_ms"]
    incomplete = {"error_rate": 0.5}
    problem = _assert_problem(httpx.put(url, json=incomplete, headers=ADMIN, timeout=5), 422)
    assert {error["field"] for error in problem["errors"]} == {
        "latency_ms",
        "hang",
        "amount_limit",
        "declined_cards",
    }
    assert httpx.get(url, headers=ADMIN, timeout=5).json() == BASELINE_SIMULATION


def test_invalid_fields_are_422_with_one_error_per_field(payment: PaymentProcess) -> None:
    body = {
        "order_id": "not-a-uuid",
        "amount": "49.001",
        "currency": "chf",
        "card_number": "4242424242424241",
    }
    problem = _assert_problem(payment.pay(body, new_key()), 422)
    errors = {error["field"]: error["message"] for error in problem["errors"]}
    assert len(errors) == len(problem["errors"]) == 4
    assert "decimal places" in errors["amount"]
    assert "upper-case" in errors["currency"]
    assert "Luhn" in errors["card_number"]
    assert errors["order_id"]

    problem = _assert_problem(payment.pay({"amount": "0"}, new_key()), 422)
    assert {error["field"] for error in problem["errors"]} == {
        "order_id",
        "amount",
        "currency",
        "card_number",
    }


def test_idempotency_key_is_required_and_checked(payment: PaymentProcess) -> None:
    body = payment_body()
    for key in (None, "", "has space", "x" * 129, "slash/"):
        problem = _assert_problem(payment.pay(body, key), 400)
        assert "Idempotency-Key" in problem["detail"]
    # A bad key is reported even when the body is bad too.
    _assert_problem(payment.pay({"amount": "x"}, None), 400)
    assert payment.ledger(body["order_id"]) == []


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]", b"null", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(payment: PaymentProcess, content: bytes) -> None:
    answer = httpx.post(
        f"{payment.url}/pay",
        content=content,
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
        timeout=5,
    )
    _assert_problem(answer, 400)


def test_a_huge_body_is_413(payment: PaymentProcess) -> None:
    body = payment_body(padding="x" * 1_000_000)
    _assert_problem(payment.pay(body, new_key()), 413)
    assert payment.ledger(body["order_id"]) == []


def test_unknown_payment_is_404(payment: PaymentProcess) -> None:
    _assert_problem(httpx.get(f"{payment.url}/payments/pay_0000", timeout=5), 404)


def test_health_and_ready(payment: PaymentProcess) -> None:
    assert httpx.get(f"{payment.url}/health", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{payment.url}/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_logs_are_json_lines_with_service_instance_and_order(payment: PaymentProcess) -> None:
    body = payment_body()
    created = payment.pay(body, new_key()).json()

    decided = [
        record
        for record in payment.log_records()
        if record.get("event") == "payment decided" and record.get("order_id") == body["order_id"]
    ]
    assert len(decided) == 1
    assert decided[0]["service"] == "payment_svc"
    assert decided[0]["instance"] == "payment_svc"
    assert decided[0]["payment_id"] == created["payment_id"]
    assert decided[0]["status"] == "approved"
    lines = [line for line in payment.log_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_ledger_and_keys_survive_a_restart(own_payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    first = own_payment.pay(body, key)
    assert first.status_code == 201
    # uvicorn re-raises SIGTERM once it has shut down cleanly; SIGKILL would be -9.
    assert own_payment.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in own_payment.log_text()

    own_payment.start()
    replay = own_payment.pay(body, key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    fetched = httpx.get(f"{own_payment.url}/payments/{first.json()['payment_id']}", timeout=5)
    assert fetched.json() == first.json()
    assert len(own_payment.ledger(body["order_id"])) == 1


def test_the_simulation_survives_a_restart_and_the_environment_seeds_only_a_new_database(
    own_payment: PaymentProcess, tmp_path: Path
) -> None:
    url = f"{own_payment.url}/admin/simulation"
    changed = {
        **BASELINE_SIMULATION,
        "amount_limit": "123.45",
        "declined_cards": {APPROVING_CARD: "insufficient_funds"},
    }
    assert httpx.put(url, json=changed, headers=ADMIN, timeout=5).status_code == 200
    own_payment.stop()

    # Started again with another limit in its environment: what was put stays in force.
    own_payment.env["PAYMENT_AMOUNT_LIMIT"] = "999.00"
    own_payment.start()
    assert httpx.get(url, headers=ADMIN, timeout=5).json() == changed
    assert own_payment.pay(payment_body(), new_key()).json()["reason"] == "insufficient_funds"
    warning = _wait_for_log(own_payment, "simulation from the database, not from the environment")
    assert warning["level"] == "warning"
    assert "PUT /admin/simulation" in warning["why"]

    fresh = payment_process(tmp_path / "fresh")
    fresh.env["PAYMENT_AMOUNT_LIMIT"] = "999.00"
    fresh.start()
    try:
        seeded = httpx.get(f"{fresh.url}/admin/simulation", headers=ADMIN, timeout=5).json()
        assert seeded == {**BASELINE_SIMULATION, "amount_limit": "999.00"}
    finally:
        fresh.stop()


def test_a_key_held_by_a_running_request_is_409_with_retry_after(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    plant_claim(payment, key, body, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))

    answer = payment.pay(body, key)
    problem = _assert_problem(answer, 409)
    assert answer.headers["Retry-After"] == "1"
    assert "processed" in problem["detail"]
    assert payment.ledger(body["order_id"]) == []


def test_a_claim_left_by_a_crash_is_taken_over(payment: PaymentProcess) -> None:
    body, key = payment_body(), new_key()
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    plant_claim(payment, key, body, long_ago.strftime("%Y-%m-%d %H:%M:%S.%f"))

    answer = payment.pay(body, key)
    assert answer.status_code == 201, answer.text
    assert len(payment.ledger(body["order_id"])) == 1
    record = payment.idempotency_record(key)
    assert record is not None
    assert record["state"] == "completed"
    assert record["payment_id"] == answer.json()["payment_id"]
