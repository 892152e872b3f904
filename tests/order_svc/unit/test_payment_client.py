"""Retry, deadline and circuit-breaker decisions of the payment client.

payment_svc is replaced here by httpx's MockTransport, so each failure mode is exact;
the integration tests run the same client against the real payment_svc.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from order_svc.payment_client import Charge, PaymentClient, PaymentRefused, PaymentUnavailable

CHARGE = Charge("o-1", Decimal("49.00"), "CHF", "4242424242424242", "order-o-1")
APPROVED = {"payment_id": "pay_1", "status": "approved", "reason": None}


class Payment:
    """Answers each request with the next of ``answers`` and records what it was asked."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request)


def ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json=APPROVED)


def status(code: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(code, json={"detail": f"status {code}"})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def client(payment: Payment, **overrides: float) -> PaymentClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(payment), base_url="http://payment.test")
    settings: dict[str, float] = {
        "attempt_timeout_s": 0.2,
        "deadline_s": 1.0,
        "breaker_threshold": 5,
        "breaker_open_s": 30,
        "retry_after_s": 5,
        **overrides,
    }
    return PaymentClient(
        http,
        attempt_timeout_s=settings["attempt_timeout_s"],
        deadline_s=settings["deadline_s"],
        breaker_threshold=int(settings["breaker_threshold"]),
        breaker_open_s=settings["breaker_open_s"],
        retry_after_s=int(settings["retry_after_s"]),
    )


async def test_approved_at_first_attempt() -> None:
    payment = Payment(ok)
    result = await client(payment).charge(CHARGE)
    assert (result.payment_id, result.approved) == ("pay_1", True)
    assert len(payment.requests) == 1
    assert payment.requests[0].headers["Idempotency-Key"] == "order-o-1"


@pytest.mark.parametrize("transient", [status(503), status(502), status(504), status(409), refused])
async def test_transient_faults_are_retried_with_the_same_key(
    transient: Callable[[httpx.Request], httpx.Response],
) -> None:
    payment = Payment(transient, transient, ok)
    result = await client(payment).charge(CHARGE)
    assert result.approved
    assert len(payment.requests) == 3
    assert {r.headers["Idempotency-Key"] for r in payment.requests} == {"order-o-1"}


@pytest.mark.parametrize("code", [400, 422])
async def test_client_errors_are_not_retried(code: int) -> None:
    payment = Payment(status(code))
    with pytest.raises(PaymentRefused) as caught:
        await client(payment).charge(CHARGE)
    assert caught.value.status == code
    assert len(payment.requests) == 1


async def test_a_decline_is_an_answer_not_a_failure() -> None:
    declined = {"payment_id": "pay_2", "status": "declined", "reason": "card_declined"}
    payment = Payment(lambda _: httpx.Response(201, json=declined))
    result = await client(payment).charge(CHARGE)
    assert (result.approved, result.reason) == (False, "card_declined")


async def test_payment_down_ends_at_the_deadline() -> None:
    payment = Payment(refused)
    with pytest.raises(PaymentUnavailable) as caught:
        await client(payment, deadline_s=0.5, breaker_threshold=1000).charge(CHARGE)
    assert caught.value.cause in {"unreachable", "timeout"}
    assert caught.value.retry_after_s == 5
    assert len(payment.requests) > 1


async def test_a_hanging_payment_times_out() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    http = httpx.AsyncClient(transport=httpx.MockTransport(hang), base_url="http://payment.test")
    payments = PaymentClient(
        http,
        attempt_timeout_s=0.1,
        deadline_s=0.3,
        breaker_threshold=1000,
        breaker_open_s=30,
        retry_after_s=5,
    )
    with pytest.raises(PaymentUnavailable) as caught:
        await payments.charge(CHARGE)
    assert caught.value.cause == "timeout"


async def test_the_circuit_opens_and_then_fails_fast_without_calling() -> None:
    payment = Payment(status(503))
    payments = client(payment, breaker_threshold=3, deadline_s=2.0)
    with pytest.raises(PaymentUnavailable):
        await payments.charge(CHARGE)
    calls = len(payment.requests)
    assert calls == 3  # the third failure opened the circuit, which ended the retries

    with pytest.raises(PaymentUnavailable) as caught:
        await payments.charge(CHARGE)
    assert caught.value.cause == "circuit_open"
    assert caught.value.retry_after_s == 30
    assert len(payment.requests) == calls


async def test_the_circuit_closes_again_when_payment_answers() -> None:
    payment = Payment(status(503), status(503), ok)
    payments = client(payment, breaker_threshold=2, breaker_open_s=0.2, deadline_s=0.5)
    with pytest.raises(PaymentUnavailable):
        await payments.charge(CHARGE)
    await asyncio.sleep(0.3)  # the circuit half-opens: one trial call goes through
    assert (await payments.charge(CHARGE)).approved
    assert (await payments.charge(CHARGE)).approved


def pool_full(request: httpx.Request) -> httpx.Response:
    raise httpx.PoolTimeout("no connection free in our own pool", request=request)


@pytest.mark.parametrize("ours", [pool_full, status(409)])
async def test_waiting_on_ourselves_or_our_own_key_never_opens_the_circuit(
    ours: Callable[[httpx.Request], httpx.Response],
) -> None:
    # A full connection pool is our queue, and 409 means payment is alive and busy with
    # our key: neither says payment is failing.
    payment = Payment(ours)
    payments = client(payment, breaker_threshold=2, deadline_s=0.3)
    with pytest.raises(PaymentUnavailable):
        await payments.charge(CHARGE)
    assert len(payment.requests) > 2
    assert payments.breaker.state == "closed"
    payment.answers = [ok]
    assert (await payments.charge(CHARGE)).approved


async def test_an_attempt_cut_short_by_the_deadline_is_not_held_against_payment() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow), base_url="http://payment.test")
    payments = PaymentClient(
        http,
        attempt_timeout_s=1.0,
        deadline_s=0.2,
        breaker_threshold=1,
        breaker_open_s=30,
        retry_after_s=5,
    )
    with pytest.raises(PaymentUnavailable) as caught:
        await payments.charge(CHARGE)
    assert caught.value.cause == "timeout"
    assert payments.breaker.state == "closed"


async def test_the_deadline_is_the_callers() -> None:
    # The budget began when the request arrived: a charge whose deadline has passed
    # does not call payment at all.
    payment = Payment(ok)
    payments = client(payment)
    deadline = asyncio.get_running_loop().time() - 0.01
    with pytest.raises(PaymentUnavailable) as caught:
        await payments.charge(CHARGE, deadline=deadline)
    assert caught.value.cause == "timeout"
    assert payment.requests == []
