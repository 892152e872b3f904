"""The recovery worker: settles every order left unsettled by a request that gave up or died.

Every ``interval_s`` it takes the orders in ``payment_pending`` or ``payment_unavailable``
that nobody touched for ``after_s`` and has the service settle each from what payment's
ledger says (:meth:`order_svc.service.OrderService.recover`): accept (the order.placed
event goes through the outbox like any other), decline, or void the key and cancel. The
service claims an order (compare-and-set on its version) before it acts, so a customer's
retry and the worker never settle the same order twice. Payment unreachable or busy with
the key: the order is left for a later round. docs/saga.md has the whole picture.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from order_svc.payment_client import PaymentUnavailable
from order_svc.service import OrderService

log = structlog.get_logger(__name__)


class RecoveryWorker:
    def __init__(
        self, service: OrderService, *, interval_s: float, after_s: float, batch: int
    ) -> None:
        self._service = service
        self._interval = interval_s
        self._after = timedelta(seconds=after_s)
        self._batch = batch

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the worker must outlive any one bad round
                log.exception("recovery round failed")
            await asyncio.sleep(self._interval)

    async def run_once(self) -> int:
        """One round over the unsettled orders; returns how many it settled."""
        stuck = await self._service.unsettled(untouched_for=self._after, limit=self._batch)
        settled = 0
        for order in stuck:
            try:
                if await self._service.recover(order):
                    settled += 1
            except PaymentUnavailable as exc:
                # Payment cannot say now: it will not for the next order either.
                log.warning("payment cannot say yet", order_id=order.order_id, cause=exc.cause)
                break
        return settled
