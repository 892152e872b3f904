"""What the customer is told, and when: once per order and step."""

from __future__ import annotations

from dataclasses import dataclass

from delivery_svc.domain import DeliveryStatus


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
