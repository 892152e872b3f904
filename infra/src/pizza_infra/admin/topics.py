"""The platform's topics, declared in :mod:`pizza_common.contracts`, applied idempotently:
missing topics are created, partitions raised (never lowered), configs set."""

from __future__ import annotations

from dataclasses import dataclass, replace

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
    TopicMetadata,
)

from pizza_common.contracts import TOPICS
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.kafka_access import admin_config


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    retention_ms: int
    cleanup_policy: str

    @property
    def config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            "min.insync.replicas": str(self.min_insync_replicas),
        }


def load_topics(settings: InfraSettings) -> list[TopicSpec]:
    """The platform's topics (:data:`pizza_common.contracts.TOPICS`) with the replication
    this cluster gives them."""
    return [
        TopicSpec(
            name=topic.name,
            partitions=topic.partitions,
            replication_factor=settings.replication_factor,
            min_insync_replicas=settings.min_insync_replicas,
            retention_ms=topic.retention_ms,
            cleanup_policy=topic.cleanup_policy,
        )
        for topic in TOPICS
    ]


def _admin(settings: InfraSettings) -> AdminClient:
    return AdminClient(admin_config(settings))


def apply_topics(settings: InfraSettings, specs: list[TopicSpec]) -> list[str]:
    """Create missing topics, add partitions, set configs. Returns one line per change."""
    admin = _admin(settings)
    existing = admin.list_topics(timeout=10).topics
    changes: list[str] = []
    missing = [spec for spec in specs if spec.name not in existing]
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor, config=s.config) for s in missing]
        )
        for name, future in futures.items():
            future.result()
            changes.append(f"created {name}")
    grow = {
        spec.name: spec.partitions
        for spec in specs
        if spec.name in existing and len(existing[spec.name].partitions) < spec.partitions
    }
    if grow:
        added = admin.create_partitions([NewPartitions(n, count) for n, count in grow.items()])
        for name, future in added.items():
            future.result()
            changes.append(f"raised {name} to {grow[name]} partitions")
    for spec in specs:
        if spec.name in existing and len(existing[spec.name].partitions) > spec.partitions:
            changes.append(
                f"kept {spec.name} at {len(existing[spec.name].partitions)} partitions "
                f"(Kafka cannot lower it to {spec.partitions})"
            )
    resources = [
        ConfigResource(
            ResourceType.TOPIC,
            spec.name,
            incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                for key, value in _fitting(spec, existing[spec.name], changes).config.items()
            ],
        )
        for spec in specs
        if spec.name in existing
    ]
    if resources:
        for future in admin.incremental_alter_configs(resources).values():
            future.result()
    return changes


def _fitting(spec: TopicSpec, topic: TopicMetadata, changes: list[str]) -> TopicSpec:
    """The spec an existing topic can take: its replication factor stays what it is (changing
    it means moving data), and min.insync.replicas must not exceed it or writes stop."""
    replicas = min((len(p.replicas) for p in topic.partitions.values()), default=0)
    if replicas >= spec.replication_factor:
        return spec
    changes.append(
        f"kept {spec.name} at replication factor {replicas} (created so; wanted "
        f"{spec.replication_factor})"
    )
    return replace(spec, min_insync_replicas=min(spec.min_insync_replicas, max(1, replicas)))


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    replication_factor: int
    in_sync: int  # the fewest in-sync replicas of any partition: below replicas, one lags
    end_offsets: tuple[int | None, ...]  # None: no leader to ask right now (a broker is down)

    @property
    def records(self) -> int:
        return sum(offset or 0 for offset in self.end_offsets)


def describe_topics(settings: InfraSettings, names: list[str]) -> list[TopicState]:
    """Partitions and end offset of each partition, for the named topics that exist."""
    admin = _admin(settings)
    metadata = admin.list_topics(timeout=10).topics
    present = [name for name in names if name in metadata]
    requests = {
        TopicPartition(name, p): OffsetSpec.latest()  # type: ignore[no-untyped-call]
        for name in present
        for p in metadata[name].partitions
    }
    ends: dict[tuple[str, int], int | None] = {}
    if requests:
        for tp, future in admin.list_offsets(requests).items():
            try:
                offset = future.result().offset
            except KafkaException:
                offset = -1
            ends[(tp.topic, tp.partition)] = offset if offset >= 0 else None
    states = []
    for name in present:
        partitions = sorted(metadata[name].partitions)
        infos = [metadata[name].partitions[p] for p in partitions]
        states.append(
            TopicState(
                name,
                len(partitions),
                max((len(info.replicas) for info in infos), default=0),
                min((len(info.isrs) for info in infos), default=0),
                tuple(ends[(name, p)] for p in partitions),
            )
        )
    missing = sorted(set(names) - set(present))
    if missing:
        raise InfraError(f"topics not found: {', '.join(missing)}; run `just infra-up`")
    return states
