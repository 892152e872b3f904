"""The recovery worker: settles every order left unsettled by a request that gave up or died.

Every ``interval_s`` it takes the orders in ``payment_pending`` or ``payment_unavailable``
that nobody touched for ``after_s``, asks payment what the order's key charged, and
carries out what :func:`order_svc.saga.decide` says: accept (the order.placed event goes
through the outbox like any other), decline, or void the key and cancel. It claims an
order (compare-and-set on its version) before it acts, so a customer's retry and the
worker never settle the same order twice. Payment unreachable or busy with the key: the
order is left for a later round. docs/saga.md has the whole picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc import store
from order_svc.domain import (
    UNSETTLED,
    Accept,
    Cancel,
    Decline,
    OrderStatus,
    Void,
    Wait,
    decide,
    payment_key,
)
from order_svc.metrics import SAGA_SETTLED
from order_svc.payment_client import PaymentClient, PaymentUnavailable
from order_svc.service import accept, settle
from order_svc.store import OrderRecord

log = structlog.get_logger("order_svc.recovery")


class RecoveryWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        payments: PaymentClient,
        *,
        interval_s: float,
        after_s: float,
        accept_within_s: float,
        batch: int,
        on_event: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._payments = payments
        self._interval = interval_s
        self._after = timedelta(seconds=after_s)
        self._accept_within = timedelta(seconds=accept_within_s)
        self._batch = batch
        self._on_event = on_event
        self._now = clock

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the worker must outlive any one bad round
                log.exception("recovery round failed")
            await asyncio.sleep(self._interval)

    async def run_once(self) -> int:
        """One round over the unsettled orders; returns how many it settled."""
        async with self._engine.connect() as conn:
            stuck = await store.unsettled_orders(
                conn, unchanged_since=self._now() - self._after, limit=self._batch
            )
        settled = 0
        for order in stuck:
            try:
                settled += await self._recover(order)
            except PaymentUnavailable as exc:
                # Payment cannot say now: it will not for the next order either.
                log.warning("payment cannot say yet", order_id=order.order_id, cause=exc.cause)
                break
        return settled

    async def _recover(self, order: OrderRecord) -> int:
        key = payment_key(order.order_id)
        charge = await self._payments.charge_status(key)
        action = decide(
            charge, order_age=self._now() - order.created_at, accept_within=self._accept_within
        )
        version = order.version
        why = "voided"
        if isinstance(action, Void):
            # Voiding cannot be undone: first make sure no retry of the customer's can
            # accept the order meanwhile (claimed, it is ours until we settle it).
            async with self._engine.begin() as conn:
                claimed = await store.claim(conn, order, now=self._now(), statuses=UNSETTLED)
            if claimed is None:
                return 0  # someone else changed it since we read it
            version = claimed
            charge = await self._payments.void(key, action.reason)
            why = action.reason
            # After a void the key is voided or declined, or a request still holds it.
            action = decide(charge, order_age=timedelta(0), accept_within=self._accept_within)
        if isinstance(action, Wait | Void):
            log.info("order left for a later round", order_id=order.order_id, why=str(action))
            return 0
        # Accept, decline or cancel, only if the order is still as we read (or claimed) it.
        now = self._now()
        match action:
            case Accept(payment_id):
                done, _ = await accept(
                    self._engine, order, version=version, payment_id=payment_id, now=now
                )
                if done:
                    self._on_event()
                how = "accepted"
            case Decline(payment_id, reason):
                done, _ = await settle(
                    self._engine,
                    order.order_id,
                    version=version,
                    status=OrderStatus.PAYMENT_DECLINED,
                    now=now,
                    payment_id=payment_id,
                    outcome="declined",
                    reason=reason,
                )
                how = "declined"
            case Cancel(payment_id):
                done, _ = await settle(
                    self._engine,
                    order.order_id,
                    version=version,
                    status=OrderStatus.CANCELLED,
                    now=now,
                    payment_id=payment_id,
                    outcome="voided" if payment_id else "not_charged",
                    reason=why,
                )
                how = "cancelled"
        if done:
            SAGA_SETTLED.labels(how).inc()
            log.info("order settled by recovery", order_id=order.order_id, how=how)
        return 1 if done else 0
