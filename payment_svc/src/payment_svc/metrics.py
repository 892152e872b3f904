"""payment_svc's Prometheus metrics (served at ``/metrics`` with the shared HTTP metrics)."""

from __future__ import annotations

from prometheus_client import Counter

PAYMENTS = Counter(
    "pizza_payments_total",
    "Payments decided, by status (approved, declined) and decline reason (none if approved)",
    ["status", "reason"],
)
SIMULATED_OUTAGES = Counter(
    "pizza_payment_simulated_outages_total",
    "Requests answered 503 by the simulated outage (error rate), nothing charged",
)
SIMULATED_HANGS = Counter(
    "pizza_payment_simulated_hangs_total", "Requests left unanswered by the simulated hang mode"
)
VOIDS = Counter(
    "pizza_payment_voids_total",
    "Void requests answered, by the key's state after them (voided, declined) and whether "
    "it has a payment (yes: a charge taken back or a decline; no: a key closed unused)",
    ["state", "payment"],
)
for _state, _payment in (("voided", "yes"), ("voided", "no"), ("declined", "yes")):
    VOIDS.labels(_state, _payment)  # each shows as 0 before it first happens
