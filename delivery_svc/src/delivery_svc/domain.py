"""An order's way to the door, built from events: pure functions, no I/O.

Events of two topics arrive in any order (order.ready may come before order.placed, and
either may come twice); applying one is idempotent, and the status is always the
furthest step reached.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from pizza_common.events import OrderPlaced, OrderReady


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    READY = "ready"
    DRIVER_ASSIGNED = "driver_assigned"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"


@dataclass(frozen=True, slots=True)
class Destination:
    customer_name: str
    phone: str
    street: str
    postal_code: str
    city: str
    instructions: str | None


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    order_id: str
    destination: Destination | None = None
    pizza_count: int | None = None
    kitchen_instance: str | None = None
    received_at: datetime | None = None
    ready_at: datetime | None = None
    driver_assigned_at: datetime | None = None
    on_the_way_at: datetime | None = None
    delivered_at: datetime | None = None
    driver: str | None = None
    due_at: datetime | None = None
    """When the driver arrives, while on the way."""

    def reached(self) -> dict[DeliveryStatus, datetime]:
        times = {
            DeliveryStatus.RECEIVED: self.received_at,
            DeliveryStatus.READY: self.ready_at,
            DeliveryStatus.DRIVER_ASSIGNED: self.driver_assigned_at,
            DeliveryStatus.ON_THE_WAY: self.on_the_way_at,
            DeliveryStatus.DELIVERED: self.delivered_at,
        }
        return {status: at for status, at in times.items() if at is not None}

    @property
    def status(self) -> DeliveryStatus:
        reached = self.reached()
        if not reached:
            raise ValueError(f"order {self.order_id} has no step yet")
        return max(reached, key=list(DeliveryStatus).index)

    def timeline(self) -> list[tuple[DeliveryStatus, datetime]]:
        return list(self.reached().items())

    @property
    def waits_for_driver(self) -> bool:
        """Cooked and with an address, but nobody drives it yet."""
        return (
            self.destination is not None
            and self.received_at is not None
            and self.ready_at is not None
            and self.driver is None
            and self.delivered_at is None
        )


def on_placed(current: TrackedOrder | None, event: OrderPlaced) -> TrackedOrder:
    order = current or TrackedOrder(event.order_id)
    if order.received_at is not None:
        return order  # a duplicate: the first one counts
    address = event.delivery_address
    return replace(
        order,
        destination=Destination(
            customer_name=event.customer.name,
            phone=event.customer.phone,
            street=address.street,
            postal_code=address.postal_code,
            city=address.city,
            instructions=address.instructions,
        ),
        pizza_count=event.pizza_count,
        received_at=event.placed_at,
    )


def on_ready(current: TrackedOrder | None, event: OrderReady) -> TrackedOrder:
    order = current or TrackedOrder(event.order_id)
    if order.ready_at is not None:
        return order
    return replace(order, ready_at=event.ready_at, kitchen_instance=event.kitchen_instance)
