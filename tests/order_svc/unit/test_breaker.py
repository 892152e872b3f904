"""The circuit breaker counts payment's failures only, with a clock of the test's own."""

from __future__ import annotations

import pytest

from order_svc.breaker import CircuitBreaker, CircuitOpen, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PaymentDown(Exception):
    pass


class OurOwnQueue(Exception):
    pass


def classify(exc: BaseException) -> Verdict:
    return "failure" if isinstance(exc, PaymentDown) else "neutral"


def breaker(clock: Clock, changes: list[str] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        threshold=3,
        open_s=5,
        classify=classify,
        on_change=(changes.append if changes is not None else lambda _: None),
        clock=clock,
    )


def state_of(cb: CircuitBreaker) -> str:
    # A plain str: the state changes behind mypy's back, between two reads.
    return cb.state


def fail(cb: CircuitBreaker, exc: Exception) -> None:
    with pytest.raises(type(exc)), cb.call():
        raise exc


def test_consecutive_failures_open_it_and_it_fails_fast() -> None:
    changes: list[str] = []
    cb = breaker(Clock(), changes)
    for _ in range(3):
        fail(cb, PaymentDown())
    assert state_of(cb) == "open"
    with pytest.raises(CircuitOpen) as caught, cb.call():
        pass
    assert caught.value.retry_after_s == 5
    assert changes == ["open"]


def test_a_success_resets_the_count() -> None:
    cb = breaker(Clock())
    fail(cb, PaymentDown())
    fail(cb, PaymentDown())
    with cb.call():
        pass
    fail(cb, PaymentDown())
    fail(cb, PaymentDown())
    assert state_of(cb) == "closed"


def test_our_own_failures_count_for_nothing() -> None:
    cb = breaker(Clock())
    fail(cb, PaymentDown())
    fail(cb, PaymentDown())
    for _ in range(10):
        fail(cb, OurOwnQueue())
    assert state_of(cb) == "closed"
    fail(cb, PaymentDown())  # the third failure of payment's own, however many neutral between
    assert state_of(cb) == "open"


def test_after_the_open_time_one_trial_call_decides() -> None:
    clock = Clock()
    changes: list[str] = []
    cb = breaker(clock, changes)
    for _ in range(3):
        fail(cb, PaymentDown())
    clock.now = 5.1
    with cb.call():  # the trial call
        assert state_of(cb) == "half_open"
        with pytest.raises(CircuitOpen), cb.call():  # others still fail fast meanwhile
            pass
    assert state_of(cb) == "closed"
    assert changes == ["open", "half_open", "closed"]


def test_a_failed_trial_call_opens_it_again() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        fail(cb, PaymentDown())
    clock.now = 5.1
    fail(cb, PaymentDown())
    assert state_of(cb) == "open"
    clock.now = 6.0
    with pytest.raises(CircuitOpen), cb.call():
        pass


def test_a_neutral_trial_call_lets_the_next_one_try() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        fail(cb, PaymentDown())
    clock.now = 5.1
    fail(cb, OurOwnQueue())
    assert state_of(cb) == "half_open"
    with cb.call():
        pass
    assert state_of(cb) == "closed"
