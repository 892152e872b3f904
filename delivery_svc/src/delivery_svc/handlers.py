"""What delivery consumes, and the consumer loop's handler: the decoded event, the
domain's decision whether it can be applied, and the service that applies it."""

from __future__ import annotations

from typing import Any

from delivery_svc.domain import InvalidEvent, accept
from delivery_svc.service import DeliveryService
from pizza_common.contracts import ORDER_PLACED, ORDER_READY, OrderPlaced, OrderReady
from pizza_common.kafka import (
    AfterCommit,
    AvroEventCodec,
    ConsumedEvent,
    Outbox,
    RejectedEvent,
    SchemaRegistryClient,
)

TOPICS = [ORDER_PLACED, ORDER_READY]


def codecs(registry: SchemaRegistryClient) -> dict[str, AvroEventCodec[Any]]:
    """How each consumed topic is decoded."""
    return {
        ORDER_PLACED: AvroEventCodec(registry, OrderPlaced),
        ORDER_READY: AvroEventCodec(registry, OrderReady),
    }


class EventHandler:
    def __init__(self, service: DeliveryService) -> None:
        self._service = service

    async def handle(self, consumed: ConsumedEvent, _outbox: Outbox) -> AfterCommit | None:
        """Apply order.placed or order.ready; one delivery cannot apply is dead-lettered."""
        try:
            event = accept(consumed.event)
        except InvalidEvent as exc:
            raise RejectedEvent(str(exc)) from exc
        await self._service.apply_event(event, consumed.topic)
        return None
