"""What ``GET /status`` answers, mapped from the kitchen's and its consumer's state."""

from __future__ import annotations

from typing import Any

from kitchen_svc.service import KitchenService
from kitchen_svc.settings import CONSUMER_GROUP
from pizza_common.kafka import EventConsumer


def status_view(
    instance: str, kitchen: KitchenService | None, consumer: EventConsumer | None
) -> dict[str, Any]:
    """This instance's partitions, current order and counts; only its name while starting."""
    if kitchen is None or consumer is None:
        return {"instance": instance, "state": "starting"}
    current = kitchen.current
    return {
        "instance": instance,
        "state": "stopping" if consumer.stopping.is_set() else "open",
        "group": CONSUMER_GROUP,
        "assigned_partitions": [
            {"topic": topic, "partition": partition} for topic, partition in consumer.assigned
        ],
        "current_order": None
        if current is None
        else {
            "order_id": current.order_id,
            "phase": current.phase,
            "since": current.since.isoformat(),
        },
        "counts": {
            "cooked": kitchen.counts.cooked,
            "resent": kitchen.counts.resent,
            "duplicates_skipped": kitchen.counts.duplicates,
            "dead_lettered": consumer.dead_lettered,
        },
    }
