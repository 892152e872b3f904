"""delivery_svc's domain: an order's way to the door, the fleet's moves, and what the
customer is told. Pure: no I/O, no framework.

Events of two topics arrive in any order (order.ready may come before order.placed, and
either may come twice); applying one is idempotent, and the status is always the
furthest step reached.

A free driver takes the order that has waited longest since it was ready; a driver is
busy from assignment until delivery. Everything is derived from the orders themselves,
so after a restart the fleet is exactly as the database says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pizza_common.contracts import OrderPlaced, OrderReady


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    READY = "ready"
    DRIVER_ASSIGNED = "driver_assigned"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"


STEPS: tuple[DeliveryStatus, ...] = tuple(DeliveryStatus)
"""Every step in the order an order reaches them; its status never goes back."""


def is_past(status: DeliveryStatus, step: DeliveryStatus | None) -> bool:
    """Whether ``status`` is a later step than ``step`` (every step is past none)."""
    return step is None or STEPS.index(status) > STEPS.index(step)


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
    tracking_token_sha256: str | None = None
    """The customer's tracking token as order.placed gave it (a digest); None until then."""

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
        return max(reached, key=STEPS.index)

    @property
    def since(self) -> datetime:
        """When the order reached its status."""
        return self.reached()[self.status]

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

    def has_arrived(self, now: datetime) -> bool:
        """On the way, and its driver is at the door by ``now``."""
        return (
            self.status is DeliveryStatus.ON_THE_WAY
            and self.due_at is not None
            and self.due_at <= now
        )


# --- Events: what order.placed and order.ready change -----------------------------------

DeliveryEvent = OrderPlaced | OrderReady
"""The events delivery consumes."""


class InvalidEvent(ValueError):
    """An event delivery can never apply: retrying it would not help."""


def accept(event: object) -> DeliveryEvent:
    """``event`` if delivery can apply it; :class:`InvalidEvent` says why not."""
    if isinstance(event, OrderPlaced):
        return event
    if isinstance(event, OrderReady):
        if event.pizza_count < 1:
            raise InvalidEvent(f"pizza_count {event.pizza_count} is not positive")
        return event
    raise InvalidEvent(f"unexpected event {type(event).__name__}")


def apply(current: TrackedOrder | None, event: DeliveryEvent) -> TrackedOrder:
    """The order after ``event``: unchanged if it was already applied."""
    if isinstance(event, OrderPlaced):
        return on_placed(current, event)
    return on_ready(current, event)


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
        tracking_token_sha256=event.tracking_token_sha256,
    )


def on_ready(current: TrackedOrder | None, event: OrderReady) -> TrackedOrder:
    order = current or TrackedOrder(event.order_id)
    if order.ready_at is not None:
        return order
    return replace(order, ready_at=event.ready_at, kitchen_instance=event.kitchen_instance)


# --- The fleet's steps: driver assigned, on the way, delivered ---------------------------


class NotAllowed(ValueError):
    """A step the order cannot take from where it is."""


def assign_driver(order: TrackedOrder, driver: str, now: datetime) -> TrackedOrder:
    """A driver takes an order that waits for one."""
    if not order.waits_for_driver:
        raise NotAllowed(f"order {order.order_id} does not wait for a driver")
    return replace(order, driver=driver, driver_assigned_at=now)


def set_off(order: TrackedOrder, now: datetime, drive_seconds: float) -> TrackedOrder:
    """The assigned driver leaves with the order; it arrives ``drive_seconds`` later."""
    if order.status is not DeliveryStatus.DRIVER_ASSIGNED:
        raise NotAllowed(f"order {order.order_id} is {order.status}, not driver_assigned")
    return replace(order, on_the_way_at=now, due_at=now + timedelta(seconds=drive_seconds))


def arrive(order: TrackedOrder, now: datetime) -> TrackedOrder:
    """The driver hands the order over: delivered, and the driver is free again."""
    if not order.has_arrived(now):
        raise NotAllowed(f"order {order.order_id} is not at the door at {now.isoformat()}")
    return replace(order, delivered_at=now, due_at=None)


def busy_drivers(orders: Sequence[TrackedOrder]) -> set[str]:
    return {o.driver for o in orders if o.driver is not None and o.delivered_at is None}


def next_moves(
    orders: Sequence[TrackedOrder],
    drivers: Sequence[str],
    now: datetime,
    drive_seconds: Callable[[], float],
) -> list[TrackedOrder]:
    """The orders that move on at ``now``, each one step: arrive, set off, or get a driver."""
    moved: dict[str, TrackedOrder] = {}
    for order in orders:
        if order.delivered_at is not None:
            continue
        if order.has_arrived(now):
            moved[order.order_id] = arrive(order, now)
        elif order.status is DeliveryStatus.DRIVER_ASSIGNED:
            moved[order.order_id] = set_off(order, now, drive_seconds())
    still_driving = busy_drivers([moved.get(o.order_id, o) for o in orders])
    free = [driver for driver in drivers if driver not in still_driving]
    waiting = sorted(
        (o for o in orders if o.waits_for_driver),
        key=lambda o: (o.ready_at, o.received_at, o.order_id),
    )
    for order, driver in zip(waiting, free, strict=False):
        moved[order.order_id] = assign_driver(order, driver, now)
    return list(moved.values())


def next_arrival(orders: Sequence[TrackedOrder]) -> datetime | None:
    """When the next driver on the way arrives, if any."""
    dues = [o.due_at for o in orders if o.due_at is not None and o.delivered_at is None]
    return min(dues, default=None)


def seconds_to_wait(orders: Sequence[TrackedOrder], now: datetime, at_most: float) -> float:
    """How long the fleet may sleep when nothing moves: until the next arrival, at most
    ``at_most`` seconds, never less than zero."""
    arrival = next_arrival(orders)
    if arrival is None:
        return at_most
    return min(at_most, max(0.0, (arrival - now).total_seconds()))


# --- What the customer is told, and when: once per order and step -----------------------


@dataclass(frozen=True, slots=True)
class Message:
    kind: DeliveryStatus
    de: str
    en: str


MESSAGES = {
    DeliveryStatus.ON_THE_WAY: Message(
        DeliveryStatus.ON_THE_WAY, "Dein Essen kommt!", "Your food is on its way!"
    ),
    DeliveryStatus.DELIVERED: Message(
        DeliveryStatus.DELIVERED, "Guten Appetit! Dein Essen ist da.", "Enjoy! Your food is here."
    ),
}


def message_for(status: DeliveryStatus) -> Message | None:
    """The notification that reaching ``status`` sends, if it sends one."""
    return MESSAGES.get(status)


@dataclass(frozen=True, slots=True)
class SentNotification:
    """A notification as it was sent to the customer."""

    kind: DeliveryStatus
    message_de: str
    message_en: str
    sent_at: datetime
