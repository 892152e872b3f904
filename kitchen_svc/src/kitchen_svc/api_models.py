"""What ``GET /status`` answers, mapped from the kitchen's and its consumer's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kitchen_svc.service import CurrentOrder, KitchenService
from kitchen_svc.settings import CONSUMER_GROUP
from pizza_common.kafka import EventConsumer


@dataclass(frozen=True, slots=True)
class AssignedPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class CurrentOrderView:
    """An order this instance is busy with, and since when (ISO 8601)."""

    order_id: str
    phase: str
    since: str


@dataclass(frozen=True, slots=True)
class StatusCounts:
    cooked: int
    resent: int
    duplicates_skipped: int
    dead_lettered: int


@dataclass(frozen=True, slots=True)
class KitchenStatus:
    """What a running instance is doing: its partitions, the orders in its ovens and counts.

    ``current_order`` is the longest in an oven (what one oven showed before there were
    several); ``cooking`` lists all of them, the longest first.
    """

    instance: str
    state: Literal["open", "stopping"]
    group: str
    assigned_partitions: list[AssignedPartition]
    current_order: CurrentOrderView | None
    counts: StatusCounts
    ovens: int
    cooking: list[CurrentOrderView]


@dataclass(frozen=True, slots=True)
class StartingStatus:
    """An instance whose kitchen and consumer do not exist yet: only its name."""

    instance: str
    state: Literal["starting"] = "starting"


def status_view(
    instance: str, kitchen: KitchenService, consumer: EventConsumer, ovens: int
) -> KitchenStatus:
    cooking = [_view(order) for order in sorted(kitchen.cooking.values(), key=_started)]
    return KitchenStatus(
        instance=instance,
        state="stopping" if consumer.stopping.is_set() else "open",
        group=CONSUMER_GROUP,
        assigned_partitions=[
            AssignedPartition(topic, partition) for topic, partition in consumer.assigned
        ],
        current_order=cooking[0] if cooking else None,
        counts=StatusCounts(
            cooked=kitchen.counts.cooked,
            resent=kitchen.counts.resent,
            duplicates_skipped=kitchen.counts.duplicates,
            dead_lettered=consumer.dead_lettered,
        ),
        ovens=ovens,
        cooking=cooking,
    )


def _started(order: CurrentOrder) -> tuple[datetime, str]:
    return (order.since, order.order_id)


def _view(order: CurrentOrder) -> CurrentOrderView:
    return CurrentOrderView(order.order_id, order.phase, order.since.isoformat())
