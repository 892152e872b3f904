"""Placing an order: idempotency, payment, and the order + event in one transaction.

Every path ends in an answer for the customer; payment problems are outcomes here,
never exceptions that escape as a 500. The answer is due within the budget that began
when the request arrived (:mod:`order_svc.admission`): the charge gets what is left of
it, less a reserve for saving the outcome and answering.

Each change of an order's status is a compare-and-set on its version, so a request and
the recovery worker (:mod:`order_svc.recovery`) can never both settle the same order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc import store
from order_svc.admission import request_deadline
from order_svc.api_models import OrderIn
from order_svc.domain import LineRequest, OrderStatus, payment_key, price_lines
from order_svc.metrics import ORDERS, timed_charge
from order_svc.payment_client import (
    Charge,
    PaymentClient,
    PaymentRefused,
    PaymentResult,
    PaymentUnavailable,
)
from order_svc.store import OrderRecord
from pizza_common.avro import to_avro_json
from pizza_common.tracing import inject_headers

log = structlog.get_logger("order_svc.placing")

Outcome = Literal["accepted", "declined", "unavailable", "refused", "in_progress", "cancelled"]
# payment answers 410 for a key that was voided: nothing is charged under it, ever.
KEY_VOIDED = 410


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


async def settle(
    engine: AsyncEngine,
    order_id: str,
    *,
    version: int,
    status: OrderStatus,
    now: datetime,
    payment_id: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
) -> tuple[bool, OrderRecord]:
    """Move an order held at ``version`` to ``status``; whether it did, and the order now."""
    # The write transaction is one statement: it holds SQLite's write lock for no longer.
    async with engine.begin() as conn:
        done = await store.set_payment_result(
            conn,
            order_id,
            version=version,
            status=status,
            now=now,
            payment_id=payment_id,
            outcome=outcome,
            reason=reason,
        )
    return done, await _read(engine, order_id)


async def accept(
    engine: AsyncEngine, order: OrderRecord, *, version: int, payment_id: str, now: datetime
) -> tuple[bool, OrderRecord]:
    """Paid: the order's new state and its order.placed event commit together, or neither."""
    event = replace(order, payment_id=payment_id).to_event(placed_at=now)
    async with engine.begin() as conn:
        done = await store.set_payment_result(
            conn,
            order.order_id,
            version=version,
            status=OrderStatus.ACCEPTED,
            now=now,
            payment_id=payment_id,
            outcome="approved",
        )
        if done:
            await store.add_to_outbox(
                conn,
                event_id=event.event_id,
                topic=event.TOPIC,
                key=event.order_id,
                payload=to_avro_json(event),
                now=now,
                trace_context=json.dumps(inject_headers()),
            )
    if done:
        log.info("order accepted", order_id=order.order_id, payment_id=payment_id)
    return done, await _read(engine, order.order_id)


async def _read(engine: AsyncEngine, order_id: str) -> OrderRecord:
    async with engine.connect() as conn:
        order = await store.get_order(conn, order_id)
    assert order is not None
    return order


