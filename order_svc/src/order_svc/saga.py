"""The payment saga's decisions: what to do with an order whose payment is unsettled.

An order waits in ``payment_pending`` or ``payment_unavailable`` only while nobody knows
whether payment charged it. Payment's ledger knows, under the order's one idempotency
key; this module decides, from what payment says, how the order ends. No I/O here: the
recovery worker asks payment, calls :func:`decide`, and carries the action out.
docs/saga.md draws the whole saga.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from order_svc.domain import OrderStatus

UNSETTLED = frozenset({OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_UNAVAILABLE})

# Why a key is voided; payment keeps the reason in its ledger.
UNCONFIRMED = "payment_unconfirmed"  # nothing charged by the bound: close the key
TOO_LATE = "order_too_old_to_accept"  # charged, but too late to cook the order now


def payment_key(order_id: str) -> str:
    """The one idempotency key of an order's charge, however often it is retried."""
    return f"order-{order_id}"


class ChargeState(StrEnum):
    """What payment's ledger says about an order's key (payment_svc's key states)."""

    NONE = "none"  # nothing charged (yet): a request still on its way could charge
    IN_PROGRESS = "in_progress"  # a request under the key is being processed
    APPROVED = "approved"
    DECLINED = "declined"
    VOIDED = "voided"  # the charge was taken back, or the key closed before any charge


@dataclass(frozen=True, slots=True)
class ChargeStatus:
    state: ChargeState
    payment_id: str | None = None
    reason: str | None = None  # why it was declined


@dataclass(frozen=True, slots=True)
class Wait:
    """Ask again next round."""

    why: str


@dataclass(frozen=True, slots=True)
class Accept:
    """Paid: accept the order and publish order.placed."""

    payment_id: str


@dataclass(frozen=True, slots=True)
class Decline:
    """Payment said no: nothing was charged."""

    payment_id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Void:
    """Have payment void the key (a charge is taken back, an unused key closed)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """The key is voided: the order ends without being cooked, and nothing stays charged."""

    payment_id: str | None  # the voided charge, if there was one


Action = Wait | Accept | Decline | Void | Cancel


def decide(charge: ChargeStatus, *, order_age: timedelta, accept_within: timedelta) -> Action:
    """The next step for an unsettled order, given what payment says about its key.

    ``none`` is not final by itself (a request may still be on its way to payment), so
    the key is voided first: after that, nothing can be charged under it, and the
    order ends cancelled. An approved charge is accepted unless the order is too old
    to be cooked now (``accept_within``): then the charge is voided and the order ends.
    """
    match charge.state:
        case ChargeState.IN_PROGRESS:
            # A live request keeps the key (the void answers "in progress": wait); one
            # whose payment instance died holds it for good unless the void takes it over.
            return Void(UNCONFIRMED)
        case ChargeState.APPROVED if charge.payment_id is not None:
            if order_age <= accept_within:
                return Accept(charge.payment_id)
            return Void(TOO_LATE)
        case ChargeState.DECLINED:
            return Decline(charge.payment_id, charge.reason)
        case ChargeState.VOIDED:
            return Cancel(charge.payment_id)
        case _:  # none (or an approval without an id, which payment never sends)
            return Void(UNCONFIRMED)
