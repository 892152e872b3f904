"""The events of the platform as typed Python objects, one per Avro contract in ``schemas/``.

These classes hold no I/O: :mod:`pizza_common.kafka` turns them into Confluent-framed
Avro bytes and back. Field names and meaning follow the ``.avsc`` files.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self

from pizza_common.contracts._limits import CENT, MAX_AMOUNT
from pizza_common.contracts._time import to_millis, utc_now

ORDER_PLACED = "order.placed"
ORDER_READY = "order.ready"


def dead_letter_topic(topic: str) -> str:
    """Where records of ``topic`` go when they cannot be processed."""
    return f"{topic}.dlq"


def _new_id() -> str:
    return str(uuid.uuid4())


def check_money(amount: Decimal) -> None:
    """The contracts carry money as decimal(9, 2): refuse what would be rounded."""
    if amount != amount.quantize(CENT) or abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{amount} does not fit decimal(9, 2)")


class Event(Protocol):
    """What the Avro codec needs of an event class."""

    TOPIC: ClassVar[str]

    @property
    def event_id(self) -> str: ...

    @property
    def order_id(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self: ...


class PizzaSize(StrEnum):
    SMALL = "SMALL"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    phone: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postal_code: str
    city: str
    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class OrderItem:
    pizza_id: str
    name: str
    size: PizzaSize
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """A paid order; produced by order_svc, consumed by kitchen_svc and delivery_svc."""

    TOPIC: ClassVar[str] = ORDER_PLACED

    order_id: str
    customer: Customer
    delivery_address: Address
    items: tuple[OrderItem, ...]
    total: Decimal
    currency: str
    payment_id: str
    placed_at: datetime = field(default_factory=utc_now)
    event_id: str = field(default_factory=_new_id)
    # The SHA-256 (hex) of the customer's tracking token, never the token: delivery checks
    # the token against it without asking order_svc. None in events of earlier versions.
    tracking_token_sha256: str | None = None

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("an order has at least one item")
        check_money(self.total)
        for item in self.items:
            check_money(item.unit_price)
        object.__setattr__(self, "placed_at", to_millis(self.placed_at))

    @property
    def pizza_count(self) -> int:
        return sum(item.quantity for item in self.items)

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "order_id": self.order_id,
            "placed_at": self.placed_at,
            "customer": {
                "name": self.customer.name,
                "phone": self.customer.phone,
                "email": self.customer.email,
            },
            "delivery_address": {
                "street": self.delivery_address.street,
                "postal_code": self.delivery_address.postal_code,
                "city": self.delivery_address.city,
                "instructions": self.delivery_address.instructions,
            },
            "items": [
                {
                    "pizza_id": item.pizza_id,
                    "name": item.name,
                    "size": item.size.value,
                    "quantity": item.quantity,
                    "unit_price": item.unit_price,
                }
                for item in self.items
            ],
            "total": self.total,
            "currency": self.currency,
            "payment_id": self.payment_id,
            "tracking_token_sha256": self.tracking_token_sha256,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            event_id=str(record["event_id"]),
            order_id=str(record["order_id"]),
            placed_at=record["placed_at"],
            customer=Customer(**record["customer"]),
            delivery_address=Address(**record["delivery_address"]),
            items=tuple(
                OrderItem(
                    pizza_id=item["pizza_id"],
                    name=item["name"],
                    size=PizzaSize(item["size"]),
                    quantity=item["quantity"],
                    unit_price=item["unit_price"],
                )
                for item in record["items"]
            ),
            total=record["total"],
            currency=record["currency"],
            payment_id=record["payment_id"],
            tracking_token_sha256=record.get("tracking_token_sha256"),
        )


@dataclass(frozen=True, slots=True)
class OrderReady:
    """The kitchen finished an order; produced by kitchen_svc, consumed by delivery_svc."""

    TOPIC: ClassVar[str] = ORDER_READY

    order_id: str
    placed_event_id: str
    kitchen_instance: str
    cook_started_at: datetime
    pizza_count: int
    ready_at: datetime = field(default_factory=utc_now)
    event_id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cook_started_at", to_millis(self.cook_started_at))
        object.__setattr__(self, "ready_at", to_millis(self.ready_at))

    def to_record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "order_id": self.order_id,
            "placed_event_id": self.placed_event_id,
            "kitchen_instance": self.kitchen_instance,
            "cook_started_at": self.cook_started_at,
            "ready_at": self.ready_at,
            "pizza_count": self.pizza_count,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            event_id=str(record["event_id"]),
            order_id=str(record["order_id"]),
            placed_event_id=str(record["placed_event_id"]),
            kitchen_instance=record["kitchen_instance"],
            cook_started_at=record["cook_started_at"],
            ready_at=record["ready_at"],
            pizza_count=record["pizza_count"],
        )


# Who consumes what: the consumer groups of the platform and the topics each one reads.
# Lag monitoring reports exactly these.
KITCHEN_GROUP = "kitchen"
DELIVERY_GROUP = "delivery"
CONSUMER_GROUPS: dict[str, tuple[str, ...]] = {
    KITCHEN_GROUP: (ORDER_PLACED,),
    DELIVERY_GROUP: (ORDER_PLACED, ORDER_READY),
}
