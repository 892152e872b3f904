"""Group commit: writes that arrive together share one database transaction.

A consumer with several records in flight applies each in its own coroutine; a
transaction per record makes the database's commit (and, with aiosqlite, the crossings
to its thread) most of the cost. ``GroupCommit`` lets the first writer take every write
waiting at that moment into one batch; writers arriving while it runs form the next.
No timer: a write alone is not delayed, and batches grow only as fast as writes queue up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - an item, as in the type parameters of typing
R = TypeVar("R")

BatchRun = Callable[[Sequence[I]], Awaitable[Sequence[R]]]
"""Applies a batch in one transaction; returns one result per item, in order."""


class GroupCommit(Generic[I, R]):
    """Runs ``run`` on every item submitted while an earlier batch was running.

    The batches run in a task of their own: a writer that is cancelled (its deadline
    passed) stops waiting, but never cuts short a transaction that holds the others'
    writes too; its own write may still be committed, as it may without batching.
    If a batch fails, its items are run again one by one, so only an item that fails
    alone gets the error; the others are not held hostage by it.
    """

    def __init__(self, run: BatchRun[I, R], *, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._run = run
        self._max_batch = max_batch
        self._waiting: list[tuple[I, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # how many transactions ran (their sizes show in the tests)

    async def submit(self, item: I) -> R:
        """``item``'s result once its batch is committed; its error if it fails alone."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await done

    async def _flush(self) -> None:
        """Batch after batch, in the order written, until nobody waits. (No await
        between the last look and the end: a write comes before it or finds it done.)"""
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: len(batch)]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:  # noqa: BLE001 - handed to its writer, whatever it is
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            for one in batch:  # which one failed? each alone
                await self._commit([one])
            return
        finally:
            self.batches += 1
        for (_, done), result in zip(batch, results, strict=True):
            _settle(done, result)


def _settle(done: asyncio.Future[R], outcome: R | Exception) -> None:
    if done.done():  # its writer stopped waiting (cancelled)
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
