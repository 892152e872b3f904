"""Settling: a platform that still moves is waited for, a stuck one is given up on."""

from __future__ import annotations

from collections.abc import Callable

from pizza_infra.scenarios.chaos.quiesce import wait_until_settled


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _probe(answers: list[list[str]]) -> Callable[[], list[str]]:
    """The scripted answers in turn, the last one forever."""

    def probe() -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return probe


def test_settled_as_soon_as_nothing_is_open() -> None:
    time = FakeTime()
    probe = _probe([["consumer lag 3"], ["consumer lag 1"], []])
    settling = wait_until_settled(
        probe, 30, report=lambda _: None, clock=time.clock, sleep=time.sleep
    )
    assert settling.settled
    assert settling.waiting_for == []


def test_a_slow_platform_that_moves_is_waited_for_past_the_stall_bound() -> None:
    time = FakeTime()
    draining = [[f"consumer lag {n}"] for n in range(100, 0, -1)]
    probe = _probe([*draining, []])
    settling = wait_until_settled(
        probe, 10, report=lambda _: None, clock=time.clock, sleep=time.sleep
    )
    assert settling.settled
    assert settling.seconds > 10


def test_a_stuck_platform_is_given_up_on_after_the_stall_bound() -> None:
    time = FakeTime()
    probe = _probe([["consumer lag 5"], ["consumer lag 1"]])
    settling = wait_until_settled(
        probe, 10, report=lambda _: None, clock=time.clock, sleep=time.sleep
    )
    assert not settling.settled
    assert settling.waiting_for == ["consumer lag 1"]
    assert settling.seconds <= 14


def test_the_cap_ends_even_a_moving_platform() -> None:
    time = FakeTime()
    counter = iter(range(10**6))
    settling = wait_until_settled(
        lambda: [f"consumer lag {next(counter)}"],
        10,
        cap_s=60,
        report=lambda _: None,
        clock=time.clock,
        sleep=time.sleep,
    )
    assert not settling.settled
    assert 60 < settling.seconds <= 64


def test_a_probe_that_fails_counts_as_open() -> None:
    time = FakeTime()

    def probe() -> list[str]:
        raise ConnectionError("broker electing a leader")

    settling = wait_until_settled(
        probe, 10, report=lambda _: None, clock=time.clock, sleep=time.sleep
    )
    assert not settling.settled
    assert "broker electing a leader" in settling.waiting_for[0]
