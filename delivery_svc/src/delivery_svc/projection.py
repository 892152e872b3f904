"""The consumer loop's handler: order.placed and order.ready into tracked orders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import structlog

from delivery_svc.dispatcher import Dispatcher
from delivery_svc.feed import StatusFeed
from delivery_svc.store import DeliveryStore
from delivery_svc.tracking import TrackedOrder, on_placed, on_ready
from pizza_common.consumer import AfterCommit, ConsumedEvent, Outbox, RejectedEvent
from pizza_common.events import OrderPlaced, OrderReady

log = structlog.get_logger("delivery")


class Projection:
    def __init__(self, store: DeliveryStore, feed: StatusFeed, dispatcher: Dispatcher) -> None:
        self._store = store
        self._feed = feed
        self._dispatcher = dispatcher

    async def handle(self, consumed: ConsumedEvent, _outbox: Outbox) -> AfterCommit | None:
        event = consumed.event
        change: Callable[[TrackedOrder | None], TrackedOrder]
        if isinstance(event, OrderPlaced):
            change = partial(on_placed, event=event)
        elif isinstance(event, OrderReady):
            if event.pizza_count < 1:
                raise RejectedEvent(f"pizza_count {event.pizza_count} is not positive")
            change = partial(on_ready, event=event)
        else:
            raise RejectedEvent(f"unexpected event {type(event).__name__}")
        changed = await self._store.apply_event(
            event_id=event.event_id,
            topic=consumed.topic,
            order_id=event.order_id,
            change=change,
            now=datetime.now(UTC),
        )
        if changed is None:
            log.info("duplicate or no change, ignored", topic=consumed.topic)
            return None
        log.info(changed.status.value, topic=consumed.topic)
        self._feed.publish(changed)
        if changed.waits_for_driver:
            self._dispatcher.wake()
        return None
