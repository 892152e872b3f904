"""The REST contract of order_svc as pydantic models (validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from order_svc.domain import OrderStatus, PaymentOutcome
from order_svc.menu import MENU
from pizza_common.contracts import MAX_QUANTITY, PizzaSize

MAX_LINES = 20


class _Input(BaseModel):
    # Strict, validated as JSON: 2 is a quantity; "2", 2.0 and true are not.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class CustomerIn(_Input):
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["Ada Lovelace"])]
    phone: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^\+?[0-9 ()/.-]{6,30}$")]
    email: Annotated[
        str | None, Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ] = None


class AddressIn(_Input):
    street: Annotated[str, Field(min_length=1, max_length=200, description="Street and number")]
    postal_code: Annotated[
        str, Field(min_length=1, max_length=12, pattern=r"^[0-9A-Za-z -]{3,12}$")
    ]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    instructions: Annotated[str | None, Field(default=None, max_length=300)] = None


class ItemIn(_Input):
    pizza_id: Annotated[str, Field(min_length=1, max_length=50, examples=["margherita"])]
    size: PizzaSize = PizzaSize.MEDIUM
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)] = 1

    @field_validator("pizza_id")
    @classmethod
    def _on_the_menu(cls, pizza_id: str) -> str:
        if pizza_id not in MENU:
            raise PydanticCustomError("unknown_pizza", "unknown pizza", {"pizza_id": pizza_id})
        return pizza_id


class PaymentIn(_Input):
    # Only the shape of a card number as people type it (digits, maybe in groups), on
    # purpose not payment_svc's rule: payment owns the card rule (digit count, Luhn) and
    # its refusal comes back as a 422 on payment.card_number.
    card_number: Annotated[str, Field(pattern=r"^[0-9 ]{12,23}$", examples=["4242 4242 4242 4242"])]


class OrderIn(_Input):
    """``POST /orders``: what the customer sends. Prices come from the menu, never from here."""

    customer: CustomerIn
    delivery_address: AddressIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_LINES)]
    payment: PaymentIn


class CustomerOut(BaseModel):
    name: str
    phone: str
    email: str | None


class AddressOut(BaseModel):
    street: str
    postal_code: str
    city: str
    instructions: str | None


class ItemOut(BaseModel):
    pizza_id: str
    name: str
    size: PizzaSize
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class PaymentOut(BaseModel):
    payment_id: str | None
    outcome: str | None = Field(
        description=f"one of {', '.join(PaymentOutcome)}; null while unknown"
    )
    reason: str | None


class EventOut(BaseModel):
    topic: str
    event_id: str
    published: bool
    published_at: datetime | None


class OrderOut(BaseModel):
    order_id: str
    status: OrderStatus
    items: list[ItemOut]
    total: Decimal
    currency: str
    customer: CustomerOut
    delivery_address: AddressOut
    payment: PaymentOut
    event: EventOut | None = Field(description="order.placed, once the order is paid")
    created_at: datetime
    updated_at: datetime


class PlacedOrderOut(OrderOut):
    """The answer to ``POST /orders`` (201): the order, and how to read it again."""

    tracking_token: str | None = Field(
        description="Send it as X-Tracking-Token to read this order at order_svc and "
        "delivery_svc; keep it: it is the customer's only way in. Null only when it "
        "cannot be derived any more (a replay after the service's secret changed)."
    )


class MenuPizzaOut(BaseModel):
    pizza_id: str
    name: str
    description: str
    prices: dict[PizzaSize, Decimal]


class MenuOut(BaseModel):
    currency: str
    pizzas: list[MenuPizzaOut]
