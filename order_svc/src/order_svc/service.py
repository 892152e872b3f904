"""order_svc's use cases: placing an order, and settling one the saga finds unsettled.

Placing: idempotency, payment, and the order + event in one transaction. Every path
ends in an answer for the customer; payment problems are outcomes here, never
exceptions that escape as a 500. The answer is due within the budget that began when
the request arrived (:mod:`order_svc.admission`): the charge gets what is left of it,
less a reserve for saving the outcome and answering.

Settling (the recovery worker's, :mod:`order_svc.recovery`): ask payment what the
order's key charged and carry out what :func:`order_svc.domain.decide` says.

Each change of an order's status is a compare-and-set on its version, so a request and
the recovery worker can never both settle the same order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog

from order_svc.admission import request_deadline
from order_svc.domain import (
    EventState,
    Order,
    OrderStatus,
    OrderView,
    PaymentOutcome,
    PlaceOrder,
    Void,
    Wait,
    decide,
    payment_key,
    settle,
)
from order_svc.metrics import ORDERS, SAGA_SETTLED, timed_charge
from order_svc.payment_client import (
    Charge,
    PaymentClient,
    PaymentRefused,
    PaymentResult,
    PaymentUnavailable,
)
from order_svc.store import KeyTaken, OrderStore, StoreError
from order_svc.tracking import TrackingTokens
from pizza_common.contracts import OrderPlaced, utc_now

log = structlog.get_logger(__name__)

Outcome = Literal["accepted", "declined", "unavailable", "refused", "in_progress", "cancelled"]
# payment answers 410 for a key that was voided: nothing is charged under it, ever.
KEY_VOIDED = 410
# Retry-After (seconds) when the order is being settled right now (by another request, the
# recovery worker, or past our own deadline): its outcome is known soon, so ask again soon.
# Payment's own hints (a slow or open circuit) come from the payment client instead.
RETRY_SOON_S = 1


@dataclass(frozen=True, slots=True)
class Placement:
    outcome: Outcome
    order: Order
    replayed: bool = False
    retry_after_s: int | None = None
    detail: str | None = None
    # Accepted by this request: its event as saved with it (the answer needs no read).
    event: EventState | None = None


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different order."""


