"""The kitchen's use cases: cook an order, re-send a cooked one, skip a duplicate.

Which of them an order.placed gets is the domain's :func:`~kitchen_svc.domain.next_step`
(see :mod:`kitchen_svc.handlers`). Cooking opens (or takes over) the order's ticket, cooks,
marks it ready with its order.ready fixed, and publishes that event through the consumer's
outbox, in the transaction that commits the order.placed; the ticket is marked published
once that transaction committed.

An instance cooks up to ``KITCHEN_OVENS`` orders at once (the consumer hands it that many
records, never two of one order side by side); ``cooking`` is what the ovens hold now.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from kitchen_svc.domain import Ticket
from kitchen_svc.metrics import COOK_DURATION, ORDERS_COOKED
from kitchen_svc.store import TicketStore
from pizza_common.contracts import ORDER_READY, OrderPlaced, OrderReady, utc_now
from pizza_common.kafka import AfterCommit, GiveBack, Outbox
from pizza_common.runtime import SecondsRange, span

log = structlog.get_logger(__name__)


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


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order.placed to act on and where it was read. ``give_back`` is set when a cook
    must stop unfinished: the consumer is stopping or the partition is moving away."""

    order: OrderPlaced
    partition: int
    offset: int
    give_back: asyncio.Event


class ReadyEncoder(Protocol):
    """How an order.ready becomes the bytes of its record (the Avro codec)."""

    async def encode_async(self, event: OrderReady) -> bytes: ...


@dataclass
class KitchenService:
    instance: str
    store: TicketStore
    codec: ReadyEncoder
    cook_time: SecondsRange
    stopping: asyncio.Event
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = utc_now
    # The orders in the ovens now, by order id.
    cooking: dict[str, CurrentOrder] = field(default_factory=dict)
    counts: KitchenCounts = field(default_factory=KitchenCounts)

    async def ticket(self, order_id: str) -> Ticket | None:
        return await self.store.get(order_id)

    def skip(self, ticket: Ticket) -> None:
        """A duplicate: its order.ready was published already."""
        self.counts.duplicates += 1
        log.info("already cooked, skipped", cooked_by=ticket.instance)

    async def cook(self, placed: PlacedOrder, outbox: Outbox) -> AfterCommit:
        """Cook ``placed`` here and publish its order.ready; raises :class:`GiveBack` if
        told to stop before the pizzas are ready."""
        try:
            with span("cook", attributes={"pizza.kitchen.instance": self.instance}):
                ticket = await self._cook(placed)
            return await self._publish(placed, ticket, outbox, resent=False)
        finally:
            self.cooking.pop(placed.order.order_id, None)

    async def resend(self, placed: PlacedOrder, ticket: Ticket, outbox: Outbox) -> AfterCommit:
        """Publish the order.ready ``ticket`` holds again: the same event, the same id."""
        try:
            return await self._publish(placed, ticket, outbox, resent=True)
        finally:
            self.cooking.pop(placed.order.order_id, None)

    async def _cook(self, placed: PlacedOrder) -> Ticket:
        order = placed.order
        started = self.clock()
        self.cooking[order.order_id] = CurrentOrder(order.order_id, "cooking", started)
        cooking = Ticket.cooking(
            order,
            instance=self.instance,
            partition=placed.partition,
            offset=placed.offset,
            started_at=started,
        )
        await self.store.start_cooking(cooking)
        seconds = self.cook_time.draw(self.rng)
        log.info("cooking", pizza_count=order.pizza_count, seconds=round(seconds, 1))
        if await _interrupted_within(seconds, self.stopping, placed.give_back):
            # Not finished (stopping, or the partition moved to another kitchen): the
            # order stays uncommitted and is cooked by the partition's next owner.
            raise GiveBack(order.order_id)
        COOK_DURATION.observe((self.clock() - started).total_seconds())
        ready = cooking.cooked(ready_at=self.clock(), ready_event_id=str(uuid.uuid4()))
        await self.store.mark_ready(ready)
        return ready

    async def _publish(
        self, placed: PlacedOrder, ticket: Ticket, outbox: Outbox, *, resent: bool
    ) -> AfterCommit:
        order_id = placed.order.order_id
        self.cooking[order_id] = CurrentOrder(order_id, "publishing", self.clock())
        ready = ticket.ready_event()
        value = await self.codec.encode_async(ready)
        await outbox.publish(ORDER_READY, key=order_id, value=value)

        async def published() -> None:
            await self.store.mark_published(ticket.published(at=self.clock()))
            if resent:
                self.counts.resent += 1
            else:
                self.counts.cooked += 1
                ORDERS_COOKED.labels(self.instance).inc()
            log.info(
                "ready",
                order_id=order_id,
                pizza_count=ready.pizza_count,
                resent=resent,
                partition=placed.partition,
            )

        return published


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
