"""The delivery projection: events in any order, duplicates, status and timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from delivery_svc.domain import DeliveryStatus, on_placed, on_ready
from pizza_common.testing import order_placed, order_ready


def test_placed_then_ready() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    order = on_ready(on_placed(None, placed), ready)
    assert order.status is DeliveryStatus.READY
    assert order.waits_for_driver
    assert order.timeline() == [
        (DeliveryStatus.RECEIVED, placed.placed_at),
        (DeliveryStatus.READY, ready.ready_at),
    ]
    assert order.destination is not None
    assert order.destination.city == "Zürich"


def test_ready_before_placed_ends_the_same() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    early = on_ready(None, ready)
    assert early.status is DeliveryStatus.READY
    assert not early.waits_for_driver, "no address yet: nobody can drive it"
    assert on_placed(early, placed) == on_ready(on_placed(None, placed), ready)


def test_duplicates_change_nothing() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    order = on_ready(on_placed(None, placed), ready)
    again = replace(ready, event_id="00000000-0000-0000-0000-000000000000")
    assert on_placed(order, placed) == order
    assert on_ready(order, again) == order


def test_status_is_the_furthest_step() -> None:
    placed = order_placed()
    order = on_ready(on_placed(None, placed), order_ready(placed))
    now = datetime.now(UTC)
    moving = replace(order, driver="driver-1", driver_assigned_at=now, on_the_way_at=now)
    assert moving.status is DeliveryStatus.ON_THE_WAY
    assert not moving.waits_for_driver
    assert [step for step, _ in moving.timeline()] == [
        DeliveryStatus.RECEIVED,
        DeliveryStatus.READY,
        DeliveryStatus.DRIVER_ASSIGNED,
        DeliveryStatus.ON_THE_WAY,
    ]
