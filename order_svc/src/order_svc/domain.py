"""Orders as the order service knows them: pricing and states. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from order_svc.menu import MENU, Pizza
from pizza_common.contracts import OrderItem, PizzaSize


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


@dataclass(frozen=True, slots=True)
class LineRequest:
    pizza_id: str
    size: PizzaSize
    quantity: int


class UnknownPizza(ValueError):
    def __init__(self, pizza_id: str) -> None:
        super().__init__(f"unknown pizza {pizza_id!r}")
        self.pizza_id = pizza_id


def price_lines(
    lines: list[LineRequest], menu: dict[str, Pizza] = MENU
) -> tuple[tuple[OrderItem, ...], Decimal]:
    """Items with the menu's prices, and their total: the client's idea of a price is ignored."""
    items = []
    for line in lines:
        pizza = menu.get(line.pizza_id)
        if pizza is None:
            raise UnknownPizza(line.pizza_id)
        items.append(
            OrderItem(pizza.pizza_id, pizza.name, line.size, line.quantity, pizza.prices[line.size])
        )
    total = sum((item.unit_price * item.quantity for item in items), Decimal("0.00"))
    return tuple(items), total
