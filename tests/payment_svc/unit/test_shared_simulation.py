"""An instance's copy of the shared simulation: when it reads the stored one, with a fake
clock and a fake store (the real store: tests/payment_svc/integration/test_store.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from payment_svc.domain import Latency, SimulationConfig
from payment_svc.shared_simulation import SharedSimulation

REFRESH_S = 0.5
ENVIRONMENT = SimulationConfig(latency=Latency(0, 0), error_rate=0.0)
OUTAGE = SimulationConfig(latency=Latency(0, 0), error_rate=1.0)
HANG = SimulationConfig(latency=Latency(0, 0), hang=True)


@dataclass
class FakeClock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeStore:
    """The shared row; ``gate``, when set, holds each read until it is set."""

    row: SimulationConfig | None = None
    reads: int = 0
    saved: list[SimulationConfig] = field(default_factory=list)
    failing: bool = False
    gate: asyncio.Event | None = None

    async def load(self) -> SimulationConfig | None:
        self.reads += 1
        row = self.row  # what the database holds when the read begins
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise OSError("database unreachable")
        return row

    async def seed(self, config: SimulationConfig) -> bool:
        if self.row is not None:
            return False
        self.row = config
        return True

    async def save(self, config: SimulationConfig) -> None:
        self.saved.append(config)
        self.row = config


async def _opened(store: FakeStore, clock: FakeClock) -> SharedSimulation:
    shared = await SharedSimulation.open(store, seed=ENVIRONMENT, refresh_s=REFRESH_S, clock=clock)
    store.reads = 0
    return shared


async def test_the_copy_is_used_until_it_is_refresh_s_old_then_read_again() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)
    store.row = OUTAGE  # another instance took a PUT

    clock.now += REFRESH_S - 0.01
    assert await shared.current() == ENVIRONMENT
    assert store.reads == 0

    clock.now += 0.01
    assert await shared.current() == OUTAGE
    assert store.reads == 1

    clock.now += REFRESH_S - 0.01  # the new copy is young again: no read
    for _ in range(10):
        assert await shared.current() == OUTAGE
    assert store.reads == 1


async def test_requests_that_find_the_copy_stale_share_one_read() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)
    store.row, store.gate = OUTAGE, asyncio.Event()
    clock.now += REFRESH_S

    waiting = [asyncio.create_task(shared.current()) for _ in range(5)]
    await asyncio.sleep(0)
    store.gate.set()

    assert await asyncio.gather(*waiting) == [OUTAGE] * 5
    assert store.reads == 1


async def test_the_instance_that_takes_a_put_applies_it_at_once() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)

    await shared.replace(HANG)

    assert store.saved == [HANG]
    assert store.row == HANG
    assert await shared.current() == HANG
    assert store.reads == 0


async def test_a_read_begun_before_a_put_does_not_bring_the_old_one_back() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)
    store.gate = asyncio.Event()
    clock.now += REFRESH_S
    reading = asyncio.create_task(shared.current())  # reads ENVIRONMENT, held at the gate
    await asyncio.sleep(0)

    replacing = asyncio.create_task(shared.replace(OUTAGE))
    await asyncio.sleep(0)
    store.gate.set()
    await asyncio.gather(reading, replacing)

    assert await shared.current() == OUTAGE


async def test_a_failed_read_keeps_the_copy_and_is_retried_after_refresh_s() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)
    store.row, store.failing = OUTAGE, True
    clock.now += REFRESH_S

    assert await shared.current() == ENVIRONMENT
    assert await shared.current() == ENVIRONMENT
    assert store.reads == 1  # not once per request while the database is away

    store.failing = False
    clock.now += REFRESH_S
    assert await shared.current() == OUTAGE
    assert store.reads == 2


async def test_reload_reads_the_stored_one_at_once() -> None:
    store, clock = FakeStore(), FakeClock()
    shared = await _opened(store, clock)
    store.row = HANG

    assert await shared.reload() == HANG
    assert await shared.current() == HANG
    assert store.reads == 1


async def test_the_environment_seeds_only_an_empty_store() -> None:
    empty, clock = FakeStore(), FakeClock()
    assert await (await _opened(empty, clock)).current() == ENVIRONMENT
    assert empty.row == ENVIRONMENT

    set_by_a_put = FakeStore(row=OUTAGE)
    assert await (await _opened(set_by_a_put, clock)).current() == OUTAGE
    assert set_by_a_put.row == OUTAGE
