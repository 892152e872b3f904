"""Business limits and formats more than one service checks: written once, here."""

from __future__ import annotations

import re
from decimal import Decimal

# The most pizzas of one kind in one order: order_svc refuses more, and the event contract
# documents the same ceiling for every consumer.
MAX_QUANTITY = 20

# Money is decimal(9, 2) in the contracts (events and payment's API): whole cents, and at
# most 9 digits, 2 of them after the point.
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999.99")

# An ``Idempotency-Key`` header: order_svc accepts it from customers and hands it on, and
# payment_svc keys its ledger by it, so both must accept exactly the same texts.
IDEMPOTENCY_KEY_MIN_LENGTH = 1
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_KEY_PATTERN = re.compile(
    rf"[A-Za-z0-9._:-]{{{IDEMPOTENCY_KEY_MIN_LENGTH},{IDEMPOTENCY_KEY_MAX_LENGTH}}}"
)
# The same rule in words, for error messages and API descriptions.
IDEMPOTENCY_KEY_RULE = (
    f"{IDEMPOTENCY_KEY_MIN_LENGTH} to {IDEMPOTENCY_KEY_MAX_LENGTH} characters of "
    "A-Z a-z 0-9 . _ : -"
)


def is_valid_idempotency_key(key: str | None) -> bool:
    """True for a key both services accept (the whole text must match)."""
    return key is not None and IDEMPOTENCY_KEY_PATTERN.fullmatch(key) is not None
