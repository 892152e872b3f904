"""Cooking one order: the consumer loop's handler for order.placed.

An order whose ticket says it was published is a duplicate and is skipped; one that was
cooked but maybe not published re-sends the same order.ready (same event id); one found
mid-cook (its instance died) is cooked again here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from kitchen_svc.domain import Ticket, TicketStatus
from kitchen_svc.metrics import COOK_DURATION, ORDERS_COOKED
from kitchen_svc.store import TicketStore
from pizza_common.avro import AvroEventCodec
from pizza_common.consumer import AfterCommit, ConsumedEvent, GiveBack, Outbox, RejectedEvent
from pizza_common.durations import SecondsRange
from pizza_common.events import ORDER_READY, OrderPlaced, OrderReady
from pizza_common.tracing import span

log = structlog.get_logger("kitchen")

MAX_QUANTITY = 20


def why_uncookable(order: OrderPlaced) -> str | None:
    """A reason the kitchen refuses ``order``, or None if it can be cooked."""
    for item in order.items:
        if not 1 <= item.quantity <= MAX_QUANTITY:
            return f"{item.pizza_id}: quantity {item.quantity} is not 1 to {MAX_QUANTITY}"
    return None


@dataclass(frozen=True, slots=True)
class CurrentOrder:
    order_id: str
    phase: str
    since: datetime


@dataclass(slots=True)
class KitchenCounts:
    cooked: int = 0
    resent: int = 0
    duplicates: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Kitchen:
    instance: str
    store: TicketStore
    codec: AvroEventCodec[OrderReady]
    cook_time: SecondsRange
    stopping: asyncio.Event
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = _now
    current: CurrentOrder | None = None
    counts: KitchenCounts = field(default_factory=KitchenCounts)

    async def handle(self, consumed: ConsumedEvent, outbox: Outbox) -> AfterCommit | None:
        order = consumed.event
        if not isinstance(order, OrderPlaced):
            raise RejectedEvent(f"expected an order.placed event, got {type(order).__name__}")
        reason = why_uncookable(order)
        if reason is not None:
            raise RejectedEvent(reason)
        ticket = await self.store.get(order.order_id)
        if ticket is not None and ticket.status is TicketStatus.PUBLISHED:
            self.counts.duplicates += 1
            log.info("already cooked, skipped", cooked_by=ticket.instance)
            return None
        resent = ticket is not None and ticket.status is TicketStatus.READY
        try:
            if ticket is None or ticket.status is TicketStatus.COOKING:
                with span("cook", attributes={"pizza.kitchen.instance": self.instance}):
                    ticket = await self._cook(order, consumed)
            self.current = CurrentOrder(order.order_id, "publishing", self.clock())
            ready = ticket.ready_event()
            value = await asyncio.to_thread(self.codec.encode, ready)
            await outbox.publish(ORDER_READY, key=order.order_id, value=value)
        finally:
            self.current = None

        async def published() -> None:
            await self.store.mark_published(order.order_id, at=self.clock())
            if resent:
                self.counts.resent += 1
            else:
                self.counts.cooked += 1
                ORDERS_COOKED.labels(self.instance).inc()
            log.info(
                "ready",
                order_id=order.order_id,
                pizza_count=ready.pizza_count,
                resent=resent,
                partition=consumed.partition,
            )

        return published

    async def _cook(self, order: OrderPlaced, consumed: ConsumedEvent) -> Ticket:
        started = self.clock()
        self.current = CurrentOrder(order.order_id, "cooking", started)
        await self.store.start_cooking(
            order_id=order.order_id,
            placed_event_id=order.event_id,
            instance=self.instance,
            pizza_count=order.pizza_count,
            partition=consumed.partition,
            offset=consumed.offset,
            started_at=started,
        )
        seconds = self.cook_time.draw(self.rng)
        log.info("cooking", pizza_count=order.pizza_count, seconds=round(seconds, 1))
        if await _interrupted_within(seconds, self.stopping, consumed.give_back):
            # Not finished (stopping, or the partition moved to another kitchen): the
            # order stays uncommitted and is cooked by the partition's next owner.
            raise GiveBack(order.order_id)
        COOK_DURATION.observe((self.clock() - started).total_seconds())
        ready = OrderReady(
            order_id=order.order_id,
            placed_event_id=order.event_id,
            kitchen_instance=self.instance,
            cook_started_at=started,
            pizza_count=order.pizza_count,
            ready_at=self.clock(),
        )
        await self.store.mark_ready(
            order.order_id, ready_at=ready.ready_at, ready_event_id=ready.event_id
        )
        stored = await self.store.get(order.order_id)
        assert stored is not None
        return stored


async def _interrupted_within(seconds: float, *events: asyncio.Event) -> bool:
    """Sleep ``seconds``; True as soon as any of ``events`` is set instead."""
    if any(event.is_set() for event in events):
        return True
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return bool(done)
