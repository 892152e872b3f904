"""A kitchen's ticket: one per order, saying what was cooked, where and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pizza_common.events import OrderReady


class TicketStatus(StrEnum):
    COOKING = "cooking"
    READY = "ready"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class Ticket:
    order_id: str
    placed_event_id: str
    status: TicketStatus
    instance: str
    pizza_count: int
    cook_started_at: datetime
    ready_at: datetime | None
    ready_event_id: str | None

    def ready_event(self) -> OrderReady:
        """The order.ready of this ticket; the same event (and id) each time it is sent."""
        if self.ready_at is None or self.ready_event_id is None:
            raise ValueError(f"ticket {self.order_id} is not cooked yet")
        return OrderReady(
            order_id=self.order_id,
            placed_event_id=self.placed_event_id,
            kitchen_instance=self.instance,
            cook_started_at=self.cook_started_at,
            ready_at=self.ready_at,
            pizza_count=self.pizza_count,
            event_id=self.ready_event_id,
        )
