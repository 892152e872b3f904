"""order_svc's Prometheus metrics (served at ``/metrics`` with the shared HTTP metrics)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from order_svc.breaker import State
from order_svc.payment_client import (
    Charge,
    PaymentClient,
    PaymentRefused,
    PaymentResult,
    PaymentUnavailable,
)

ORDERS = Counter(
    "pizza_orders_total",
    "Orders placed, by outcome: accepted, declined, unavailable, refused, invalid, shed, cancelled",
    ["outcome"],
)
PAYMENT_CALL = Histogram(
    "pizza_payment_call_duration_seconds",
    "One charge through payment_svc, retries included, by result (approved, declined, "
    "refused, circuit_open, timeout, unreachable, server_error)",
    ["result"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
for _outcome in (
    "accepted",
    "declined",
    "unavailable",
    "refused",
    "invalid",
    "shed",
    "cancelled",
):
    ORDERS.labels(_outcome)  # each shows as 0 before it first happens
CIRCUIT_OPEN = Gauge(
    "pizza_payment_circuit_open", "1 while the circuit breaker to payment_svc is open, else 0"
)
PLACEMENTS_IN_FLIGHT = Gauge(
    "pizza_order_placements_in_flight",
    "POST /orders requests being placed now (at most ORDER_ADMISSION_LIMIT; more are shed)",
)
SAGA_SETTLED = Counter(
    "pizza_saga_settled_total",
    "Unsettled orders the recovery worker settled, by how: accepted, declined, cancelled",
    ["how"],
)
for _how in ("accepted", "declined", "cancelled"):
    SAGA_SETTLED.labels(_how)
OUTBOX_BACKLOG = Gauge(
    "pizza_outbox_backlog", "order.placed events committed but not yet published to Kafka"
)


def on_breaker_change(state: State) -> None:
    """1 while open; half-open lets one trial call through, and counts as not open."""
    CIRCUIT_OPEN.set(1 if state == "open" else 0)


async def timed_charge(
    payments: PaymentClient, charge: Charge, *, deadline: float | None = None
) -> PaymentResult:
    """``payments.charge`` with its duration observed under the result it came to."""
    started = time.perf_counter()
    result = "error"
    try:
        answer = await payments.charge(charge, deadline=deadline)
        result = "approved" if answer.approved else "declined"
        return answer
    except PaymentUnavailable as exc:
        result = exc.cause
        raise
    except PaymentRefused:
        result = "refused"
        raise
    finally:
        PAYMENT_CALL.labels(result).observe(time.perf_counter() - started)