class OrderService:
    def __init__(
        self,
        store: OrderStore,
        payments: PaymentClient,
        tracking: TrackingTokens,
        *,
        currency: str,
        budget_s: float,
        reserve_s: float,
        accept_within_s: float,
        on_event: Callable[[OrderPlaced], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._payments = payments
        self._tracking = tracking
        self._currency = currency
        self._budget = budget_s
        self._reserve = reserve_s
        self._accept_within = timedelta(seconds=accept_within_s)
        self._on_event = on_event
        self._now = clock

    async def find(self, order_id: str) -> OrderView | None:
        return await self._store.view(order_id)

    def tracking_token(self, order: Order) -> str | None:
        """The customer's tracking token of ``order``, the same on every replay."""
        return self._tracking.handed_out(order.order_id, order.tracking_token_sha256)

    # Placing an order.

    async def place(self, command: PlaceOrder) -> Placement:
        deadline = request_deadline() or asyncio.get_running_loop().time() + self._budget
        order_id = str(uuid.uuid4())
        order = Order.place(
            command,
            order_id=order_id,
            currency=self._currency,
            now=self._now(),
            tracking_token_sha256=self._tracking.sha256_for(order_id),
        )
        placing = [order]  # the order this request works on (an earlier one on a retry)
        try:
            # The deadline holds for our own work too: a database too busy to save the
            # outcome in time leaves the order to the recovery worker, not the customer
            # waiting.
            async with asyncio.timeout_at(deadline):
                return await self._place(command, order, placing, deadline)
        except TimeoutError:
            log.warning("deadline reached before the outcome was saved", order_id=order.order_id)
            ORDERS.labels("unavailable").inc()
            return Placement("unavailable", placing[-1], retry_after_s=RETRY_SOON_S)

    async def _place(
        self, command: PlaceOrder, order: Order, placing: list[Order], deadline: float
    ) -> Placement:
        key = order.idempotency_key
        if key:
            existing = await self._store.by_idempotency_key(key)
            if existing is not None:
                placing.append(existing)
                return await self._retry_or_replay(existing, order, command, deadline)
        try:
            await self._store.add(order)
        except KeyTaken:
            # A concurrent request with the same key won the insert: behave as its retry.
            assert key is not None
            existing = await self._store.by_idempotency_key(key)
            assert existing is not None
            placing.append(existing)
            return await self._retry_or_replay(existing, order, command, deadline)
        log.info("order received", order_id=order.order_id, total=str(order.total))
        return await self._pay(order, command.card_number, deadline)

    async def _retry_or_replay(
        self, existing: Order, asked: Order, command: PlaceOrder, deadline: float
    ) -> Placement:
        if existing.request_fingerprint != asked.request_fingerprint:
            raise IdempotencyConflict(existing.order_id)
        if existing.status is not OrderStatus.PAYMENT_UNAVAILABLE:
            return _as_placement(existing, replayed=True)
        claimed = existing.retry_payment(self._now())
        if not await self._store.save(claimed):
            return Placement("in_progress", existing, retry_after_s=RETRY_SOON_S)
        log.info("retrying payment", order_id=existing.order_id)
        return await self._pay(claimed, command.card_number, deadline)

    async def _pay(self, order: Order, card_number: str, deadline: float) -> Placement:
        charge = Charge(
            order_id=order.order_id,
            amount=order.total,
            currency=order.currency,
            card_number=card_number,
            # One key per order: however often we retry, payment charges once.
            idempotency_key=payment_key(order.order_id),
        )
        answer: PaymentResult | PaymentUnavailable | PaymentRefused
        try:
            answer = await timed_charge(self._payments, charge, deadline=deadline - self._reserve)
        except (PaymentUnavailable, PaymentRefused) as exc:
            answer = exc
        try:
            return await self._record(order, answer)
        except StoreError:
            # The outcome could not be saved (e.g. the database is locked for too long):
            # the order stays payment_pending and the recovery worker settles it from
            # payment's ledger. The customer hears the truth: not confirmed yet.
            log.exception("could not save the payment outcome", order_id=order.order_id)
            ORDERS.labels("unavailable").inc()
            return Placement("unavailable", order, retry_after_s=RETRY_SOON_S)

    async def _record(
        self, order: Order, answer: PaymentResult | PaymentUnavailable | PaymentRefused
    ) -> Placement:
        """Save what payment answered, if the order is still ours; the answer to give."""
        order_id = order.order_id
        if isinstance(answer, PaymentUnavailable):
            # Not final: the charge may still go through. The recovery worker asks
            # payment later and settles the order either way.
            log.warning("payment unavailable", order_id=order_id, cause=answer.cause)
            _, now = await self._change(order.payment_unavailable(answer.cause, self._now()))
            ORDERS.labels("unavailable").inc()
            if now.status is OrderStatus.PAYMENT_UNAVAILABLE:
                return Placement("unavailable", now, retry_after_s=answer.retry_after_s)
            return _as_placement(now)
        if isinstance(answer, PaymentRefused) and answer.status == KEY_VOIDED:
            log.warning("payment key was voided", order_id=order_id)
            cancelled = order.cancel("voided", self._now(), outcome=PaymentOutcome.VOIDED)
            _, now = await self._change(cancelled)
            ORDERS.labels("cancelled").inc()
            return _as_placement(now)
        if isinstance(answer, PaymentRefused):
            log.warning("payment refused the request", order_id=order_id, detail=answer.detail)
            _, now = await self._change(order.refuse(self._now()))
            ORDERS.labels("refused").inc()
            placement = _as_placement(now)
            if placement.outcome == "declined":  # ours: say why, as payment did
                return Placement("refused", now, detail=answer.detail)
            return placement
        if not answer.approved:
            log.info("payment declined", order_id=order_id, reason=answer.reason)
            declined = order.decline(answer.reason, self._now(), payment_id=answer.payment_id)
            _, now = await self._change(declined)
            ORDERS.labels("declined").inc()
            return _as_placement(now)
        accepted, event = order.accept(answer.payment_id, self._now())
        done, now = await self._change(accepted, event=event)
        if not done:
            return _as_placement(now)
        self._on_event(event)
        ORDERS.labels("accepted").inc()
        return Placement("accepted", now, event=EventState(event.event_id, published_at=None))

    # Settling an order the saga finds unsettled.

    async def unsettled(self, *, untouched_for: timedelta, limit: int) -> list[Order]:
        """Unsettled orders nobody touched for ``untouched_for``, oldest first."""
        return await self._store.unsettled(unchanged_since=self._now() - untouched_for, limit=limit)

    async def recover(self, order: Order) -> bool:
        """Settle ``order`` from what payment's ledger says; whether it was settled now.

        Raises :class:`PaymentUnavailable` when payment cannot say.
        """
        key = payment_key(order.order_id)
        charge = await self._payments.charge_status(key)
        action = decide(charge, order_age=order.age(self._now()), accept_within=self._accept_within)
        why = "voided"
        if isinstance(action, Void):
            # Voiding cannot be undone: first make sure no retry of the customer's can
            # accept the order meanwhile (claimed, it is ours until we settle it).
            claimed = order.take_over(self._now())
            if not await self._store.save(claimed):
                return False  # someone else changed it since we read it
            order = claimed
            charge = await self._payments.void(key, action.reason)
            why = action.reason
            # After a void the key is voided or declined, or a request still holds it.
            action = decide(charge, order_age=timedelta(0), accept_within=self._accept_within)
        if isinstance(action, Wait | Void):
            log.info("order left for a later round", order_id=order.order_id, why=str(action))
            return False
        # Accept, decline or cancel, only if the order is still as we read (or claimed) it.
        settled = settle(order, action, self._now(), why=why)
        done = await self._save(settled.order, event=settled.event)
        if done and settled.event is not None:
            self._on_event(settled.event)
        if done:
            SAGA_SETTLED.labels(settled.how).inc()
            log.info("order settled by recovery", order_id=order.order_id, how=settled.how)
        return done

    async def _change(
        self, changed: Order, *, event: OrderPlaced | None = None
    ) -> tuple[bool, Order]:
        """Save a change; whether it was saved, and the order now: ``changed`` if it was,
        else as whoever changed it meanwhile (the recovery worker, another request) left it.
        """
        if await self._save(changed, event=event):
            return True, changed
        current = await self._store.get(changed.order_id)
        assert current is not None
        return False, current

    async def _save(self, changed: Order, *, event: OrderPlaced | None = None) -> bool:
        done = await self._store.save(changed, event=event)
        if done and event is not None:
            log.info("order accepted", order_id=changed.order_id, payment_id=event.payment_id)
        return done


def _as_placement(order: Order, *, replayed: bool = False) -> Placement:
    """The answer an order's current state gives the customer."""
    match order.status:
        case OrderStatus.ACCEPTED:
            return Placement("accepted", order, replayed=replayed)
        case OrderStatus.PAYMENT_DECLINED:
            return Placement("declined", order, replayed=replayed)
        case OrderStatus.CANCELLED:
            return Placement("cancelled", order, replayed=replayed)
        case OrderStatus.PAYMENT_UNAVAILABLE:
            return Placement("unavailable", order, replayed=replayed, retry_after_s=RETRY_SOON_S)
        case _:  # payment_pending: another request or the recovery worker has it
            return Placement("in_progress", order, replayed=replayed, retry_after_s=RETRY_SOON_S)
