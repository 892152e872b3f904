"""delivery_svc's use cases: the only place where the domain meets the store and the feed.

Applying an event (from :mod:`delivery_svc.handlers`), moving the fleet (its loop runs
:func:`domain.next_moves` until nothing moves, then sleeps until the next arrival or
until a newly ready order wakes it), and reading or following orders (for the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import datetime
from functools import partial

import structlog

from delivery_svc.domain import (
    DeliveryEvent,
    DeliveryStatus,
    SentNotification,
    TrackedOrder,
    apply,
    is_past,
    message_for,
    next_moves,
    seconds_to_wait,
)
from delivery_svc.feed import StatusFeed
from delivery_svc.metrics import NOTIFICATIONS, observe_delivered
from delivery_svc.store import DeliveryStore
from pizza_common.contracts import utc_now
from pizza_common.runtime import SecondsRange, extract_headers, span

log = structlog.get_logger(__name__)

IDLE_CHECK_S = 5.0
"""The fleet looks again at least this often, whatever happens."""


class DeliveryService:
    def __init__(
        self,
        store: DeliveryStore,
        feed: StatusFeed,
        drivers: Sequence[str],
        drive_time: SecondsRange,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._feed = feed
        self._drivers = list(drivers)
        self._drive_time = drive_time
        self._rng = rng or random.Random()
        self._clock = clock
        self._wake = asyncio.Event()

    # --- Events -----------------------------------------------------------------------

    async def apply_event(self, event: DeliveryEvent, topic: str) -> TrackedOrder | None:
        """Apply an accepted event once; the order if it changed (followers see it, and
        the fleet wakes for an order that now waits for a driver)."""
        changed = await self._store.apply_event(
            event_id=event.event_id,
            topic=topic,
            order_id=event.order_id,
            change=partial(apply, event=event),
            now=self._clock(),
        )
        if changed is None:
            log.info("duplicate or no change, ignored", topic=topic)
            return None
        log.info(changed.status.value, topic=topic)
        self._feed.publish(changed)
        if changed.waits_for_driver:
            self.wake()
        return changed

    # --- The fleet --------------------------------------------------------------------

    def wake(self) -> None:
        """Make the fleet look at once (an order waits for a driver)."""
        self._wake.set()

    async def run_fleet(self, stopping: asyncio.Event) -> None:
        """Move the fleet until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                moved = await self.move_fleet()
            except Exception as exc:  # noqa: BLE001 - e.g. database busy: try again shortly
                log.warning("fleet step failed", error=repr(exc))
                moved = False
            if moved:
                continue
            await self._sleep(stopping)

    async def move_fleet(self) -> bool:
        """Move every order that moves now one step; True if any did."""
        now = self._clock()
        fleet = await self._store.in_fleet_hands()
        moves = next_moves(
            fleet.orders, self._drivers, now, lambda: self._drive_time.draw(self._rng)
        )
        if not moves:
            return False
        # One transaction for the whole step: under load a step moves many orders, and a
        # transaction per order was most of the fleet's cost.
        notified = await self._store.save_moves(
            [(order, message_for(order.status)) for order in moves], now
        )
        for order, new in zip(moves, notified, strict=True):
            with span(
                f"delivery {order.status.value}",
                parent=extract_headers(fleet.trace_of(order.order_id)),
                attributes={"pizza.order_id": order.order_id, "pizza.driver": order.driver or ""},
            ):
                self._moved(order, notified=new)
        return True

    def _moved(self, order: TrackedOrder, *, notified: bool) -> None:
        """What follows a saved step (assigned, on the way, delivered): its log, its
        notification and the order's followers."""
        status = order.status
        message = message_for(status)
        log.info(status.value, order_id=order.order_id, driver=order.driver)
        if notified and message is not None:
            NOTIFICATIONS.labels(message.kind.value).inc()
            if status is DeliveryStatus.DELIVERED:  # notified: once per order
                observe_delivered(order)
            log.info(
                "notification sent",
                order_id=order.order_id,
                kind=message.kind.value,
                # The message, never the number it went to: logs carry no customer data.
                de=message.de,
                en=message.en,
            )
        self._feed.publish(order)

    async def _sleep(self, stopping: asyncio.Event) -> None:
        fleet = await self._store.in_fleet_hands()
        timeout = seconds_to_wait(fleet.orders, self._clock(), IDLE_CHECK_S)
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        self._wake.clear()

    # --- Reading and following orders -------------------------------------------------

    async def get(self, order_id: str) -> TrackedOrder | None:
        return await self._store.get(order_id)

    async def notifications(self, order_id: str) -> list[SentNotification]:
        """The notifications sent for the order, oldest first."""
        return await self._store.notifications_of(order_id)

    async def find(self, status: DeliveryStatus | None, limit: int) -> list[TrackedOrder]:
        """Orders, newest change first, optionally only those with ``status``."""
        return await self._store.find(status, limit)

    async def status_changes(self, order_id: str) -> AsyncGenerator[TrackedOrder, None]:
        """The order as it is now, then each time it reaches a further step; ends once
        delivered (or when the service stops)."""
        # Follow first, then read: a change between the two is queued, not missed.
        async with self._feed.follow(order_id) as changes:
            order = await self._store.get(order_id)
            sent: DeliveryStatus | None = None
            while order is not None:
                status = order.status
                if is_past(status, sent):
                    yield order
                    sent = status
                if status is DeliveryStatus.DELIVERED:
                    return
                order = await changes.get()

    def close(self) -> None:
        """End every stream of status changes."""
        self._feed.close()
