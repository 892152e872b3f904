"""The delivery domain's steps, event decisions and notifications: pure, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from delivery_svc.domain import (
    MESSAGES,
    STEPS,
    DeliveryStatus,
    InvalidEvent,
    NotAllowed,
    TrackedOrder,
    accept,
    apply,
    arrive,
    assign_driver,
    is_past,
    message_for,
    on_placed,
    on_ready,
    seconds_to_wait,
    set_off,
)
from pizza_common.testing import order_placed, order_ready

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _waiting() -> TrackedOrder:
    placed = order_placed()
    return on_ready(on_placed(None, placed), order_ready(placed))


def test_steps_go_from_received_to_delivered() -> None:
    assert [step.value for step in STEPS] == [
        "received",
        "ready",
        "driver_assigned",
        "on_the_way",
        "delivered",
    ]
    assert is_past(DeliveryStatus.RECEIVED, None)
    assert is_past(DeliveryStatus.ON_THE_WAY, DeliveryStatus.DRIVER_ASSIGNED)
    assert not is_past(DeliveryStatus.READY, DeliveryStatus.READY)
    assert not is_past(DeliveryStatus.RECEIVED, DeliveryStatus.READY)


def test_accept_takes_both_topics_and_refuses_the_rest() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    assert accept(placed) is placed
    assert accept(ready) is ready
    with pytest.raises(InvalidEvent, match="pizza_count 0 is not positive"):
        accept(replace(ready, pizza_count=0))
    with pytest.raises(InvalidEvent, match="unexpected event str"):
        accept("order.cancelled")


def test_apply_is_on_placed_or_on_ready() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    assert apply(None, placed) == on_placed(None, placed)
    assert apply(None, ready) == on_ready(None, ready)
    assert apply(apply(None, ready), placed) == apply(apply(None, placed), ready)


def test_since_is_when_the_status_was_reached() -> None:
    order = _waiting()
    assert order.since == order.ready_at
    assert replace(order, driver="driver-1", driver_assigned_at=T0).since == T0


def test_a_driver_is_assigned_only_to_an_order_that_waits_for_one() -> None:
    order = assign_driver(_waiting(), "driver-2", T0)
    assert order.status is DeliveryStatus.DRIVER_ASSIGNED
    assert (order.driver, order.driver_assigned_at) == ("driver-2", T0)
    with pytest.raises(NotAllowed):
        assign_driver(order, "driver-1", T0)
    placed = order_placed()
    with pytest.raises(NotAllowed):  # cooked, but no address yet
        assign_driver(on_ready(None, order_ready(placed)), "driver-1", T0)


def test_only_an_assigned_order_sets_off_and_only_a_due_one_arrives() -> None:
    waiting = _waiting()
    with pytest.raises(NotAllowed):
        set_off(waiting, T0, 30)
    driving = set_off(assign_driver(waiting, "driver-1", T0), T0, 30)
    assert driving.status is DeliveryStatus.ON_THE_WAY
    assert driving.due_at == T0 + timedelta(seconds=30)
    assert not driving.has_arrived(T0 + timedelta(seconds=29))
    with pytest.raises(NotAllowed):
        arrive(driving, T0 + timedelta(seconds=29))
    there = T0 + timedelta(seconds=30)
    delivered = arrive(driving, there)
    assert delivered.status is DeliveryStatus.DELIVERED
    assert (delivered.delivered_at, delivered.due_at) == (there, None)
    with pytest.raises(NotAllowed):
        arrive(delivered, there)


def test_the_fleet_sleeps_until_the_next_arrival_at_most() -> None:
    assert seconds_to_wait([], T0, 5.0) == 5.0
    driving = set_off(assign_driver(_waiting(), "driver-1", T0), T0, 2)
    assert seconds_to_wait([driving], T0, 5.0) == 2.0
    assert seconds_to_wait([driving], T0 + timedelta(seconds=9), 5.0) == 0.0
    late = set_off(assign_driver(_waiting(), "driver-1", T0), T0, 60)
    assert seconds_to_wait([late], T0, 5.0) == 5.0


def test_the_customer_is_told_when_the_food_leaves_and_arrives() -> None:
    assert set(MESSAGES) == {DeliveryStatus.ON_THE_WAY, DeliveryStatus.DELIVERED}
    on_the_way = message_for(DeliveryStatus.ON_THE_WAY)
    assert on_the_way is not None
    assert on_the_way.kind is DeliveryStatus.ON_THE_WAY
    assert (on_the_way.de, on_the_way.en) == ("Dein Essen kommt!", "Your food is on its way!")
    delivered = message_for(DeliveryStatus.DELIVERED)
    assert delivered is not None
    assert delivered.en == "Enjoy! Your food is here."
    for silent in (
        DeliveryStatus.RECEIVED,
        DeliveryStatus.READY,
        DeliveryStatus.DRIVER_ASSIGNED,
    ):
        assert message_for(silent) is None


def test_order_placed_brings_the_tracking_digest_even_after_order_ready() -> None:
    placed = order_placed()
    ready_first = on_ready(None, order_ready(placed))
    assert ready_first.tracking_token_sha256 is None  # nobody but operators reads it yet
    tracked = on_placed(ready_first, placed)
    assert tracked.tracking_token_sha256 == placed.tracking_token_sha256
    # A duplicate order.placed changes nothing, its digest included.
    assert on_placed(tracked, replace(placed, tracking_token_sha256="0" * 64)) == tracked
