"""Orders as the order service knows them: what a customer asks for, its price, its states
and the saga's decisions. No I/O here.

An :class:`Order` is a value: each change of status returns the order as it is after the
change, one version later. The store saves a change only if the order is still at the
version it was decided on (compare-and-set), so a request and the recovery worker can
never both settle one order. docs/saga.md draws the whole saga.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from order_svc.menu import MENU, Pizza
from pizza_common.contracts import CENT, Address, Customer, OrderItem, OrderPlaced, PizzaSize


class OrderStatus(StrEnum):
    """Where an order stands at the order service."""

    PAYMENT_PENDING = "payment_pending"  # saved, payment not answered yet
    ACCEPTED = "accepted"  # paid; order.placed is in the outbox or published
    PAYMENT_DECLINED = "payment_declined"  # payment said no: final
    # Payment did not answer in time: unknown whether it charged. The client may retry
    # with its Idempotency-Key; the recovery worker settles it if nobody does.
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    # Final, not cooked: payment never confirmed a charge in time, and its key is voided
    # (any charge was taken back; none can come later).
    CANCELLED = "cancelled"


# Nobody knows yet whether payment charged these: only they can change.
UNSETTLED = frozenset({OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_UNAVAILABLE})
_ANY_END = frozenset({OrderStatus.ACCEPTED, OrderStatus.PAYMENT_DECLINED, OrderStatus.CANCELLED})

# The status changes an order may make. Into payment_pending again is a claim: a customer's
# retry (from payment_unavailable) or the recovery worker (from either) takes the order.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAYMENT_PENDING: _ANY_END
    | {OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_UNAVAILABLE},
    OrderStatus.PAYMENT_UNAVAILABLE: _ANY_END | {OrderStatus.PAYMENT_PENDING},
    OrderStatus.ACCEPTED: frozenset(),
    OrderStatus.PAYMENT_DECLINED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class PaymentOutcome(StrEnum):
    """What became of an order's charge, as the order keeps it."""

    APPROVED = "approved"
    DECLINED = "declined"
    REFUSED = "refused"  # payment refused the request itself (e.g. a bad card number)
    VOIDED = "voided"  # the key was voided: a charge taken back, or none ever possible
    NOT_CHARGED = "not_charged"  # the key was voided before anything was charged


# Why a key is voided; payment keeps the reason in its ledger.
UNCONFIRMED = "payment_unconfirmed"  # nothing charged by the bound: close the key
TOO_LATE = "order_too_old_to_accept"  # charged, but too late to cook the order now


def payment_key(order_id: str) -> str:
    """The one idempotency key of an order's charge, however often it is retried."""
    return f"order-{order_id}"


class UnknownPizza(ValueError):
    def __init__(self, pizza_id: str) -> None:
        super().__init__(f"unknown pizza {pizza_id!r}")
        self.pizza_id = pizza_id


class InvalidTransition(ValueError):
    def __init__(self, status: OrderStatus, to: OrderStatus) -> None:
        super().__init__(f"an order in {status} cannot become {to}")
        self.status = status
        self.to = to


@dataclass(frozen=True, slots=True)
class LineRequest:
    pizza_id: str
    size: PizzaSize
    quantity: int


def price_lines(lines: list[LineRequest], menu: dict[str, Pizza] = MENU) -> tuple[OrderItem, ...]:
    """Items with the menu's prices: the client's idea of a price is ignored."""
    items = []
    for line in lines:
        pizza = menu.get(line.pizza_id)
        if pizza is None:
            raise UnknownPizza(line.pizza_id)
        items.append(
            OrderItem(pizza.pizza_id, pizza.name, line.size, line.quantity, pizza.prices[line.size])
        )
    return tuple(items)


