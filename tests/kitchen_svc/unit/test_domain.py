"""The ticket's life and the decision on an order.placed: pure, no broker, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kitchen_svc.domain import (
    Cook,
    Resend,
    Skip,
    Ticket,
    TicketStatus,
    TicketTransitionError,
    next_step,
    why_uncookable,
)
from pizza_common.contracts import MAX_QUANTITY, OrderReady
from pizza_common.testing import order_placed

STARTED = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
READY_AT = STARTED + timedelta(seconds=7, microseconds=891)
EVENT_ID = "5f1b7a9e-6a8e-4f57-9d5b-0c0a6f3a1d2e"


def _cooking(instance: str = "kitchen-1") -> Ticket:
    return Ticket.cooking(
        order_placed("order-1"), instance=instance, partition=3, offset=42, started_at=STARTED
    )


def test_a_new_ticket_is_cooking_here_with_where_its_order_was_read() -> None:
    order = order_placed("order-1")
    ticket = Ticket.cooking(order, instance="kitchen-2", partition=3, offset=42, started_at=STARTED)
    assert ticket.status is TicketStatus.COOKING
    assert ticket.order_id == "order-1"
    assert ticket.placed_event_id == order.event_id
    assert ticket.instance == "kitchen-2"
    assert ticket.pizza_count == order.pizza_count == 3
    assert (ticket.source_partition, ticket.source_offset) == (3, 42)
    assert ticket.cook_started_at == STARTED
    assert (ticket.ready_at, ticket.ready_event_id, ticket.published_at) == (None, None, None)


def test_a_cooking_ticket_has_no_order_ready_yet() -> None:
    with pytest.raises(ValueError, match="not cooked yet"):
        _cooking().ready_event()


def test_cooked_fixes_the_order_ready_at_the_contracts_precision() -> None:
    ready = _cooking().cooked(ready_at=READY_AT, ready_event_id=EVENT_ID)
    assert ready.status is TicketStatus.READY
    assert ready.ready_event_id == EVENT_ID
    assert ready.ready_at == READY_AT.replace(microsecond=READY_AT.microsecond // 1000 * 1000)
    event = ready.ready_event()
    assert event == OrderReady(
        order_id="order-1",
        placed_event_id=ready.placed_event_id,
        kitchen_instance="kitchen-1",
        cook_started_at=STARTED,
        pizza_count=3,
        ready_at=READY_AT,
        event_id=EVENT_ID,
    )
    assert event.ready_at == ready.ready_at


def test_the_order_ready_is_the_same_event_each_time_it_is_sent() -> None:
    ready = _cooking().cooked(ready_at=READY_AT, ready_event_id=EVENT_ID)
    published = ready.published(at=READY_AT + timedelta(seconds=1))
    assert ready.ready_event() == ready.ready_event() == published.ready_event()


def test_published_records_when() -> None:
    at = READY_AT + timedelta(seconds=1)
    published = _cooking().cooked(ready_at=READY_AT, ready_event_id=EVENT_ID).published(at=at)
    assert published.status is TicketStatus.PUBLISHED
    assert published.published_at == at


def test_a_ticket_moves_only_forward_one_step_at_a_time() -> None:
    cooking = _cooking()
    ready = cooking.cooked(ready_at=READY_AT, ready_event_id=EVENT_ID)
    published = ready.published(at=READY_AT)
    with pytest.raises(TicketTransitionError, match="cooking, not ready"):
        cooking.published(at=READY_AT)
    with pytest.raises(TicketTransitionError, match="ready, not cooking"):
        ready.cooked(ready_at=READY_AT, ready_event_id="another")
    with pytest.raises(TicketTransitionError):
        published.cooked(ready_at=READY_AT, ready_event_id="another")
    with pytest.raises(TicketTransitionError):
        published.published(at=READY_AT)


def test_an_order_never_seen_is_cooked() -> None:
    assert next_step(None) == Cook()


def test_an_abandoned_cook_is_taken_over() -> None:
    # Left cooking by an instance that died or gave the record back.
    abandoned = _cooking(instance="kitchen-3")
    assert next_step(abandoned) == Cook(abandoned=abandoned)


def test_a_ready_but_maybe_unpublished_order_is_resent() -> None:
    ready = _cooking().cooked(ready_at=READY_AT, ready_event_id=EVENT_ID)
    step = next_step(ready)
    assert step == Resend(ready)
    assert isinstance(step, Resend)
    assert step.ticket.ready_event().event_id == EVENT_ID


def test_a_published_order_is_skipped_as_a_duplicate() -> None:
    published = _cooking().cooked(ready_at=READY_AT, ready_event_id=EVENT_ID).published(at=READY_AT)
    assert next_step(published) == Skip(published)


@pytest.mark.parametrize("status", list(TicketStatus))
def test_every_status_has_a_step(status: TicketStatus) -> None:
    step = next_step(replace(_cooking(), status=status))
    assert isinstance(step, Cook | Resend | Skip)


@pytest.mark.parametrize("quantity", [1, MAX_QUANTITY])
def test_quantities_within_the_limits_can_be_cooked(quantity: int) -> None:
    order = order_placed()
    item = replace(order.items[0], quantity=quantity)
    assert why_uncookable(replace(order, items=(item,))) is None


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_quantities_outside_the_limits_are_refused(quantity: int) -> None:
    order = order_placed()
    item = replace(order.items[0], quantity=quantity)
    reason = why_uncookable(replace(order, items=(item,)))
    assert reason == f"margherita: quantity {quantity} is not 1 to {MAX_QUANTITY}"
