"""Every topic of the platform: its name, partitions and retention, declared once.

The dev tooling creates them from this table (``pizza-ctl topics-apply``), on a local
broker and as Docker Compose's set-up job alike. Replication is not declared: it follows the
cluster (1 node: 1; 3 nodes: 3 with ``min.insync.replicas`` 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from pizza_common.contracts._events import ORDER_PLACED, ORDER_READY, dead_letter_topic

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int
    cleanup_policy: str = "delete"

    @property
    def has_contract(self) -> bool:
        """An event topic has an Avro contract; a dead-letter topic keeps the raw bytes."""
        return not self.name.endswith(".dlq")


TOPICS: tuple[Topic, ...] = (
    # Up to 6 kitchen instances share the work: one partition is cooked by one instance.
    # Kept a week: a kitchen or delivery outage of days loses nothing.
    Topic(ORDER_PLACED, partitions=6, retention_ms=7 * DAY_MS),
    Topic(ORDER_READY, partitions=6, retention_ms=7 * DAY_MS),
    # Dead letters, with the reason in headers: kept a month to be looked at and replayed.
    Topic(dead_letter_topic(ORDER_PLACED), partitions=1, retention_ms=30 * DAY_MS),
    Topic(dead_letter_topic(ORDER_READY), partitions=1, retention_ms=30 * DAY_MS),
)
