"""Status changes fanned out to whoever follows an order (the SSE streams), in process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from delivery_svc.domain import TrackedOrder

CLOSED = None
"""Put into every queue when the service stops, so the streams end."""


class StatusFeed:
    def __init__(self) -> None:
        self._followers: defaultdict[str, set[asyncio.Queue[TrackedOrder | None]]] = defaultdict(
            set
        )
        self._closed = False

    @asynccontextmanager
    async def follow(self, order_id: str) -> AsyncIterator[asyncio.Queue[TrackedOrder | None]]:
        queue: asyncio.Queue[TrackedOrder | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(CLOSED)
        self._followers[order_id].add(queue)
        try:
            yield queue
        finally:
            self._followers[order_id].discard(queue)
            if not self._followers[order_id]:
                del self._followers[order_id]

    def publish(self, order: TrackedOrder) -> None:
        for queue in self._followers.get(order.order_id, ()):
            queue.put_nowait(order)

    def close(self) -> None:
        self._closed = True
        for queues in self._followers.values():
            for queue in queues:
                queue.put_nowait(CLOSED)
