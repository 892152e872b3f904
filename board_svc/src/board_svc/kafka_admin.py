"""Reading the cluster through Kafka's admin API, and sharing each reading for a second.

One :class:`ClusterReader` serves every viewer: whatever number of pages are open, the
broker is asked at most once per ``cache_seconds`` (topics, offsets, groups; the log
directories, for sizes, only while a topics page is asked for). The calls block, so they
run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, OffsetSpec, ResourceType

from board_svc.cluster import (
    ClusterSnapshot,
    GroupMember,
    GroupState,
    PartitionState,
    TopicState,
)
from board_svc.log_dirs import LogDirsClient, LogDirsUnavailable
from board_svc.topic_size import LogDirsReading
from pizza_common.kafka import KafkaSettings, admin_config

log = structlog.get_logger(__name__)

TIMEOUT_S = 5
T = TypeVar("T")


@dataclass(slots=True)
class BrokerCost:
    """What the board's admin client has asked of the brokers since it started (from
    librdkafka's own statistics, so every request counts, metadata included)."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    snapshots: int = 0


class ClusterReader:
    def __init__(self, settings: KafkaSettings, cache_seconds: float) -> None:
        self.cost = BrokerCost()
        self._settings = settings
        self._admin = self._new_admin()
        # A group's coordinator moved (a broker restarted) and this client keeps asking the
        # old one: seen to last for minutes. A new client finds the new coordinator.
        self._admin_stale = False
        self._cache_s = cache_seconds
        self._snapshot: ClusterSnapshot | None = None
        self._configs: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = asyncio.Lock()
        self._blocking = threading.Lock()
        self._log_dirs = LogDirsClient(settings, client_id="board-log-dirs", timeout_s=TIMEOUT_S)
        self._sizes: LogDirsReading | None = None
        self._sizes_lock = asyncio.Lock()
        self._sizes_pending: asyncio.Future[LogDirsReading] | None = None

    def _new_admin(self) -> AdminClient:
        return AdminClient(
            admin_config(
                self._settings,
                client_id="board-admin",
                **{"statistics.interval.ms": 1000, "stats_cb": self._on_stats},
            )
        )

    def _on_stats(self, text: str) -> None:
        stats = json.loads(text)
        self.cost.requests = int(stats.get("tx", 0))
        self.cost.bytes_sent = int(stats.get("tx_bytes", 0))
        self.cost.bytes_received = int(stats.get("rx_bytes", 0))

    async def snapshot(self) -> ClusterSnapshot:
        """The cluster as of at most ``cache_seconds`` ago; viewers asking together wait
        for one reading."""
        async with self._lock:
            cached = self._snapshot
            if cached is not None and time.time() - cached.taken_at < self._cache_s:
                return cached
            fresh = await self._in_thread(self._read)
            self._snapshot = fresh
            return fresh

    async def topic_configs(self, topic: str) -> dict[str, str]:
        """The topic's settings that differ from the broker's defaults (cached likewise)."""
        cached = self._configs.get(topic)
        if cached is not None and time.time() - cached[0] < self._cache_s:
            return cached[1]
        configs = await self._in_thread(lambda: self._read_configs(topic))
        self._configs[topic] = (time.time(), configs)
        return configs

    async def log_dirs(self) -> LogDirsReading:
        """The replicas' sizes of the snapshot's partitions (cached likewise). Never
        raises: when they cannot be read, the reading says why."""
        async with self._sizes_lock:
            cached = self._sizes
            if cached is not None and time.time() - cached.taken_at < self._cache_s:
                return cached
            snapshot = await self.snapshot()
            partitions = {
                name: [p.partition for p in topic.partitions]
                for name, topic in snapshot.topics.items()
            }
            self._sizes = fresh = await self._read_log_dirs(partitions)
            return fresh

    async def _read_log_dirs(self, partitions: dict[str, list[int]]) -> LogDirsReading:
        # A reading that outlives its timeout goes on in its thread, bounded by the
        # client's own timeouts; none is started beside it meanwhile.
        if self._sizes_pending is None or self._sizes_pending.done():
            pending = asyncio.ensure_future(asyncio.to_thread(self._log_dirs.read, partitions))
            # Its outcome is taken even when nobody waits for it any more.
            pending.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._sizes_pending = pending
        try:
            return await asyncio.wait_for(asyncio.shield(self._sizes_pending), TIMEOUT_S)
        except TimeoutError:
            error = f"no answer within {TIMEOUT_S} s"
        except LogDirsUnavailable as exc:
            error = str(exc)
        log.warning("log directories not readable", error=error)
        return LogDirsReading(time.time(), error=error)

    def close(self) -> None:
        self._log_dirs.close()

    async def _in_thread(self, read: Callable[[], T]) -> T:
        def locked() -> T:
            with self._blocking:
                if self._admin_stale:
                    self._admin, self._admin_stale = self._new_admin(), False
                try:
                    return read()
                finally:
                    self._admin.poll(0)  # serves the statistics callback

        return await asyncio.to_thread(locked)

    def _read(self) -> ClusterSnapshot:
        self.cost.snapshots += 1
        now = time.time()
        try:
            return ClusterSnapshot(now, self._read_topics(), self._read_groups())
        except (KafkaException, RuntimeError) as exc:
            log.warning("cluster not readable", error=str(exc))
            return ClusterSnapshot(now, {}, {}, error=str(exc))

    def _read_topics(self) -> dict[str, TopicState]:
        metadata = self._admin.list_topics(timeout=TIMEOUT_S).topics
        names = sorted(name for name in metadata if not name.startswith("__"))
        partitions = [TopicPartition(t, p) for t in names for p in sorted(metadata[t].partitions)]
        starts = self._offsets(partitions, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
        ends = self._offsets(partitions, OffsetSpec.latest())  # type: ignore[no-untyped-call]
        topics = {}
        for name in names:
            states = []
            for number, p in sorted(metadata[name].partitions.items()):
                states.append(
                    PartitionState(
                        number,
                        p.leader,
                        tuple(p.replicas),
                        tuple(p.isrs),
                        starts.get((name, number), 0),
                        ends.get((name, number), 0),
                    )
                )
            topics[name] = TopicState(name, tuple(states))
        return topics

    def _offsets(self, partitions: list[TopicPartition], spec: Any) -> dict[tuple[str, int], int]:
        if not partitions:
            return {}
        futures = self._admin.list_offsets(
            {tp: spec for tp in partitions}, request_timeout=TIMEOUT_S
        )
        found = {}
        for tp, future in futures.items():
            try:
                found[(tp.topic, tp.partition)] = future.result().offset
            except KafkaException:
                continue  # a partition without a leader right now: shown as 0
        return found

    def _read_groups(self) -> dict[str, GroupState]:
        listed = self._admin.list_consumer_groups(request_timeout=TIMEOUT_S).result()
        ids = sorted(group.group_id for group in listed.valid)
        if not ids:
            return {}
        described = self._admin.describe_consumer_groups(ids, request_timeout=TIMEOUT_S)
        groups = {}
        for group_id, future in described.items():
            try:
                description = future.result()
            except KafkaException as exc:
                # One group not described now (its coordinator is moving) leaves the rest of
                # the board readable, and the board ready: the group shows why.
                groups[group_id] = self._undescribed(group_id, exc)
                continue
            members = tuple(
                GroupMember(
                    m.member_id,
                    m.client_id,
                    m.host,
                    tuple(sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)),
                )
                for m in description.members
            )
            state = getattr(description.state, "name", str(description.state))
            groups[group_id] = GroupState(group_id, state, members, self._committed(group_id))
        return groups

    def _undescribed(self, group_id: str, exc: KafkaException) -> GroupState:
        error = exc.args[0] if exc.args else None
        code = error.name() if isinstance(error, KafkaError) else str(exc)
        if isinstance(error, KafkaError) and error.code() == KafkaError.NOT_COORDINATOR:
            self._admin_stale = True
        log.warning("group not described", group=group_id, error=str(exc))
        try:
            committed = self._committed(group_id)
        except KafkaException:
            committed = {}
        return GroupState(group_id, f"unknown ({code})", (), committed)

    def _committed(self, group: str) -> dict[tuple[str, int], int]:
        futures = self._admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=TIMEOUT_S
        )
        result = futures[group].result()
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions or []
            if tp.offset >= 0  # negative: nothing committed for that partition
        }

    def _read_configs(self, topic: str) -> dict[str, str]:
        resource = ConfigResource(ResourceType.TOPIC, topic)
        entries = self._admin.describe_configs([resource], request_timeout=TIMEOUT_S)
        found = entries[resource].result()
        return {
            name: str(entry.value) for name, entry in sorted(found.items()) if not entry.is_default
        }
