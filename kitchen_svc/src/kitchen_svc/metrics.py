"""kitchen_svc's Prometheus metrics (served at ``/metrics`` with the shared HTTP metrics)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

COOK_DURATION = Histogram(
    "pizza_cook_duration_seconds",
    "Time from starting to cook an order to its pizzas being ready",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 15, 20, 30, 60),
)
ORDERS_COOKED = Counter(
    "pizza_orders_cooked_total",
    "Orders cooked and published as order.ready, by kitchen instance",
    ["instance"],
)


class DeadLettered(Collector):
    """The consumer's own count of records it copied to a .dlq topic: refused by the kitchen
    or undecodable, which only the consumer sees."""

    def __init__(self) -> None:
        self.count: Callable[[], int] = lambda: 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "pizza_dead_lettered_records",
            "Records of order.placed copied to order.placed.dlq instead of being cooked",
            value=self.count(),
        )


DEAD_LETTERED = DeadLettered()
REGISTRY.register(DEAD_LETTERED)
