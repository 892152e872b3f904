"""What the board knows about the Kafka cluster at one moment: plain values, no I/O.

:mod:`board_svc.kafka_admin` fills a :class:`ClusterSnapshot` from the admin API; the
pages and the lag computation read only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PartitionState:
    partition: int
    leader: int
    replicas: tuple[int, ...]
    in_sync: tuple[int, ...]
    start: int
    """The oldest offset still retained."""
    end: int
    """The next offset to be written (the high watermark)."""

    @property
    def retained(self) -> int:
        return max(self.end - self.start, 0)


@dataclass(frozen=True, slots=True)
class TopicState:
    name: str
    partitions: tuple[PartitionState, ...]

    @property
    def retained(self) -> int:
        return sum(p.retained for p in self.partitions)


@dataclass(frozen=True, slots=True)
class GroupMember:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...]
    """(topic, partition) pairs this member owns now."""


@dataclass(frozen=True, slots=True)
class GroupState:
    group_id: str
    state: str
    members: tuple[GroupMember, ...]
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    taken_at: float
    """``time.time()`` when it was read."""
    topics: dict[str, TopicState]
    groups: dict[str, GroupState]
    error: str | None = None
    """Why the cluster could not be read (then topics and groups are empty)."""

    def partition(self, topic: str, partition: int) -> PartitionState | None:
        found = self.topics.get(topic)
        if found is None:
            return None
        return next((p for p in found.partitions if p.partition == partition), None)
