"""delivery_svc's use cases.

:class:`Projection`: the consumer loop's handler, order.placed and order.ready into
tracked orders. :class:`Dispatcher`: runs the fleet, applies :func:`domain.next_moves`
until nothing moves, then sleeps until the next arrival or until a newly ready order
wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

import structlog

from delivery_svc.domain import (
    DeliveryStatus,
    TrackedOrder,
    message_for,
    next_arrival,
    next_moves,
    on_placed,
    on_ready,
)
from delivery_svc.feed import StatusFeed
from delivery_svc.metrics import NOTIFICATIONS, observe_delivered
from delivery_svc.store import DeliveryStore
from pizza_common.consumer import AfterCommit, ConsumedEvent, Outbox, RejectedEvent
from pizza_common.durations import SecondsRange
from pizza_common.events import OrderPlaced, OrderReady
from pizza_common.tracing import extract_headers, span

log = structlog.get_logger("delivery.fleet")
projection_log = structlog.get_logger("delivery")

IDLE_CHECK_S = 5.0
"""Look again at least this often, whatever happens."""


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        store: DeliveryStore,
        feed: StatusFeed,
        drivers: Sequence[str],
        drive_time: SecondsRange,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._feed = feed
        self._drivers = list(drivers)
        self._drive_time = drive_time
        self._rng = rng or random.Random()
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                moved = await self._step()
            except Exception as exc:  # noqa: BLE001 - e.g. database busy: try again shortly
                log.warning("fleet step failed", error=repr(exc))
                moved = False
            if moved:
                continue
            await self._sleep(stopping)

    async def _step(self) -> bool:
        now = self._clock()
        orders = await self._store.in_fleet_hands()
        moves = next_moves(orders, self._drivers, now, lambda: self._drive_time.draw(self._rng))
        for order in moves:
            parent = extract_headers(await self._store.trace_context(order.order_id))
            with span(
                f"delivery {order.status.value}",
                parent=parent,
                attributes={"pizza.order_id": order.order_id, "pizza.driver": order.driver or ""},
            ):
                await self._move(order, now)
        return bool(moves)

    async def _move(self, order: TrackedOrder, now: datetime) -> None:
        """One step of one order (assigned, on the way, delivered) and its notification."""
        status = order.status
        message = message_for(status)
        notified = await self._store.save_move(order, now, message)
        log.info(status.value, order_id=order.order_id, driver=order.driver)
        if notified and message is not None:
            NOTIFICATIONS.labels(message.kind.value).inc()
            if status is DeliveryStatus.DELIVERED:  # notified: once per order
                observe_delivered(order)
            log.info(
                "notification sent",
                order_id=order.order_id,
                kind=message.kind.value,
                phone=order.destination.phone if order.destination else None,
                de=message.de,
                en=message.en,
            )
        self._feed.publish(order)

    async def _sleep(self, stopping: asyncio.Event) -> None:
        orders = await self._store.in_fleet_hands()
        arrival = next_arrival(orders)
        timeout = IDLE_CHECK_S
        if arrival is not None:
            timeout = min(timeout, max(0.0, (arrival - self._clock()).total_seconds()))
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        self._wake.clear()


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
            projection_log.info("duplicate or no change, ignored", topic=consumed.topic)
            return None
        projection_log.info(changed.status.value, topic=consumed.topic)
        self._feed.publish(changed)
        if changed.waits_for_driver:
            self._dispatcher.wake()
        return None
