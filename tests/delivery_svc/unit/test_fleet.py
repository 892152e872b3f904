"""Driver assignment and driving: pure logic over tracked orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from delivery_svc.domain import (
    DeliveryStatus,
    TrackedOrder,
    busy_drivers,
    next_arrival,
    next_moves,
    on_placed,
    on_ready,
)
from pizza_common.testing import order_placed, order_ready

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DRIVERS = ["driver-1", "driver-2"]


def _ready_order(minutes_ago: int) -> TrackedOrder:
    placed = order_placed()
    ready = order_ready(placed)
    ready = type(ready)(
        order_id=ready.order_id,
        placed_event_id=ready.placed_event_id,
        kitchen_instance="kitchen-1",
        cook_started_at=T0 - timedelta(minutes=minutes_ago + 1),
        ready_at=T0 - timedelta(minutes=minutes_ago),
        pizza_count=ready.pizza_count,
    )
    return on_ready(on_placed(None, placed), ready)


def _step(orders: list[TrackedOrder], now: datetime) -> list[TrackedOrder]:
    moved = {o.order_id: o for o in next_moves(orders, DRIVERS, now, lambda: 60.0)}
    return [moved.get(o.order_id, o) for o in orders]


def test_free_drivers_take_the_longest_waiting_orders_first() -> None:
    newest, oldest, middle = _ready_order(1), _ready_order(9), _ready_order(5)
    orders = _step([newest, oldest, middle], T0)
    by_id = {o.order_id: o for o in orders}
    assert by_id[oldest.order_id].driver == "driver-1"
    assert by_id[middle.order_id].driver == "driver-2"
    assert by_id[newest.order_id].driver is None, "all drivers busy: it waits"
    assert by_id[newest.order_id].status is DeliveryStatus.READY


def test_an_order_goes_step_by_step_to_the_door() -> None:
    orders = _step([_ready_order(1)], T0)
    assert orders[0].status is DeliveryStatus.DRIVER_ASSIGNED
    orders = _step(orders, T0)
    assert orders[0].status is DeliveryStatus.ON_THE_WAY
    assert orders[0].due_at == T0 + timedelta(seconds=60)
    assert next_arrival(orders) == T0 + timedelta(seconds=60)
    assert _step(orders, T0 + timedelta(seconds=59)) == orders, "not there yet"
    orders = _step(orders, T0 + timedelta(seconds=60))
    assert orders[0].status is DeliveryStatus.DELIVERED
    assert busy_drivers(orders) == set()


def test_a_waiting_order_gets_the_driver_freed_by_a_delivery() -> None:
    first, second, third = _ready_order(9), _ready_order(8), _ready_order(7)
    orders = _step(_step([first, second, third], T0), T0)
    assert busy_drivers(orders) == {"driver-1", "driver-2"}
    arrived = T0 + timedelta(seconds=60)
    orders = _step(orders, arrived)  # both arrive, and the third order is assigned at once
    by_id = {o.order_id: o for o in orders}
    assert by_id[first.order_id].status is DeliveryStatus.DELIVERED
    assert by_id[third.order_id].status is DeliveryStatus.DRIVER_ASSIGNED
    assert by_id[third.order_id].driver == "driver-1"


def test_an_order_without_address_is_not_dispatched() -> None:
    placed = order_placed()
    only_ready = on_ready(None, order_ready(placed))
    assert next_moves([only_ready], DRIVERS, T0, lambda: 1.0) == []
