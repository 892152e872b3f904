"""The consumer loop's handler for order.placed: decode, decide, hand to the kitchen.

An order whose ticket says it was published is a duplicate and is skipped; one that was
cooked but maybe not published re-sends the same order.ready (same event id); one found
mid-cook (its instance died) is cooked again here. An order the kitchen can never cook is
rejected, so the consumer dead-letters it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kitchen_svc.domain import Cook, Resend, Skip, next_step, why_uncookable
from kitchen_svc.service import KitchenService, PlacedOrder
from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import AfterCommit, ConsumedEvent, Outbox, RejectedEvent


@dataclass(frozen=True, slots=True)
class OrderPlacedHandler:
    kitchen: KitchenService

    async def __call__(self, consumed: ConsumedEvent, outbox: Outbox) -> AfterCommit | None:
        order = consumed.event
        if not isinstance(order, OrderPlaced):
            raise RejectedEvent(f"expected an order.placed event, got {type(order).__name__}")
        reason = why_uncookable(order)
        if reason is not None:
            raise RejectedEvent(reason)
        placed = PlacedOrder(order, consumed.partition, consumed.offset, consumed.give_back)
        match next_step(await self.kitchen.ticket(order.order_id)):
            case Skip(ticket):
                self.kitchen.skip(ticket)
                return None
            case Resend(ticket):
                return await self.kitchen.resend(placed, ticket, outbox)
            case Cook():
                return await self.kitchen.cook(placed, outbox)
