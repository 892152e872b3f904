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

    If a batch fails, its items are run again one by one, so only the item that fails
    alone gets the error; the others are not held hostage by it.
    """

    def __init__(self, run: BatchRun[I, R], *, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._run = run
        self._max_batch = max_batch
        self._waiting: list[tuple[I, asyncio.Future[R]]] = []
        self._turn = asyncio.Lock()
        self.batches = 0  # how many transactions ran (their sizes show in the tests)

    async def submit(self, item: I) -> R:
        """``item``'s result once its batch is committed; its error if it fails alone."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        # Lock is first come, first served: the first writer in line takes the batch,
        # the writers whose item it took find their result set when their turn comes.
        # (With more waiting than fit one batch, it commits batches until its own is.)
        async with self._turn:
            while not done.done():
                batch = self._waiting[: self._max_batch]
                del self._waiting[: len(batch)]
                try:
                    await self._commit(batch)
                except BaseException:  # cancelled: the others' items go to the next in line
                    self._waiting[:0] = [w for w in batch if w[1] is not done and not w[1].done()]
                    raise
        return done.result()

    async def _commit(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:  # noqa: BLE001 - handed to its writer, whatever it is
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for one in batch:  # which one failed? each alone
                await self._commit([one])
            return
        finally:
            self.batches += 1
        for (_, done), result in zip(batch, results, strict=True):
            done.set_result(result)
