"""What the kitchen consumes, and the consumer loop's handler for order.placed: decode,
decide, hand to the kitchen.

An order whose ticket says it was published is a duplicate and is skipped; one that was
cooked but maybe not published re-sends the same order.ready (same event id); one found
mid-cook (its instance died) is cooked again here. An order the kitchen can never cook is
rejected, so the consumer dead-letters it.
"""

from __future__ import annotations

from typing import Any

from kitchen_svc.domain import Cook, Resend, Skip, next_step, why_uncookable
from kitchen_svc.service import KitchenService, PlacedOrder
from pizza_common.contracts import ORDER_PLACED, OrderPlaced
from pizza_common.kafka import (
    AfterCommit,
    AvroEventCodec,
    ConsumedEvent,
    Outbox,
    RejectedEvent,
    SchemaRegistryClient,
)

TOPICS = [ORDER_PLACED]


def codecs(registry: SchemaRegistryClient) -> dict[str, AvroEventCodec[Any]]:
    """How each consumed topic is decoded."""
    return {ORDER_PLACED: AvroEventCodec(registry, OrderPlaced)}


class EventHandler:
    def __init__(self, service: KitchenService) -> None:
        self._service = service

    async def handle(self, consumed: ConsumedEvent, outbox: Outbox) -> AfterCommit | None:
        """Cook, re-send or skip an order.placed; one the kitchen cannot cook is
        dead-lettered."""
        order = consumed.event
        if not isinstance(order, OrderPlaced):
            raise RejectedEvent(f"expected an order.placed event, got {type(order).__name__}")
        reason = why_uncookable(order)
        if reason is not None:
            raise RejectedEvent(reason)
        placed = PlacedOrder(order, consumed.partition, consumed.offset, consumed.give_back)
        match next_step(await self._service.ticket(order.order_id)):
            case Skip(ticket):
                self._service.skip(ticket)
                return None
            case Resend(ticket):
                return await self._service.resend(placed, ticket, outbox)
            case Cook():
                return await self._service.cook(placed, outbox)
