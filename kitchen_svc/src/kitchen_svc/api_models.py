"""What ``GET /status`` answers, mapped from the kitchen's and its consumer's state."""

from __future__ import annotations

from dataclasses import dataclass
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
    """The order this instance is busy with, and since when (ISO 8601)."""

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
    """What a running instance is doing: its partitions, current order and counts."""

    instance: str
    state: Literal["open", "stopping"]
    group: str
    assigned_partitions: list[AssignedPartition]
    current_order: CurrentOrderView | None
    counts: StatusCounts


@dataclass(frozen=True, slots=True)
class StartingStatus:
    """An instance whose kitchen and consumer do not exist yet: only its name."""

    instance: str
    state: Literal["starting"] = "starting"


def status_view(instance: str, kitchen: KitchenService, consumer: EventConsumer) -> KitchenStatus:
    return KitchenStatus(
        instance=instance,
        state="stopping" if consumer.stopping.is_set() else "open",
        group=CONSUMER_GROUP,
        assigned_partitions=[
            AssignedPartition(topic, partition) for topic, partition in consumer.assigned
        ],
        current_order=_current_order(kitchen.current),
        counts=StatusCounts(
            cooked=kitchen.counts.cooked,
            resent=kitchen.counts.resent,
            duplicates_skipped=kitchen.counts.duplicates,
            dead_lettered=consumer.dead_lettered,
        ),
    )


def _current_order(current: CurrentOrder | None) -> CurrentOrderView | None:
    if current is None:
        return None
    return CurrentOrderView(current.order_id, current.phase, current.since.isoformat())
