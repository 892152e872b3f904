"""Which offsets of each partition may be committed while several records are in flight.

Records of one partition finish in any order, but a commit of offset ``n`` says every
record before ``n`` is done. The ledger keeps each partition's records in the order they
were read and lets a record commit only once every earlier one of its partition is done:
the safe point of a partition is its first unfinished record.

A record given back (its partition is leaving, the consumer is stopping) never finishes
here, so nothing after it commits either: the records after it are *orphans*, given back
as well once done, and the partition's next owner reads them again.

Pure bookkeeping, no I/O: the consumer calls it under a lock, from the event loop and
from the rebalance callbacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, auto
from typing import Generic, TypeVar

T = TypeVar("T")

TopicPartitionKey = tuple[str, int]


class _State(Enum):
    RUNNING = auto()
    DONE = auto()
    GIVEN_BACK = auto()


@dataclass(slots=True)
class _Entry(Generic[T]):
    item: T
    state: _State


@dataclass(frozen=True, slots=True)
class Tracked(Generic[T]):
    """A record in the ledger: where it was read and what the caller keeps with it."""

    topic: str
    partition: int
    offset: int
    item: T


class OffsetLedger(Generic[T]):
    """In-flight records per partition, in the order they were read."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartitionKey, dict[int, _Entry[T]]] = {}

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._partitions.values())

    def start(self, topic: str, partition: int, offset: int, item: T) -> None:
        """A record was read and its handler starts; a record read again replaces its
        stale entry (a partition that came back while the old handler still ran)."""
        entries = self._partitions.setdefault((topic, partition), {})
        if entries and offset <= max(entries):
            # Read again from an earlier offset: whatever was tracked from there is stale.
            for stale in [o for o in entries if o >= offset]:
                del entries[stale]
        entries[offset] = _Entry(item, _State.RUNNING)

    def done(self, topic: str, partition: int, offset: int, item: T) -> bool:
        """The record's handler finished. False if it can never commit here: it is no
        longer tracked (its partition left) or an earlier record was given back."""
        entry = self._entry(topic, partition, offset, item)
        if entry is None:
            return False
        if self._given_back_before((topic, partition), offset):
            entry.state = _State.GIVEN_BACK
            return False
        entry.state = _State.DONE
        return True

    def redo(self, topic: str, partition: int, offset: int, item: T) -> bool:
        """The record is handled again (its commit failed): nothing after it commits
        meanwhile. False if it is no longer tracked."""
        entry = self._entry(topic, partition, offset, item)
        if entry is None:
            return False
        entry.state = _State.RUNNING
        return True

    def give_back(self, topic: str, partition: int, offset: int, item: T) -> list[T]:
        """The record will not finish here. Returns the orphans: records after it that
        were done, which can no longer commit here either."""
        entry = self._entry(topic, partition, offset, item)
        if entry is None:
            return []
        entry.state = _State.GIVEN_BACK
        orphans: list[T] = []
        for later, other in self._partitions[(topic, partition)].items():
            if later > offset and other.state is _State.DONE:
                other.state = _State.GIVEN_BACK
                orphans.append(other.item)
        return orphans

    def committable(self) -> list[Tracked[T]]:
        """Done records before the first unfinished one of their partition, in order."""
        ready: list[Tracked[T]] = []
        for (topic, partition), entries in self._partitions.items():
            for offset, entry in entries.items():
                if entry.state is not _State.DONE:
                    break
                ready.append(Tracked(topic, partition, offset, entry.item))
        return ready

    def committed(self, records: Iterable[Tracked[T]]) -> None:
        """``records`` (from :meth:`committable`) are committed: no longer tracked."""
        for record in records:
            entries = self._partitions.get((record.topic, record.partition), {})
            entry = entries.get(record.offset)
            if entry is not None and entry.item is record.item:
                del entries[record.offset]

    def items(self, partitions: Iterable[TopicPartitionKey] | None = None) -> list[T]:
        """Every tracked record's item, or only those of ``partitions``."""
        keys = self._partitions.keys() if partitions is None else partitions
        return [e.item for key in keys for e in self._partitions.get(key, {}).values()]

    def drop(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """The partitions left this consumer: their records are not ours to commit."""
        for key in partitions:
            self._partitions.pop(key, None)

    def clear(self) -> None:
        self._partitions.clear()

    def _entry(self, topic: str, partition: int, offset: int, item: T) -> _Entry[T] | None:
        entry = self._partitions.get((topic, partition), {}).get(offset)
        return entry if entry is not None and entry.item is item else None

    def _given_back_before(self, key: TopicPartitionKey, offset: int) -> bool:
        return any(
            earlier < offset and entry.state is _State.GIVEN_BACK
            for earlier, entry in self._partitions[key].items()
        )


def commit_offsets(records: Iterable[Tracked[T]]) -> dict[TopicPartitionKey, int]:
    """The offset to commit per partition for ``records``: one past the last of each."""
    offsets: dict[TopicPartitionKey, int] = {}
    for record in records:
        key = (record.topic, record.partition)
        offsets[key] = max(offsets.get(key, -1), record.offset + 1)
    return offsets