def total_of(items: tuple[OrderItem, ...] | list[OrderItem]) -> Decimal:
    return sum((item.unit_price * item.quantity for item in items), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A customer's order as asked for: what, for whom, where, paid with which card."""

    customer: Customer
    delivery_address: Address
    lines: tuple[LineRequest, ...]
    card_number: str
    # The client's Idempotency-Key: a retry with it gets the same order, charged once.
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """Whether a retry asks for the same order: a digest of everything but the key."""
        asked = {
            "customer": _fields(self.customer, "name", "phone", "email"),
            "delivery_address": _fields(
                self.delivery_address, "street", "postal_code", "city", "instructions"
            ),
            "items": [
                {"pizza_id": line.pizza_id, "size": line.size.value, "quantity": line.quantity}
                for line in self.lines
            ],
            "payment": {"card_number": self.card_number},
        }
        canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _fields(value: object, *names: str) -> dict[str, object]:
    return {name: getattr(value, name) for name in names}


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer: Customer
    delivery_address: Address
    lines: tuple[OrderItem, ...]
    currency: str
    card_last4: str  # never the whole card number
    idempotency_key: str | None
    request_fingerprint: str
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.PAYMENT_PENDING
    payment_id: str | None = None
    payment_outcome: PaymentOutcome | None = None
    payment_reason: str | None = None
    version: int = 0  # one more with each change of status
    # SHA-256 of the customer's tracking token (order_svc.tracking); never the token.
    # None only for orders placed before tracking tokens existed.
    tracking_token_sha256: str | None = None

    @classmethod
    def place(
        cls,
        command: PlaceOrder,
        *,
        order_id: str,
        currency: str,
        now: datetime,
        tracking_token_sha256: str | None = None,
        menu: dict[str, Pizza] = MENU,
    ) -> Order:
        """A new order, priced from the menu, waiting for its payment."""
        return cls(
            order_id=order_id,
            customer=command.customer,
            delivery_address=command.delivery_address,
            lines=price_lines(list(command.lines), menu),
            currency=currency,
            card_last4=command.card_number.replace(" ", "")[-4:],
            idempotency_key=command.idempotency_key,
            request_fingerprint=command.fingerprint(),
            created_at=now,
            updated_at=now,
            tracking_token_sha256=tracking_token_sha256,
        )

    @property
    def total(self) -> Decimal:
        return total_of(self.lines).quantize(CENT)

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at

    def can_become(self, status: OrderStatus) -> bool:
        return status in TRANSITIONS[self.status]

    def retry_payment(self, now: datetime) -> Order:
        """The customer retries a payment that did not answer: the order is theirs again."""
        if self.status is not OrderStatus.PAYMENT_UNAVAILABLE:
            raise InvalidTransition(self.status, OrderStatus.PAYMENT_PENDING)
        return self._become(OrderStatus.PAYMENT_PENDING, now, keep_payment=True)

    def take_over(self, now: datetime) -> Order:
        """The recovery worker takes an unsettled order (before it voids its key)."""
        return self._become(OrderStatus.PAYMENT_PENDING, now, keep_payment=True)

    def accept(self, payment_id: str, now: datetime) -> tuple[Order, OrderPlaced]:
        """Paid: the accepted order, and its order.placed event (both saved, or neither)."""
        accepted = self._become(
            OrderStatus.ACCEPTED, now, payment_id=payment_id, outcome=PaymentOutcome.APPROVED
        )
        event = OrderPlaced(
            order_id=self.order_id,
            customer=self.customer,
            delivery_address=self.delivery_address,
            items=self.lines,
            total=self.total,
            currency=self.currency,
            payment_id=payment_id,
            placed_at=now,
            tracking_token_sha256=self.tracking_token_sha256,
        )
        return accepted, event

    def decline(self, reason: str | None, now: datetime, *, payment_id: str | None) -> Order:
        """Payment said no: nothing was charged."""
        return self._become(
            OrderStatus.PAYMENT_DECLINED,
            now,
            payment_id=payment_id,
            outcome=PaymentOutcome.DECLINED,
            reason=reason,
        )

    def refuse(self, now: datetime) -> Order:
        """Payment refused the request itself: final, nothing can be charged."""
        return self._become(
            OrderStatus.PAYMENT_DECLINED,
            now,
            outcome=PaymentOutcome.REFUSED,
            reason="invalid_payment",
        )

    def payment_unavailable(self, cause: str, now: datetime) -> Order:
        """No answer in time: unknown whether payment charged; not final."""
        return self._become(OrderStatus.PAYMENT_UNAVAILABLE, now, reason=cause)

    def cancel(
        self, reason: str, now: datetime, *, outcome: PaymentOutcome, payment_id: str | None = None
    ) -> Order:
        """The key is voided: the order ends uncooked, and nothing stays charged."""
        return self._become(
            OrderStatus.CANCELLED, now, payment_id=payment_id, outcome=outcome, reason=reason
        )

    def _become(
        self,
        status: OrderStatus,
        now: datetime,
        *,
        keep_payment: bool = False,
        payment_id: str | None = None,
        outcome: PaymentOutcome | None = None,
        reason: str | None = None,
    ) -> Order:
        if not self.can_become(status):
            raise InvalidTransition(self.status, status)
        if keep_payment:
            return replace(self, status=status, updated_at=now, version=self.version + 1)
        return replace(
            self,
            status=status,
            payment_id=payment_id,
            payment_outcome=outcome,
            payment_reason=reason,
            updated_at=now,
            version=self.version + 1,
        )


@dataclass(frozen=True, slots=True)
class EventState:
    """An order's order.placed event as saved with it: published yet or not."""

    event_id: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as it is served: with its event, once it has one."""

    order: Order
    event: EventState | None


# The payment saga: an order waits in payment_pending or payment_unavailable only while
# nobody knows whether payment charged it. Payment's ledger knows, under the order's one
# key; :func:`decide` says, from what payment says, how the order ends. The recovery
# worker asks payment, calls it, and carries the action out.


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


def settle(order: Order, action: Accept | Decline | Cancel, now: datetime, *, why: str) -> Settled:
    """The order as the saga's ``action`` ends it (``why``: the reason its key was voided)."""
    match action:
        case Accept(payment_id):
            accepted, event = order.accept(payment_id, now)
            return Settled(accepted, event, "accepted")
        case Decline(payment_id, reason):
            return Settled(order.decline(reason, now, payment_id=payment_id), None, "declined")
        case Cancel(payment_id):
            outcome = PaymentOutcome.VOIDED if payment_id else PaymentOutcome.NOT_CHARGED
            cancelled = order.cancel(why, now, outcome=outcome, payment_id=payment_id)
            return Settled(cancelled, None, "cancelled")


@dataclass(frozen=True, slots=True)
class Settled:
    order: Order
    event: OrderPlaced | None  # order.placed, for an accepted order
    how: str  # accepted, declined or cancelled
