"""Placing an order: idempotency, payment, and the order + event in one transaction.

Every path ends in an answer for the customer; payment problems are outcomes here,
never exceptions that escape as a 500.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc import repository
from order_svc.api_models import OrderIn
from order_svc.domain import LineRequest, OrderStatus, price_lines
from order_svc.metrics import ORDERS, on_breaker_change, timed_charge
from order_svc.payment_client import Charge, PaymentClient, PaymentRefused, PaymentUnavailable
from order_svc.repository import OrderRecord
from pizza_common.avro import to_avro_json
from pizza_common.tracing import inject_headers

log = structlog.get_logger("order_svc.placing")

Outcome = Literal["accepted", "declined", "unavailable", "refused", "in_progress"]


@dataclass(frozen=True, slots=True)
class Placement:
    outcome: Outcome
    order: OrderRecord
    replayed: bool = False
    retry_after_s: int | None = None
    detail: str | None = None


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different order."""


def fingerprint(order: OrderIn) -> str:
    canonical = json.dumps(order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class OrderPlacer:
    def __init__(
        self,
        engine: AsyncEngine,
        payments: PaymentClient,
        *,
        currency: str,
        stale_after_s: float,
        on_event: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._payments = payments
        self._currency = currency
        self._stale_after = timedelta(seconds=stale_after_s)
        self._on_event = on_event
        self._now = clock
        payments.breakers.add_listener(on_breaker_change)

    async def place(self, order_in: OrderIn, idempotency_key: str | None) -> Placement:
        print_ = fingerprint(order_in)
        if idempotency_key:
            async with self._engine.connect() as conn:
                existing = await repository.get_order_by_key(conn, idempotency_key)
            if existing is not None:
                return await self._retry_or_replay(existing, print_, order_in)
        record = self._new_order(order_in, idempotency_key, print_)
        try:
            async with self._engine.begin() as conn:
                await repository.insert_order(conn, record)
        except IntegrityError:
            # A concurrent request with the same key won the insert: behave as its retry.
            assert idempotency_key is not None
            async with self._engine.connect() as conn:
                existing = await repository.get_order_by_key(conn, idempotency_key)
            assert existing is not None
            return await self._retry_or_replay(existing, print_, order_in)
        log.info("order received", order_id=record.order_id, total=str(record.total))
        return await self._pay(record, order_in.payment.card_number)

    async def _retry_or_replay(
        self, existing: OrderRecord, print_: str, order_in: OrderIn
    ) -> Placement:
        if existing.request_fingerprint != print_:
            raise IdempotencyConflict(existing.order_id)
        if existing.status is OrderStatus.ACCEPTED:
            return Placement("accepted", existing, replayed=True)
        if existing.status is OrderStatus.PAYMENT_DECLINED:
            return Placement("declined", existing, replayed=True)
        now = self._now()
        async with self._engine.begin() as conn:
            claimed = await repository.claim_for_payment(
                conn, existing.order_id, stale_before=now - self._stale_after, now=now
            )
        if not claimed:
            return Placement("in_progress", existing, retry_after_s=1)
        log.info("retrying payment", order_id=existing.order_id)
        return await self._pay(existing, order_in.payment.card_number)

    def _new_order(self, order_in: OrderIn, key: str | None, print_: str) -> OrderRecord:
        items, total = price_lines(
            [LineRequest(i.pizza_id, i.size, i.quantity) for i in order_in.items]
        )
        now = self._now()
        card = order_in.payment.card_number.replace(" ", "")
        return OrderRecord(
            order_id=str(uuid.uuid4()),
            idempotency_key=key,
            request_fingerprint=print_,
            status=OrderStatus.PAYMENT_PENDING,
            customer=order_in.customer.model_dump(mode="json"),
            delivery_address=order_in.delivery_address.model_dump(mode="json"),
            items=[
                {
                    "pizza_id": item.pizza_id,
                    "name": item.name,
                    "size": item.size.value,
                    "quantity": item.quantity,
                    "unit_price": str(item.unit_price),
                }
                for item in items
            ],
            total=total,
            currency=self._currency,
            card_last4=card[-4:],
            payment_id=None,
            payment_outcome=None,
            payment_reason=None,
            created_at=now,
            updated_at=now,
        )

    async def _pay(self, record: OrderRecord, card_number: str) -> Placement:
        charge = Charge(
            order_id=record.order_id,
            amount=record.total,
            currency=record.currency,
            card_number=card_number,
            # One key per order: however often we retry, payment charges once.
            idempotency_key=f"order-{record.order_id}",
        )
        try:
            result = await timed_charge(self._payments, charge)
        except PaymentUnavailable as exc:
            log.warning("payment unavailable", order_id=record.order_id, cause=exc.cause)
            order = await self._settle(record, OrderStatus.PAYMENT_UNAVAILABLE, reason=exc.cause)
            ORDERS.labels("unavailable").inc()
            return Placement("unavailable", order, retry_after_s=exc.retry_after_s)
        except PaymentRefused as exc:
            log.warning("payment refused the request", order_id=record.order_id, detail=exc.detail)
            order = await self._settle(
                record, OrderStatus.PAYMENT_DECLINED, outcome="refused", reason="invalid_payment"
            )
            ORDERS.labels("refused").inc()
            return Placement("refused", order, detail=exc.detail)
        if not result.approved:
            log.info("payment declined", order_id=record.order_id, reason=result.reason)
            order = await self._settle(
                record,
                OrderStatus.PAYMENT_DECLINED,
                payment_id=result.payment_id,
                outcome="declined",
                reason=result.reason,
            )
            ORDERS.labels("declined").inc()
            return Placement("declined", order)
        order = await self._accept(record, result.payment_id)
        ORDERS.labels("accepted").inc()
        return Placement("accepted", order)

    async def _settle(
        self,
        record: OrderRecord,
        status: OrderStatus,
        *,
        payment_id: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> OrderRecord:
        async with self._engine.begin() as conn:
            await repository.set_payment_result(
                conn,
                record.order_id,
                status=status,
                now=self._now(),
                payment_id=payment_id,
                outcome=outcome,
                reason=reason,
            )
            order = await repository.get_order(conn, record.order_id)
        assert order is not None
        return order

    async def _accept(self, record: OrderRecord, payment_id: str) -> OrderRecord:
        """Paid: the order's new state and its order.placed event commit together."""
        now = self._now()
        async with self._engine.begin() as conn:
            await repository.set_payment_result(
                conn,
                record.order_id,
                status=OrderStatus.ACCEPTED,
                now=now,
                payment_id=payment_id,
                outcome="approved",
            )
            order = await repository.get_order(conn, record.order_id)
            assert order is not None
            event = order.to_event(placed_at=now)
            await repository.add_to_outbox(
                conn,
                event_id=event.event_id,
                topic=event.TOPIC,
                key=event.order_id,
                payload=to_avro_json(event),
                now=now,
                trace_context=json.dumps(inject_headers()),
            )
        log.info("order accepted", order_id=order.order_id, payment_id=payment_id)
        self._on_event()
        return order
