"""The Order entity: placing, pricing and each change of status the saga makes. Pure."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from order_svc.domain import (
    TRANSITIONS,
    UNSETTLED,
    Accept,
    Cancel,
    Decline,
    InvalidTransition,
    LineRequest,
    Order,
    OrderStatus,
    PaymentOutcome,
    PlaceOrder,
    UnknownPizza,
    settle,
)
from order_svc.menu import MENU
from pizza_common.contracts import Address, Customer, PizzaSize
from tests import REPO_ROOT

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=5)
FINAL = (OrderStatus.ACCEPTED, OrderStatus.PAYMENT_DECLINED, OrderStatus.CANCELLED)


def command(**changes: object) -> PlaceOrder:
    values: dict[str, object] = {
        "customer": Customer("Ada Lovelace", "+41 79 123 45 67", "ada@example.org"),
        "delivery_address": Address("Bahnhofstrasse 1", "8001", "Zürich", "3rd floor"),
        "lines": (
            LineRequest("margherita", PizzaSize.LARGE, 2),
            LineRequest("funghi", PizzaSize.SMALL, 1),
        ),
        "card_number": "4242 4242 4242 4242",
        "idempotency_key": "key-1",
        **changes,
    }
    return PlaceOrder(**values)  # type: ignore[arg-type]


def placed(**changes: object) -> Order:
    return Order.place(command(**changes), order_id="o-1", currency="CHF", now=NOW)


def in_status(status: OrderStatus) -> Order:
    order = placed()
    match status:
        case OrderStatus.PAYMENT_PENDING:
            return order
        case OrderStatus.PAYMENT_UNAVAILABLE:
            return order.payment_unavailable("timeout", NOW)
        case OrderStatus.ACCEPTED:
            return order.accept("pay_1", NOW)[0]
        case OrderStatus.PAYMENT_DECLINED:
            return order.decline("card_declined", NOW, payment_id="pay_1")
        case OrderStatus.CANCELLED:
            return order.cancel("voided", NOW, outcome=PaymentOutcome.VOIDED)


def test_a_placed_order_is_priced_from_the_menu_and_waits_for_payment() -> None:
    order = placed()
    large = MENU["margherita"].prices[PizzaSize.LARGE]
    small = MENU["funghi"].prices[PizzaSize.SMALL]
    assert [line.unit_price for line in order.lines] == [large, small]
    assert [line.name for line in order.lines] == ["Margherita", "Funghi"]
    assert order.total == large * 2 + small
    assert order.total.as_tuple().exponent == -2
    assert order.status is OrderStatus.PAYMENT_PENDING
    assert order.status in UNSETTLED
    assert order.version == 0
    assert order.card_last4 == "4242"
    assert order.idempotency_key == "key-1"
    assert order.created_at == order.updated_at == NOW
    assert (order.payment_id, order.payment_outcome, order.payment_reason) == (None, None, None)


def test_an_order_of_an_unknown_pizza_cannot_be_placed() -> None:
    with pytest.raises(UnknownPizza):
        placed(lines=(LineRequest("hawaii", PizzaSize.SMALL, 1),))


def test_the_fingerprint_is_the_digest_of_the_request_as_the_client_sent_it() -> None:
    # Orders saved before keep their fingerprints: a retry must still match them.
    body = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    example = command(
        delivery_address=Address("Bahnhofstrasse 1", "8001", "Zürich", "3rd floor, ring twice")
    )
    assert example.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_fingerprint_ignores_the_key_and_sees_everything_else() -> None:
    assert command().fingerprint() == command(idempotency_key="other").fingerprint()
    assert command().fingerprint() != command(card_number="4000 0000 0000 0002").fingerprint()
    fewer = (LineRequest("margherita", PizzaSize.LARGE, 1),)
    assert command().fingerprint() != command(lines=fewer).fingerprint()


def test_accepting_gives_the_order_placed_event() -> None:
    order = placed()
    accepted, event = order.accept("pay_1", LATER)
    assert accepted.status is OrderStatus.ACCEPTED
    assert accepted.status not in UNSETTLED
    assert (accepted.payment_id, accepted.payment_outcome) == ("pay_1", PaymentOutcome.APPROVED)
    assert accepted.version == order.version + 1
    assert accepted.updated_at == LATER
    assert order.status is OrderStatus.PAYMENT_PENDING  # a value: the original is unchanged
    assert event.order_id == "o-1"
    assert event.payment_id == "pay_1"
    assert event.items == order.lines
    assert event.total == order.total
    assert event.currency == "CHF"
    assert event.customer == order.customer
    assert event.delivery_address == order.delivery_address
    assert event.placed_at == LATER


def test_each_change_keeps_what_payment_said() -> None:
    order = placed()
    declined = order.decline("card_declined", LATER, payment_id="pay_2")
    assert (declined.status, declined.payment_id, declined.payment_outcome) == (
        OrderStatus.PAYMENT_DECLINED,
        "pay_2",
        PaymentOutcome.DECLINED,
    )
    assert declined.payment_reason == "card_declined"
    refused = order.refuse(LATER)
    assert (refused.status, refused.payment_outcome, refused.payment_reason) == (
        OrderStatus.PAYMENT_DECLINED,
        PaymentOutcome.REFUSED,
        "invalid_payment",
    )
    unavailable = order.payment_unavailable("timeout", LATER)
    assert (unavailable.status, unavailable.payment_outcome, unavailable.payment_reason) == (
        OrderStatus.PAYMENT_UNAVAILABLE,
        None,
        "timeout",
    )
    cancelled = order.cancel("voided", LATER, outcome=PaymentOutcome.VOIDED)
    assert (cancelled.status, cancelled.payment_id, cancelled.payment_outcome) == (
        OrderStatus.CANCELLED,
        None,
        PaymentOutcome.VOIDED,
    )
    assert {o.version for o in (declined, refused, unavailable, cancelled)} == {1}


def test_only_a_payment_that_did_not_answer_can_be_retried_by_the_customer() -> None:
    unavailable = in_status(OrderStatus.PAYMENT_UNAVAILABLE)
    retried = unavailable.retry_payment(LATER)
    assert retried.status is OrderStatus.PAYMENT_PENDING
    assert retried.version == unavailable.version + 1
    assert retried.payment_reason == unavailable.payment_reason  # a claim keeps the rest
    with pytest.raises(InvalidTransition):
        placed().retry_payment(LATER)  # pending: another request has it


@pytest.mark.parametrize("status", sorted(UNSETTLED))
def test_the_recovery_worker_takes_over_any_unsettled_order(status: OrderStatus) -> None:
    order = in_status(status)
    taken = order.take_over(LATER)
    assert taken.status is OrderStatus.PAYMENT_PENDING
    assert taken.version == order.version + 1


@pytest.mark.parametrize("status", FINAL)
def test_a_settled_order_never_changes_again(status: OrderStatus) -> None:
    order = in_status(status)
    assert order.status not in UNSETTLED
    assert TRANSITIONS[status] == frozenset()
    for change in (
        lambda: order.accept("pay_9", LATER),
        lambda: order.decline("card_declined", LATER, payment_id=None),
        lambda: order.refuse(LATER),
        lambda: order.payment_unavailable("timeout", LATER),
        lambda: order.cancel("voided", LATER, outcome=PaymentOutcome.VOIDED),
        lambda: order.take_over(LATER),
        lambda: order.retry_payment(LATER),
    ):
        with pytest.raises(InvalidTransition):
            change()


def test_every_unsettled_status_can_end_every_way() -> None:
    for status in UNSETTLED:
        assert set(FINAL) <= TRANSITIONS[status]
        assert OrderStatus.PAYMENT_PENDING in TRANSITIONS[status]
    # A request that did not hear from payment leaves it unavailable; nothing else does.
    assert OrderStatus.PAYMENT_UNAVAILABLE not in TRANSITIONS[OrderStatus.PAYMENT_UNAVAILABLE]


def test_the_sagas_actions_end_the_order() -> None:
    order = in_status(OrderStatus.PAYMENT_UNAVAILABLE)
    accepted = settle(order, Accept("pay_1"), LATER, why="voided")
    assert (accepted.how, accepted.order.status) == ("accepted", OrderStatus.ACCEPTED)
    assert accepted.event is not None
    assert accepted.event.payment_id == "pay_1"
    declined = settle(order, Decline("pay_2", "insufficient_funds"), LATER, why="voided")
    assert (declined.how, declined.order.payment_reason, declined.event) == (
        "declined",
        "insufficient_funds",
        None,
    )
    voided = settle(order, Cancel("pay_3"), LATER, why="order_too_old_to_accept")
    assert (voided.how, voided.order.status) == ("cancelled", OrderStatus.CANCELLED)
    assert (voided.order.payment_outcome, voided.order.payment_reason) == (
        PaymentOutcome.VOIDED,
        "order_too_old_to_accept",
    )
    never = settle(order, Cancel(None), LATER, why="payment_unconfirmed")
    assert never.order.payment_outcome is PaymentOutcome.NOT_CHARGED


def test_age_counts_from_placing() -> None:
    assert placed().age(NOW + timedelta(minutes=3)) == timedelta(minutes=3)
    assert placed().total == Decimal("50.00")