class OrderPlacer:
    def __init__(
        self,
        engine: AsyncEngine,
        payments: PaymentClient,
        *,
        currency: str,
        budget_s: float,
        reserve_s: float,
        on_event: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._payments = payments
        self._currency = currency
        self._budget = budget_s
        self._reserve = reserve_s
        self._on_event = on_event
        self._now = clock

    async def place(self, order_in: OrderIn, idempotency_key: str | None) -> Placement:
        deadline = request_deadline() or asyncio.get_running_loop().time() + self._budget
        record = self._new_order(order_in, idempotency_key, fingerprint(order_in))
        placing = [record]  # the order this request works on (an earlier one on a retry)
        try:
            # The deadline holds for our own work too: a database too busy to save the
            # outcome in time leaves the order to the recovery worker, not the customer
            # waiting.
            async with asyncio.timeout_at(deadline):
                return await self._place(order_in, record, placing, deadline)
        except TimeoutError:
            log.warning("deadline reached before the outcome was saved", order_id=record.order_id)
            ORDERS.labels("unavailable").inc()
            return Placement("unavailable", placing[-1], retry_after_s=1)

    async def _place(
        self, order_in: OrderIn, record: OrderRecord, placing: list[OrderRecord], deadline: float
    ) -> Placement:
        key, print_ = record.idempotency_key, record.request_fingerprint
        if key:
            async with self._engine.connect() as conn:
                existing = await store.get_order_by_key(conn, key)
            if existing is not None:
                placing.append(existing)
                return await self._retry_or_replay(existing, print_, order_in, deadline)
        try:
            async with self._engine.begin() as conn:
                await store.insert_order(conn, record)
        except IntegrityError:
            # A concurrent request with the same key won the insert: behave as its retry.
            assert key is not None
            async with self._engine.connect() as conn:
                existing = await store.get_order_by_key(conn, key)
            assert existing is not None
            placing.append(existing)
            return await self._retry_or_replay(existing, print_, order_in, deadline)
        log.info("order received", order_id=record.order_id, total=str(record.total))
        return await self._pay(record, record.version, order_in.payment.card_number, deadline)

    async def _retry_or_replay(
        self, existing: OrderRecord, print_: str, order_in: OrderIn, deadline: float
    ) -> Placement:
        if existing.request_fingerprint != print_:
            raise IdempotencyConflict(existing.order_id)
        if existing.status is not OrderStatus.PAYMENT_UNAVAILABLE:
            return _as_placement(existing, replayed=True)
        async with self._engine.begin() as conn:
            version = await store.claim(conn, existing, now=self._now())
        if version is None:
            return Placement("in_progress", existing, retry_after_s=1)
        log.info("retrying payment", order_id=existing.order_id)
        return await self._pay(existing, version, order_in.payment.card_number, deadline)

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
            version=0,
        )

    async def _pay(
        self, record: OrderRecord, version: int, card_number: str, deadline: float
    ) -> Placement:
        charge = Charge(
            order_id=record.order_id,
            amount=record.total,
            currency=record.currency,
            card_number=card_number,
            # One key per order: however often we retry, payment charges once.
            idempotency_key=payment_key(record.order_id),
        )
        answer: PaymentResult | PaymentUnavailable | PaymentRefused
        try:
            answer = await timed_charge(self._payments, charge, deadline=deadline - self._reserve)
        except (PaymentUnavailable, PaymentRefused) as exc:
            answer = exc
        try:
            return await self._record(record, version, answer)
        except SQLAlchemyError:
            # The outcome could not be saved (e.g. the database is locked for too long):
            # the order stays payment_pending and the recovery worker settles it from
            # payment's ledger. The customer hears the truth: not confirmed yet.
            log.exception("could not save the payment outcome", order_id=record.order_id)
            ORDERS.labels("unavailable").inc()
            return Placement("unavailable", record, retry_after_s=1)

    async def _record(
        self,
        record: OrderRecord,
        version: int,
        answer: PaymentResult | PaymentUnavailable | PaymentRefused,
    ) -> Placement:
        """Save what payment answered, if the order is still ours; the answer to give."""
        order_id = record.order_id
        if isinstance(answer, PaymentUnavailable):
            # Not final: the charge may still go through. The recovery worker asks
            # payment later and settles the order either way.
            log.warning("payment unavailable", order_id=order_id, cause=answer.cause)
            order = await self._settle(
                order_id, version, OrderStatus.PAYMENT_UNAVAILABLE, reason=answer.cause
            )
            ORDERS.labels("unavailable").inc()
            if order.status is OrderStatus.PAYMENT_UNAVAILABLE:
                return Placement("unavailable", order, retry_after_s=answer.retry_after_s)
            return _as_placement(order)
        if isinstance(answer, PaymentRefused) and answer.status == KEY_VOIDED:
            log.warning("payment key was voided", order_id=order_id)
            order = await self._settle(
                order_id, version, OrderStatus.CANCELLED, outcome="voided", reason="voided"
            )
            ORDERS.labels("cancelled").inc()
            return _as_placement(order)
        if isinstance(answer, PaymentRefused):
            log.warning("payment refused the request", order_id=order_id, detail=answer.detail)
            order = await self._settle(
                order_id,
                version,
                OrderStatus.PAYMENT_DECLINED,
                outcome="refused",
                reason="invalid_payment",
            )
            ORDERS.labels("refused").inc()
            placement = _as_placement(order)
            if placement.outcome == "declined":  # ours: say why, as payment did
                return Placement("refused", order, detail=answer.detail)
            return placement
        if not answer.approved:
            log.info("payment declined", order_id=order_id, reason=answer.reason)
            order = await self._settle(
                order_id,
                version,
                OrderStatus.PAYMENT_DECLINED,
                payment_id=answer.payment_id,
                outcome="declined",
                reason=answer.reason,
            )
            ORDERS.labels("declined").inc()
            return _as_placement(order)
        done, order = await accept(
            self._engine, record, version=version, payment_id=answer.payment_id, now=self._now()
        )
        if done:
            self._on_event()
            ORDERS.labels("accepted").inc()
        return _as_placement(order)

    async def _settle(
        self,
        order_id: str,
        version: int,
        status: OrderStatus,
        *,
        payment_id: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> OrderRecord:
        _, order = await settle(
            self._engine,
            order_id,
            version=version,
            status=status,
            now=self._now(),
            payment_id=payment_id,
            outcome=outcome,
            reason=reason,
        )
        # If the recovery worker took the order meanwhile, this is its state, not ours.
        return order


def _as_placement(order: OrderRecord, *, replayed: bool = False) -> Placement:
    """The answer an order's current state gives the customer."""
    match order.status:
        case OrderStatus.ACCEPTED:
            return Placement("accepted", order, replayed=replayed)
        case OrderStatus.PAYMENT_DECLINED:
            return Placement("declined", order, replayed=replayed)
        case OrderStatus.CANCELLED:
            return Placement("cancelled", order, replayed=replayed)
        case OrderStatus.PAYMENT_UNAVAILABLE:
            return Placement("unavailable", order, replayed=replayed, retry_after_s=1)
        case _:  # payment_pending: another request or the recovery worker has it
            return Placement("in_progress", order, replayed=replayed, retry_after_s=1)
