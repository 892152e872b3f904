"""Group commit: writes waiting together run as one batch; a failing one fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from pizza_common.runtime import GroupCommit


class Recorder:
    """Doubles its items, one call per batch; raises for any batch holding a poison."""

    def __init__(self, poison: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.poison = poison

    async def run(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(0)  # a transaction takes a while: writers queue meanwhile
        if self.poison in items:
            raise ValueError(f"{self.poison} breaks its batch")
        return [2 * item for item in items]


async def test_a_lone_write_runs_at_once_in_a_batch_of_its_own() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.run)
    assert await group.submit(3) == 6
    assert recorder.batches == [[3]]


async def test_writes_waiting_together_share_one_batch_in_their_order() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.run)
    results = await asyncio.gather(*(group.submit(n) for n in range(10)))
    assert results == [2 * n for n in range(10)]
    assert recorder.batches == [list(range(10))]
    # Written while a batch runs: the next batch, all of them together.
    first = asyncio.create_task(group.submit(10))
    await asyncio.sleep(0)  # its batch is running
    later = [asyncio.create_task(group.submit(n)) for n in range(11, 15)]
    assert await asyncio.gather(first, *later) == [2 * n for n in range(10, 15)]
    assert recorder.batches[1:] == [[10], [11, 12, 13, 14]]
    assert group.batches == 3


async def test_a_batch_never_exceeds_its_limit() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.run, max_batch=4)
    results = await asyncio.gather(*(group.submit(n) for n in range(11)))
    assert results == [2 * n for n in range(11)]
    assert [n for batch in recorder.batches for n in batch] == list(range(11))
    assert max(len(batch) for batch in recorder.batches) == 4


async def test_a_write_that_fails_fails_alone_and_the_others_are_applied() -> None:
    recorder = Recorder(poison=5)
    group = GroupCommit(recorder.run)
    results = await asyncio.gather(*(group.submit(n) for n in range(8)), return_exceptions=True)
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i != 5] == [2 * n for n in range(8) if n != 5]
    # The failed batch was tried again one by one: each item but the poison succeeded alone.
    assert [5] in recorder.batches


async def test_a_writer_that_stops_waiting_cuts_no_batch_short() -> None:
    release = asyncio.Event()
    running = asyncio.Event()
    committed: list[list[int]] = []

    async def slow(items: Sequence[int]) -> list[int]:
        running.set()
        await release.wait()
        committed.append(list(items))
        return list(items)

    group = GroupCommit(slow)
    writers = [asyncio.create_task(group.submit(n)) for n in range(3)]
    await running.wait()
    writers[0].cancel()  # its deadline passed mid-transaction
    with pytest.raises(asyncio.CancelledError):
        await writers[0]
    release.set()
    assert await asyncio.gather(*writers[1:]) == [1, 2]
    assert committed == [[0, 1, 2]]


def test_a_batch_limit_below_one_is_refused() -> None:
    async def run(items: Sequence[int]) -> list[int]:
        return list(items)

    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(run, max_batch=0)
