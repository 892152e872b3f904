"""A topic's size in bytes, from the brokers' log directories (Kafka's DescribeLogDirs), and
bytes as people read them. Pure: :mod:`board_svc.log_dirs` asks the brokers.

A topic's size is the sum over its partitions of the leader replica's log segments: what
one copy of the topic takes, whatever the replication factor. Every replica reported
(followers, and a copy being moved between a broker's log directories) adds up to what the
topic takes on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from board_svc.cluster import ClusterSnapshot, TopicState


# DescribeLogDirs' answer as kafka-python gives it: per broker, its log directories.
class PartitionDir(TypedDict):
    partition_index: int
    partition_size: int
    is_future_key: bool


class TopicDir(TypedDict):
    name: str
    partitions: list[PartitionDir]


class LogDir(TypedDict):
    error_code: int
    log_dir: str
    topics: list[TopicDir]


class BrokerLogDirs(TypedDict):
    broker: int
    log_dirs: list[LogDir]


@dataclass(frozen=True, slots=True)
class ReplicaSize:
    broker: int
    topic: str
    partition: int
    size: int
    future: bool
    """A copy being moved to another log directory of the broker, not yet the replica."""


@dataclass(frozen=True, slots=True)
class LogDirsReading:
    taken_at: float
    """``time.time()`` when it was read."""
    replicas: tuple[ReplicaSize, ...] = ()
    error: str | None = None
    """Why no size is known (refused, unreachable, no answer in time)."""
    failed_dirs: tuple[str, ...] = ()
    """Log directories a broker reported with an error (offline): their replicas are
    missing."""


class LogDirsRefused(Exception):
    """A broker listed no log directory at all: it refused to describe them."""


def replicas_of(answer: list[BrokerLogDirs]) -> tuple[tuple[ReplicaSize, ...], tuple[str, ...]]:
    """Every replica the brokers reported, and the log directories they reported failed.

    A broker that may not describe its log directories answers with none, and only an error
    code that kafka-python does not pass on; a broker that may always lists every one it
    has. So a broker without a single log directory is taken for a refusal.
    """
    replicas: list[ReplicaSize] = []
    failed: list[str] = []
    for broker in answer:
        if not broker["log_dirs"]:
            raise LogDirsRefused(
                f"broker {broker['broker']} listed no log directory: refused "
                "(DescribeLogDirs needs DESCRIBE on the cluster)"
            )
        for log_dir in broker["log_dirs"]:
            if log_dir["error_code"] != 0:
                failed.append(
                    f"broker {broker['broker']}: {log_dir['log_dir']} "
                    f"(error {log_dir['error_code']})"
                )
                continue
            replicas += [
                ReplicaSize(
                    broker["broker"],
                    topic["name"],
                    p["partition_index"],
                    p["partition_size"],
                    p["is_future_key"],
                )
                for topic in log_dir["topics"]
                for p in topic["partitions"]
            ]
    return tuple(replicas), tuple(failed)


@dataclass(frozen=True, slots=True)
class PartitionSize:
    partition: int
    leader_bytes: int | None
    """The leader replica's log segments; None: not known (then ``unknown`` says why)."""
    on_disk: int
    """Every replica reported, future copies included."""
    unknown: str | None = None


@dataclass(frozen=True, slots=True)
class TopicSize:
    partitions: tuple[PartitionSize, ...]
    unknown: str | None = None
    """Why the size is not known; set, ``bytes`` and ``on_disk`` are None."""

    @property
    def bytes(self) -> int | None:
        """The leader replicas' sizes summed: one copy of the topic."""
        if self.unknown is not None:
            return None
        return sum(p.leader_bytes or 0 for p in self.partitions)

    @property
    def on_disk(self) -> int | None:
        """Every replica reported, summed: what the topic takes on the brokers' disks."""
        if self.unknown is not None:
            return None
        return sum(p.on_disk for p in self.partitions)


def topic_sizes(snapshot: ClusterSnapshot, reading: LogDirsReading) -> dict[str, TopicSize]:
    """Each topic of the snapshot with its size; when the brokers did not tell it, the
    reason, for every topic and partition alike."""
    by_partition: dict[tuple[str, int], list[ReplicaSize]] = {}
    for replica in reading.replicas:
        by_partition.setdefault((replica.topic, replica.partition), []).append(replica)
    return {
        name: _topic_size(topic, by_partition, reading) for name, topic in snapshot.topics.items()
    }


def _topic_size(
    topic: TopicState,
    by_partition: dict[tuple[str, int], list[ReplicaSize]],
    reading: LogDirsReading,
) -> TopicSize:
    partitions = []
    for state in topic.partitions:
        replicas = by_partition.get((topic.name, state.partition), [])
        leader = [r.size for r in replicas if r.broker == state.leader and not r.future]
        unknown = reading.error
        if unknown is None and not leader:
            unknown = f"the leader's replica (broker {state.leader}) was not reported"
            if reading.failed_dirs:
                unknown += f"; log directories in error: {', '.join(reading.failed_dirs)}"
        partitions.append(
            PartitionSize(
                state.partition,
                None if unknown else leader[0],
                sum(r.size for r in replicas),
                unknown,
            )
        )
    why = next((f"partition {p.partition}: {p.unknown}" for p in partitions if p.unknown), None)
    return TopicSize(tuple(partitions), reading.error or why)


UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``20.0 MiB``, ``300 GiB``: binary units, at most three digits
    before the point (1023.96 KiB is shown as 1.0 MiB, not 1024 KiB)."""
    if abs(size) < 1024:
        return f"{size} B"
    value = float(size)
    for unit in UNITS[1:]:
        value /= 1024
        shown = f"{value:.1f}" if abs(value) < 99.95 else f"{value:.0f}"
        if abs(float(shown)) < 1024 or unit == UNITS[-1]:
            break
    return f"{shown} {unit}"
