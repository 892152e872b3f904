"""Drivers and their orders: what changes at a moment in time. Pure, no I/O.

A free driver takes the order that has waited longest since it was ready; a driver is
busy from assignment until delivery. Everything is derived from the orders themselves,
so after a restart the fleet is exactly as the database says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from delivery_svc.domain import DeliveryStatus, TrackedOrder


def busy_drivers(orders: Sequence[TrackedOrder]) -> set[str]:
    return {o.driver for o in orders if o.driver is not None and o.delivered_at is None}


def next_moves(
    orders: Sequence[TrackedOrder],
    drivers: Sequence[str],
    now: datetime,
    drive_seconds: Callable[[], float],
) -> list[TrackedOrder]:
    """The orders that move on at ``now``, each one step: arrive, set off, or get a driver."""
    moved: dict[str, TrackedOrder] = {}
    for order in orders:
        if order.delivered_at is not None:
            continue
        if order.status is DeliveryStatus.ON_THE_WAY and order.due_at and order.due_at <= now:
            moved[order.order_id] = replace(order, delivered_at=now, due_at=None)
        elif order.status is DeliveryStatus.DRIVER_ASSIGNED:
            due = now + timedelta(seconds=drive_seconds())
            moved[order.order_id] = replace(order, on_the_way_at=now, due_at=due)
    still_driving = busy_drivers([moved.get(o.order_id, o) for o in orders])
    free = [driver for driver in drivers if driver not in still_driving]
    waiting = sorted(
        (o for o in orders if o.waits_for_driver),
        key=lambda o: (o.ready_at, o.received_at, o.order_id),
    )
    for order, driver in zip(waiting, free, strict=False):
        moved[order.order_id] = replace(order, driver=driver, driver_assigned_at=now)
    return list(moved.values())


def next_arrival(orders: Sequence[TrackedOrder]) -> datetime | None:
    """When the next driver on the way arrives, if any."""
    dues = [o.due_at for o in orders if o.due_at is not None and o.delivered_at is None]
    return min(dues, default=None)
