"""The invariant checker over hand-made observations: quiet on a healthy run, and each
kind of violation reported by exactly the invariant it breaks, naming its subject."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pizza_common.contracts import CONSUMER_GROUPS
from pizza_infra.scenarios.chaos.invariants import INVARIANTS, check, violation_count
from pizza_infra.scenarios.chaos.model import (
    NOTIFICATION_KINDS,
    ChargeRow,
    ClientOrder,
    DeadLetter,
    DeliveryRow,
    EventRecord,
    Lag,
    NotificationRow,
    Observed,
    OrderRow,
    Planted,
)

A, B, C = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
DECLINED = "00000000-0000-4000-8000-0000000000d0"
POISON = "00000000-0000-4000-8000-0000000000f0"


def _event(topic: str, offset: int, order_id: str, prefix: str) -> EventRecord:
    return EventRecord(topic, 0, offset, order_id, order_id, f"{prefix}-{order_id}")


def healthy() -> Observed:
    """Three orders accepted, charged, cooked, delivered and notified; one declined; one
    poison record planted and dead-lettered by both groups that read its topic."""
    accepted = [A, B, C]
    return Observed(
        client=[
            *(ClientOrder(f"key-{o}", "accepted", o, 2, ("503", "201")) for o in accepted),
            ClientOrder("key-declined", "declined", DECLINED, 1, ("402",)),
        ],
        orders=[
            *(OrderRow(o, "accepted", f"pay-{o}") for o in accepted),
            OrderRow(DECLINED, "payment_declined", "pay-declined"),
        ],
        charges=[
            *(ChargeRow(f"pay-{o}", o, "approved") for o in accepted),
            ChargeRow("pay-declined", DECLINED, "declined"),
        ],
        deliveries=[DeliveryRow(o, "delivered") for o in accepted],
        notifications=[NotificationRow(o, k) for o in accepted for k in NOTIFICATION_KINDS],
        notification_log=[NotificationRow(o, k) for o in accepted for k in NOTIFICATION_KINDS],
        delivered_log=list(accepted),
        placed=[
            *(_event("order.placed", n, o, "placed") for n, o in enumerate(accepted)),
            EventRecord("order.placed", 0, 3, POISON, None, None),
        ],
        ready=[_event("order.ready", n, o, "ready") for n, o in enumerate(accepted)],
        dead_letters=[
            DeadLetter("order.placed.dlq", POISON, group, "malformed-avro")
            for group in ("kitchen", "delivery")
        ],
        planted=[Planted("order.placed", POISON, "year-10000")],
        lag=[
            Lag(group, topic, 0, 0) for group, topics in CONSUMER_GROUPS.items() for topic in topics
        ],
        partitions_read=4,
        consumer_groups=dict(CONSUMER_GROUPS),
    )


def broken(observed: Observed) -> dict[str, list[str]]:
    """The subjects of every violation, by invariant."""
    return {
        result.name: [violation.subject for violation in result.violations]
        for result in check(observed)
        if result.violations
    }


def test_a_healthy_soak_breaks_nothing() -> None:
    results = check(healthy())
    assert [result.name for result in results] == [invariant.__name__ for invariant in INVARIANTS]
    assert violation_count(results) == 0
    assert all(result.held for result in results)
    assert next(r for r in results if r.name == "delivered_exactly_once").checked == 3


def test_an_accepted_order_never_delivered() -> None:
    observed = healthy()
    deliveries = [DeliveryRow(A, "ready"), *observed.deliveries[1:]]
    notifications = [n for n in observed.notifications if n.order_id != A]
    log = [n for n in observed.notification_log if n.order_id != A]
    observed = replace(
        observed,
        deliveries=deliveries,
        notifications=notifications,
        notification_log=log,
        delivered_log=[B, C],
    )
    assert broken(observed) == {"delivered_exactly_once": [A]}


def test_an_order_delivered_twice() -> None:
    observed = replace(healthy(), delivered_log=[A, B, C, B])
    assert broken(observed) == {"delivered_exactly_once": [B]}


def test_an_order_answered_201_that_order_svc_does_not_know() -> None:
    lost = "00000000-0000-4000-8000-0000000000aa"
    observed = healthy()
    observed = replace(observed, client=[*observed.client, ClientOrder("k", "accepted", lost)])
    result = broken(observed)
    # Neither accepted (order_svc) nor delivered (delivery): both are said.
    assert result == {"delivered_exactly_once": [lost, lost]}


def test_delivery_tracks_an_order_that_was_never_accepted() -> None:
    observed = healthy()
    observed = replace(
        observed, deliveries=[*observed.deliveries, DeliveryRow(DECLINED, "received")]
    )
    assert broken(observed) == {"delivered_exactly_once": [DECLINED]}


def test_a_charge_for_an_order_that_was_not_accepted() -> None:
    stuck = "00000000-0000-4000-8000-0000000000bb"
    observed = healthy()
    observed = replace(
        observed,
        orders=[*observed.orders, OrderRow(stuck, "payment_declined", None)],
        charges=[*observed.charges, ChargeRow("pay-stuck", stuck, "approved")],
    )
    assert broken(observed) == {"charges_belong_to_orders": ["pay-stuck"]}


def test_a_voided_charge_of_an_unaccepted_order_is_fine() -> None:
    stuck = "00000000-0000-4000-8000-0000000000bb"
    observed = healthy()
    observed = replace(
        observed,
        orders=[*observed.orders, OrderRow(stuck, "cancelled", None)],
        charges=[*observed.charges, ChargeRow("pay-stuck", stuck, "voided", voided=True)],
    )
    assert broken(observed) == {}


def test_an_order_charged_twice() -> None:
    observed = healthy()
    observed = replace(observed, charges=[*observed.charges, ChargeRow("pay-again", A, "approved")])
    assert broken(observed) == {"charges_belong_to_orders": ["pay-again"]}


@pytest.mark.parametrize(
    "charges",
    [
        pytest.param([], id="no charge in the ledger"),
        pytest.param([ChargeRow(f"pay-{A}", A, "declined")], id="its charge was declined"),
        pytest.param([ChargeRow(f"pay-{A}", A, "voided", voided=True)], id="its charge is voided"),
    ],
)
def test_an_accepted_order_without_its_charge(charges: list[ChargeRow]) -> None:
    observed = healthy()
    others = [charge for charge in observed.charges if charge.order_id != A]
    observed = replace(observed, charges=[*others, *charges])
    assert broken(observed) == {"orders_charged": [A]}


@pytest.mark.parametrize("status", ["payment_pending", "payment_unavailable"])
def test_an_order_left_unsettled(status: str) -> None:
    pending = "00000000-0000-4000-8000-0000000000cc"
    observed = healthy()
    observed = replace(observed, orders=[*observed.orders, OrderRow(pending, status, None)])
    assert broken(observed) == {"orders_settled": [pending]}


def test_a_cancelled_order_without_a_standing_charge_is_settled() -> None:
    cancelled = "00000000-0000-4000-8000-0000000000cc"
    observed = healthy()
    observed = replace(
        observed,
        orders=[*observed.orders, OrderRow(cancelled, "cancelled", "pay-cancelled")],
        charges=[*observed.charges, ChargeRow("pay-cancelled", cancelled, "voided", voided=True)],
    )
    assert broken(observed) == {}


def _with(observed: Observed, field: str, records: list[EventRecord]) -> Observed:
    return (
        replace(observed, placed=records) if field == "placed" else replace(observed, ready=records)
    )


@pytest.mark.parametrize(("topic", "field", "invariant"), [
    ("order.placed", "placed", "order_placed_once"),
    ("order.ready", "ready", "order_ready_once"),
])  # fmt: skip
class TestOncePerOrder:
    def test_a_redelivered_event_is_fine(self, topic: str, field: str, invariant: str) -> None:
        observed = healthy()
        records: list[EventRecord] = getattr(observed, field)
        again = replace(records[0], offset=99)
        assert broken(_with(observed, field, [*records, again])) == {}

    def test_an_order_processed_twice(self, topic: str, field: str, invariant: str) -> None:
        observed = healthy()
        records: list[EventRecord] = getattr(observed, field)
        second = EventRecord(topic, 0, 99, B, B, "another-event-id")
        assert broken(_with(observed, field, [*records, second])) == {invariant: [B]}

    def test_an_order_never_there(self, topic: str, field: str, invariant: str) -> None:
        observed = healthy()
        records: list[EventRecord] = getattr(observed, field)
        others = [record for record in records if record.order_id != C]
        assert broken(_with(observed, field, others)) == {invariant: [C]}

    def test_an_event_of_an_unaccepted_order(self, topic: str, field: str, invariant: str) -> None:
        observed = healthy()
        records: list[EventRecord] = getattr(observed, field)
        unpaid = _event(topic, 99, DECLINED, "x")
        assert broken(_with(observed, field, [*records, unpaid])) == {invariant: [DECLINED]}

    def test_an_undecodable_record_not_planted(
        self, topic: str, field: str, invariant: str
    ) -> None:
        observed = healthy()
        records: list[EventRecord] = getattr(observed, field)
        garbage = EventRecord(topic, 2, 7, "some-key", None, None)
        result = broken(_with(observed, field, [*records, garbage]))
        assert result == {invariant: [f"{topic}[2]@7"]}


def test_a_delivered_order_missing_a_notification() -> None:
    observed = healthy()
    notifications = [n for n in observed.notifications if n != NotificationRow(B, "on_the_way")]
    assert broken(replace(observed, notifications=notifications)) == {"notified_once": [B]}


def test_a_notification_sent_twice() -> None:
    observed = healthy()
    log = [*observed.notification_log, NotificationRow(C, "delivered")]
    assert broken(replace(observed, notification_log=log)) == {"notified_once": [C]}


def test_a_notification_for_an_unaccepted_order() -> None:
    observed = healthy()
    stray = NotificationRow(DECLINED, "on_the_way")
    result = broken(replace(observed, notifications=[*observed.notifications, stray]))
    assert result == {"notified_once": [DECLINED]}


def test_lag_left_over() -> None:
    observed = healthy()
    lag = [*observed.lag, Lag("kitchen", "order.placed", 4, 2)]
    assert broken(replace(observed, lag=lag)) == {"lag_zero": ["kitchen order.placed[4]"]}


def test_a_partition_that_cannot_be_read_to_its_end() -> None:
    observed = replace(healthy(), unread=["order.ready[3]"])
    assert broken(observed) == {"topics_readable": ["order.ready[3]"]}


def test_a_dead_letter_that_was_not_planted() -> None:
    observed = healthy()
    letter = DeadLetter("order.placed.dlq", A, "delivery", "registry-unavailable")
    assert broken(replace(observed, dead_letters=[*observed.dead_letters, letter])) == {
        "dead_letters_planted": [A]
    }


def test_a_planted_record_one_group_did_not_dead_letter() -> None:
    observed = healthy()
    letters = [letter for letter in observed.dead_letters if letter.group != "delivery"]
    assert broken(replace(observed, dead_letters=letters)) == {"planted_dead_lettered": [POISON]}


def test_a_planted_order_ready_record_is_expected_from_delivery_alone() -> None:
    observed = healthy()
    poison = "00000000-0000-4000-8000-0000000000f1"
    observed = replace(
        observed,
        planted=[*observed.planted, Planted("order.ready", poison, "bad-bytes")],
        ready=[*observed.ready, EventRecord("order.ready", 1, 0, poison, None, None)],
        dead_letters=[
            *observed.dead_letters,
            DeadLetter("order.ready.dlq", poison, "delivery", "not-confluent-framed"),
        ],
    )
    assert broken(observed) == {}
