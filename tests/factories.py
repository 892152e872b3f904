"""Sample events for tests, built from the documented example order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pizza_common.events import Address, Customer, OrderItem, OrderPlaced, OrderReady, PizzaSize


def order_placed(order_id: str | None = None) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id or str(uuid.uuid4()),
        customer=Customer(name="Ada Lovelace", phone="+41 79 123 45 67", email="ada@example.org"),
        delivery_address=Address(
            street="Bahnhofstrasse 1", postal_code="8001", city="Zürich", instructions="3rd floor"
        ),
        items=(
            OrderItem("margherita", "Margherita", PizzaSize.LARGE, 2, Decimal("18.50")),
            OrderItem("funghi", "Funghi", PizzaSize.SMALL, 1, Decimal("12.00")),
        ),
        total=Decimal("49.00"),
        currency="CHF",
        payment_id="pay_" + uuid.uuid4().hex[:12],
    )


def order_ready(placed: OrderPlaced) -> OrderReady:
    started = datetime.now(UTC) - timedelta(seconds=7)
    return OrderReady(
        order_id=placed.order_id,
        placed_event_id=placed.event_id,
        kitchen_instance="kitchen-1",
        cook_started_at=started,
        pizza_count=placed.pizza_count,
    )
