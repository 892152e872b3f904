"""An order's way to the door as the tracking view shows it: six steps, each done, current
or to come. delivery_svc knows five of them; "cooking" is the time between the kitchen
receiving the order and the order being ready."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STEPS = ("received", "cooking", "ready", "driver_assigned", "on_the_way", "delivered")


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    state: str
    """``done``, ``current`` or ``todo``."""
    at: str | None


@dataclass(frozen=True, slots=True)
class TrackingView:
    order_id: str
    status: str
    steps: tuple[Step, ...]
    kitchen_instance: str | None
    driver: str | None
    notifications: tuple[str, ...]
    finished: bool


def current_step(status: str | None) -> str | None:
    """The step shown as current for delivery's status (received means it is cooking)."""
    if status is None:
        return None
    return "cooking" if status == "received" else status


def tracking_view(order_id: str, tracking: dict[str, Any] | None, language: str) -> TrackingView:
    """From delivery's ``GET /orders/{order_id}`` body (None while it does not know it)."""
    tracking = tracking or {}
    status = tracking.get("status")
    times = {entry["status"]: entry["at"] for entry in tracking.get("timeline", [])}
    current = current_step(status)
    position = STEPS.index(current) if current in STEPS else -1
    steps = []
    for index, name in enumerate(STEPS):
        state = "done" if index < position else "current" if index == position else "todo"
        if name == "delivered" and status == "delivered":
            state = "done"
        steps.append(Step(name, state, times.get(name)))
    message_key = "message_de" if language == "de" else "message_en"
    return TrackingView(
        order_id=order_id,
        status=status or "unknown",
        steps=tuple(steps),
        kitchen_instance=tracking.get("kitchen_instance"),
        driver=tracking.get("driver"),
        notifications=tuple(str(n.get(message_key, "")) for n in tracking.get("notifications", [])),
        finished=status == "delivered",
    )
