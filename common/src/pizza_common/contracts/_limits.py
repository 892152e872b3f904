"""Business limits and formats more than one service checks: written once, here."""

from __future__ import annotations

import re

# The most pizzas of one kind in one order: order_svc refuses more, and the event contract
# documents the same ceiling for every consumer.
MAX_QUANTITY = 20

# An ``Idempotency-Key`` header: order_svc accepts it from customers and hands it on, and
# payment_svc keys its ledger by it, so both must accept exactly the same texts.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def is_valid_idempotency_key(key: str | None) -> bool:
    """True for a key both services accept (the whole text must match)."""
    return key is not None and IDEMPOTENCY_KEY_PATTERN.fullmatch(key) is not None
