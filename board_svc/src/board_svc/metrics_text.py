"""The services' Prometheus metrics, read for the board: orders per minute by outcome, the
circuit breaker, the outbox backlog. Pure: works on the text the endpoints answer."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

ORDERS = "pizza_orders_total"
CIRCUIT_OPEN = "pizza_payment_circuit_open"
OUTBOX_BACKLOG = "pizza_outbox_backlog"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def by_label(text: str, name: str, label: str) -> dict[str, float]:
    return {
        dict(labels).get(label, ""): value
        for (sample, labels), value in samples(text).items()
        if sample == name
    }


def single(text: str, name: str) -> float | None:
    values = [value for (sample, _), value in samples(text).items() if sample == name]
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class OrderCounts:
    at: float
    by_outcome: dict[str, float]


class OrderRates:
    """Orders per minute by outcome, from counter readings over the last minute."""

    def __init__(self, window_s: float = 60.0) -> None:
        self._window_s = window_s
        self._readings: deque[OrderCounts] = deque()

    def add(self, reading: OrderCounts) -> None:
        if self._readings and reading.at <= self._readings[-1].at:
            return
        self._readings.append(reading)
        while len(self._readings) > 2 and reading.at - self._readings[1].at >= self._window_s:
            self._readings.popleft()

    def per_minute(self) -> dict[str, float]:
        if len(self._readings) < 2:
            return {}
        first, last = self._readings[0], self._readings[-1]
        seconds = last.at - first.at
        if seconds <= 0:
            return {}
        rates = {}
        for outcome, value in last.by_outcome.items():
            # A counter that went down means order_svc restarted: count from zero.
            before = first.by_outcome.get(outcome, 0.0)
            grew = value - before if value >= before else value
            rates[outcome] = round(grew * 60 / seconds, 1)
        return rates
