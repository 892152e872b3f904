"""Consumer lag per group and partition: how many records each group has yet to process.

Lag is the partition's end offset minus the group's committed offset. A partition the
group never committed counts from the oldest retained record, since the groups start
from the earliest offset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pizza_common.contracts import CONSUMER_GROUPS


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


def consumer_lag(
    client_config: dict[str, Any], groups: dict[str, tuple[str, ...]] = CONSUMER_GROUPS
) -> list[PartitionLag]:
    """Every partition of the groups' topics, for each group (asked through Kafka's admin
    API with ``client_config``: where the brokers are, who asks; DESCRIBE is enough)."""
    admin = AdminClient(client_config)
    metadata = admin.list_topics(timeout=10).topics
    partitions = [
        TopicPartition(topic, p)
        for topic in sorted({t for topics in groups.values() for t in topics})
        if topic in metadata
        for p in sorted(metadata[topic].partitions)
    ]
    ends = _offsets(admin, partitions, OffsetSpec.latest())  # type: ignore[no-untyped-call]
    starts = _offsets(admin, partitions, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
    rows = []
    existing = _existing_groups(admin)
    for group, topics in groups.items():
        # A group that never committed has nothing to look up; asking for its offsets on
        # a broker that has no group at all yet can crash the client library.
        committed = _committed(admin, group) if group in existing else {}
        for tp in partitions:
            if tp.topic not in topics:
                continue
            key = (tp.topic, tp.partition)
            done = committed.get(key)
            end = ends[key]
            lag = end - (done if done is not None else starts[key])
            rows.append(PartitionLag(group, tp.topic, tp.partition, done, end, max(lag, 0)))
    return rows


NOT_READY = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _offsets(
    admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec
) -> dict[tuple[str, int], int]:
    if not partitions:
        return {}
    for attempt in range(20):  # right after topics are made, leaders may not be elected yet
        futures = admin.list_offsets({tp: spec for tp in partitions})
        try:
            return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        except KafkaException as exc:
            if attempt == 19 or exc.args[0].code() not in NOT_READY:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def _existing_groups(admin: AdminClient) -> set[str]:
    listed = admin.list_consumer_groups(request_timeout=10).result()
    return {group.group_id for group in listed.valid}


def _committed(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
    result = futures[group].result()
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.offset >= 0  # negative: nothing committed for that partition
    }


def total_lag(rows: list[PartitionLag], group: str) -> int:
    return sum(row.lag for row in rows if row.group == group)
