"""The platform's promises, checked over what was observed after a soak.

A pure function of :class:`~pizza_infra.scenarios.chaos.model.Observed`: no I/O, so each promise
is tested with hand-made data. Every violation names its subject (an order id, a
payment id, a partition) and says what was seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pizza_common.contracts import ORDER_PLACED, ORDER_READY
from pizza_infra.scenarios.chaos.model import (
    ACCEPTED,
    APPROVED,
    DELIVERED,
    NOTIFICATION_KINDS,
    UNSETTLED,
    EventRecord,
    Observed,
    OrderRow,
)


@dataclass(frozen=True, slots=True)
class Violation:
    subject: str
    detail: str


@dataclass(frozen=True)
class InvariantResult:
    name: str
    promise: str
    checked: int
    violations: list[Violation]

    @property
    def held(self) -> bool:
        return not self.violations


def check(observed: Observed) -> list[InvariantResult]:
    """Every invariant, in the order the report shows them."""
    return [invariant(observed) for invariant in INVARIANTS]


def _accepted(observed: Observed) -> dict[str, OrderRow]:
    return {row.order_id: row for row in observed.orders if row.status == ACCEPTED}


def _planted_keys(observed: Observed) -> set[str]:
    return {planted.key for planted in observed.planted}


def _answered_201(observed: Observed) -> list[str]:
    return [o.order_id for o in observed.client if o.outcome == ACCEPTED and o.order_id]


def delivered_exactly_once(observed: Observed) -> InvariantResult:
    orders = {row.order_id: row for row in observed.orders}
    accepted = _accepted(observed)
    deliveries = {row.order_id: row.status for row in observed.deliveries}
    delivered_steps = Counter(observed.delivered_log)
    subjects = list(dict.fromkeys([*_answered_201(observed), *accepted]))
    violations = []
    for order_id in subjects:
        order = orders.get(order_id)
        if order is None or order.status != ACCEPTED:
            state = "unknown to order_svc" if order is None else f"'{order.status}' in order_svc"
            violations.append(Violation(order_id, f"answered 201 but {state}"))
        status = deliveries.get(order_id)
        if status != DELIVERED:
            seen = "unknown to delivery" if status is None else f"'{status}' at delivery"
            violations.append(Violation(order_id, f"accepted but {seen}"))
        if delivered_steps[order_id] > 1:
            violations.append(
                Violation(order_id, f"delivered {delivered_steps[order_id]} times (delivery log)")
            )
    for order_id in deliveries.keys() - accepted.keys():
        violations.append(
            Violation(order_id, f"tracked by delivery ('{deliveries[order_id]}'), never accepted")
        )
    return InvariantResult(
        "delivered_exactly_once",
        "every order answered 201 (and every accepted order) is delivered exactly once",
        len(subjects),
        violations,
    )


def charges_belong_to_orders(observed: Observed) -> InvariantResult:
    accepted = _accepted(observed)
    status = {row.order_id: row.status for row in observed.orders}
    approved = [c for c in observed.charges if c.status == APPROVED]
    violations = []
    for charge in approved:
        if charge.voided:
            continue
        order = accepted.get(charge.order_id)
        if order is None:
            state = status.get(charge.order_id, "unknown to order_svc")
            violations.append(
                Violation(charge.payment_id, f"approved for order {charge.order_id} ({state})")
            )
        elif order.payment_id != charge.payment_id:
            violations.append(
                Violation(
                    charge.payment_id,
                    f"a second approved charge for order {charge.order_id}, "
                    f"which was accepted with {order.payment_id}",
                )
            )
    return InvariantResult(
        "charges_belong_to_orders",
        "every approved charge belongs to an accepted order, or is voided",
        len(approved),
        violations,
    )


def orders_charged(observed: Observed) -> InvariantResult:
    accepted = _accepted(observed)
    charges = {charge.payment_id: charge for charge in observed.charges}
    violations = []
    for order in accepted.values():
        charge = charges.get(order.payment_id or "")
        if charge is None:
            violations.append(
                Violation(order.order_id, f"accepted, but payment {order.payment_id} not in ledger")
            )
        elif charge.status != APPROVED or charge.order_id != order.order_id:
            violations.append(
                Violation(
                    order.order_id,
                    f"accepted with {charge.payment_id}, which is '{charge.status}' "
                    f"for order {charge.order_id}",
                )
            )
        elif charge.voided:
            violations.append(
                Violation(order.order_id, f"accepted, but its charge {charge.payment_id} is voided")
            )
    return InvariantResult(
        "orders_charged",
        "no accepted order without its approved charge",
        len(accepted),
        violations,
    )


def orders_settled(observed: Observed) -> InvariantResult:
    return InvariantResult(
        "orders_settled",
        "after the soak no order is left unsettled (payment_pending, payment_unavailable)",
        len(observed.orders),
        [
            Violation(row.order_id, f"still {row.status}")
            for row in observed.orders
            if row.status in UNSETTLED
        ],
    )


def _once_per_accepted_order(
    observed: Observed, records: list[EventRecord], topic: str
) -> list[Violation]:
    """Distinct event ids per accepted order must be exactly one; none for other orders.

    A record seen twice with the same event id is a legal redelivery (consumers drop
    it); two event ids for one order mean it was processed twice.
    """
    accepted = _accepted(observed)
    planted = _planted_keys(observed)
    events: defaultdict[str, set[str]] = defaultdict(set)
    violations = []
    for record in records:
        if record.key in planted:
            continue
        if record.order_id is None or record.event_id is None:
            violations.append(Violation(record.where, f"undecodable {topic} record, not planted"))
            continue
        events[record.order_id].add(record.event_id)
    for order_id in accepted:
        count = len(events.get(order_id, ()))
        if count != 1:
            violations.append(Violation(order_id, f"{count} distinct committed {topic} events"))
    for order_id in events.keys() - accepted.keys():
        violations.append(Violation(order_id, f"{topic} for an order that was never accepted"))
    return violations


def order_placed_once(observed: Observed) -> InvariantResult:
    return InvariantResult(
        "order_placed_once",
        "one order.placed event per accepted order, and none for any other",
        len(_accepted(observed)),
        _once_per_accepted_order(observed, observed.placed, ORDER_PLACED),
    )


def order_ready_once(observed: Observed) -> InvariantResult:
    return InvariantResult(
        "order_ready_once",
        "one committed order.ready event per accepted order (read_committed)",
        len(_accepted(observed)),
        _once_per_accepted_order(observed, observed.ready, ORDER_READY),
    )


def notified_once(observed: Observed) -> InvariantResult:
    accepted = _accepted(observed)
    delivered = {row.order_id for row in observed.deliveries if row.status == DELIVERED}
    stored = Counter((n.order_id, n.kind) for n in observed.notifications)
    logged = Counter((n.order_id, n.kind) for n in observed.notification_log)
    violations = []
    for order_id in sorted(delivered & accepted.keys()):
        for kind in NOTIFICATION_KINDS:
            if stored[(order_id, kind)] != 1:
                violations.append(
                    Violation(order_id, f"{stored[(order_id, kind)]} stored '{kind}' notifications")
                )
    for order_id, kind in sorted((stored + logged).keys()):
        if logged[(order_id, kind)] > 1:
            violations.append(
                Violation(order_id, f"'{kind}' notification sent {logged[(order_id, kind)]} times")
            )
        if order_id not in accepted:
            violations.append(Violation(order_id, f"'{kind}' notification for an unaccepted order"))
    return InvariantResult(
        "notified_once",
        "each delivered order notified once per step (on_the_way, delivered)",
        len(delivered),
        violations,
    )


def lag_zero(observed: Observed) -> InvariantResult:
    return InvariantResult(
        "lag_zero",
        "every consumer group has processed every partition (lag 0)",
        len(observed.lag),
        [
            Violation(f"{row.group} {row.topic}[{row.partition}]", f"lag {row.lag}")
            for row in observed.lag
            if row.lag
        ],
    )


def topics_readable(observed: Observed) -> InvariantResult:
    return InvariantResult(
        "topics_readable",
        "a read_committed reader reaches the end of every partition (no transaction left open)",
        observed.partitions_read,
        [Violation(where, "not readable to its end offset") for where in observed.unread],
    )


def dead_letters_planted(observed: Observed) -> InvariantResult:
    planted = _planted_keys(observed)
    unplanned = [d for d in observed.dead_letters if d.key not in planted]
    return InvariantResult(
        "dead_letters_planted",
        "the dead-letter topics hold only the records planted on purpose",
        len(observed.dead_letters),
        [
            Violation(
                dead.key or "(no key)",
                f"in {dead.topic} by group {dead.group}: {dead.reason}",
            )
            for dead in unplanned
        ],
    )


def planted_dead_lettered(observed: Observed) -> InvariantResult:
    by = {(d.topic, d.key, d.group) for d in observed.dead_letters}
    violations = []
    for planted in observed.planted:
        for group, topics in sorted(observed.consumer_groups.items()):
            if planted.topic in topics and (f"{planted.topic}.dlq", planted.key, group) not in by:
                violations.append(
                    Violation(
                        planted.key,
                        f"{planted.kind} planted in {planted.topic}, not dead-lettered by {group}",
                    )
                )
    return InvariantResult(
        "planted_dead_lettered",
        "every planted poison record is dead-lettered by each group that reads its topic",
        len(observed.planted),
        violations,
    )


INVARIANTS: tuple[Callable[[Observed], InvariantResult], ...] = (
    delivered_exactly_once,
    charges_belong_to_orders,
    orders_charged,
    orders_settled,
    order_placed_once,
    order_ready_once,
    notified_once,
    lag_zero,
    topics_readable,
    dead_letters_planted,
    planted_dead_lettered,
)


def violation_count(results: Iterable[InvariantResult]) -> int:
    return sum(len(result.violations) for result in results)
