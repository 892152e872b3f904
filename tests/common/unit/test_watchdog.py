"""The consumer's watchdog: a stuck call, a loop that stopped, and reported concerns."""

from __future__ import annotations

import asyncio

from pizza_common.runtime import Watchdog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_all_well_while_calls_return_in_time_and_the_loop_turns() -> None:
    clock = Clock()
    watchdog = Watchdog(stall_after_s=10, clock=clock)
    watchdog.turned()
    token = watchdog.enter("commit", limit_s=5)
    clock.now += 4
    assert watchdog.problem() is None
    watchdog.leave(token)
    clock.now += 100  # no call running, but the loop has not turned either
    assert watchdog.problem() == "the consumer loop has not turned for 104 s"


def test_a_call_past_its_limit_is_stuck() -> None:
    clock = Clock()
    watchdog = Watchdog(stall_after_s=1000, clock=clock)
    watchdog.turned()
    watchdog.enter("send_offsets_to_transaction", limit_s=60)
    clock.now += 61
    assert watchdog.stuck_call() == "send_offsets_to_transaction has not returned for 61 s"
    assert watchdog.problem() == watchdog.stuck_call()


def test_a_loop_stopped_on_purpose_is_no_problem() -> None:
    clock = Clock()
    watchdog = Watchdog(stall_after_s=5, clock=clock)
    watchdog.turned()
    watchdog.stopped()
    clock.now += 60
    assert watchdog.problem() is None


def test_concerns_are_reported_until_withdrawn() -> None:
    watchdog = Watchdog(stall_after_s=5, clock=Clock())
    watchdog.concern("broker", "no Kafka broker reachable")
    watchdog.concern("record", "order.placed[3]@7 failed 10 times")
    assert watchdog.problem() == ("no Kafka broker reachable; order.placed[3]@7 failed 10 times")
    watchdog.concern("broker", None)
    watchdog.concern("record", None)
    assert watchdog.problem() is None


async def test_watch_hands_a_stuck_call_to_on_stuck() -> None:
    clock = Clock()
    reasons: list[str] = []
    watchdog = Watchdog(stall_after_s=5, on_stuck=reasons.append, clock=clock)
    watchdog.enter("poll", limit_s=1)
    watching = asyncio.create_task(watchdog.watch(every_s=0.01))
    await asyncio.sleep(0.05)
    assert reasons == []  # within its limit: nothing happens
    clock.now += 2
    await asyncio.wait_for(watching, 5)
    assert reasons == ["poll has not returned for 2 s"]
