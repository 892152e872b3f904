"""delivery_svc's Prometheus metrics (served at ``/metrics`` with the shared HTTP metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from delivery_svc.domain import MESSAGES, TrackedOrder

# Delivery takes minutes with real drive times, seconds in the demos, and well under a
# second in the benchmark (no cooking or driving time), which reads its p99 from here.
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)

PLACED_TO_DELIVERED = Histogram(
    "pizza_placed_to_delivered_seconds",
    "Time from order.placed (payment accepted) to the order being delivered",
    buckets=_BUCKETS,
)
READY_TO_DELIVERED = Histogram(
    "pizza_ready_to_delivered_seconds",
    "Time from order.ready (cooked) to the order being delivered",
    buckets=_BUCKETS,
)
NOTIFICATIONS = Counter(
    "pizza_notifications_total",
    "Notifications sent to customers, by kind: on_the_way, delivered",
    ["kind"],
)


def observe_delivered(order: TrackedOrder) -> None:
    """Record how long a just-delivered order took, from each step that is known."""
    if order.delivered_at is None:
        return
    if order.received_at is not None:
        PLACED_TO_DELIVERED.observe((order.delivered_at - order.received_at).total_seconds())
    if order.ready_at is not None:
        READY_TO_DELIVERED.observe((order.delivered_at - order.ready_at).total_seconds())


for _message in MESSAGES.values():  # every kind shows as 0 before its first notification
    NOTIFICATIONS.labels(_message.kind.value)
