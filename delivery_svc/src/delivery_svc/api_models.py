"""What the REST API returns, mapped from the domain's tracked orders and notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery_svc.domain import DeliveryStatus, SentNotification, TrackedOrder


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    status: DeliveryStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class NotificationView:
    kind: DeliveryStatus
    message_de: str
    message_en: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class OrderTracking:
    """An order's delivery status and how it got there."""

    order_id: str
    status: DeliveryStatus
    driver: str | None
    kitchen_instance: str | None
    expected_at: datetime | None
    """When the driver is expected at the door, while on the way."""
    timeline: list[TimelineEntry]
    notifications: list[NotificationView]


@dataclass(frozen=True, slots=True)
class OrderSummary:
    order_id: str
    status: DeliveryStatus
    since: datetime
    driver: str | None


@dataclass(frozen=True, slots=True)
class OrderList:
    orders: list[OrderSummary]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One server-sent event of ``GET /orders/{order_id}/events``."""

    order_id: str
    status: DeliveryStatus
    at: datetime
    driver: str | None


def tracking_view(order: TrackedOrder, sent: list[SentNotification]) -> OrderTracking:
    return OrderTracking(
        order_id=order.order_id,
        status=order.status,
        driver=order.driver,
        kitchen_instance=order.kitchen_instance,
        expected_at=order.due_at,
        timeline=[TimelineEntry(status, at) for status, at in order.timeline()],
        notifications=[
            NotificationView(n.kind, n.message_de, n.message_en, n.sent_at) for n in sent
        ],
    )


def summary_view(order: TrackedOrder) -> OrderSummary:
    return OrderSummary(order.order_id, order.status, order.since, order.driver)


def status_change(order: TrackedOrder) -> StatusChange:
    return StatusChange(order.order_id, order.status, order.since, order.driver)
