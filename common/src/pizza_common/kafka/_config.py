"""confluent-kafka client settings shared by every producer and consumer of the platform.

librdkafka's own log lines stay on stderr (plain text, rare: warnings and errors). Routing
them through Python logging (the ``logger`` setting) puts them on a queue served by
``poll``, and under thread contention that can stall ``poll`` indefinitely (librdkafka
issue 5325): a stuck consumer is a far worse price than a few non-JSON lines.
"""

from __future__ import annotations

from typing import Any

from pizza_common.kafka._settings import KafkaSettings


def connection_config(settings: KafkaSettings) -> dict[str, Any]:
    """Where the brokers are and how to authenticate: the part every client shares,
    producers, consumers and admin clients alike."""
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap_servers}
    protocol = settings.kafka_security_protocol
    if settings.kafka_sasl_username is None:
        if protocol is not None:
            config["security.protocol"] = protocol
        return config
    return {
        **config,
        "security.protocol": protocol or "SASL_PLAINTEXT",
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_sasl_username,
        "sasl.password": settings.kafka_sasl_password.get_secret_value(),
    }


def producer_config(settings: KafkaSettings, *, client_id: str, **overrides: Any) -> dict[str, Any]:
    """A producer that waits for all in-sync replicas and never duplicates or reorders."""
    return {
        **connection_config(settings),
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        **overrides,
    }


def admin_config(settings: KafkaSettings, *, client_id: str, **overrides: Any) -> dict[str, Any]:
    """An admin client (topics, offsets, groups) of a process that is not dev tooling: it
    authenticates as the process's own principal, like its producers and consumers."""
    return {
        **connection_config(settings),
        "client.id": client_id,
        **overrides,
    }


def consumer_config(
    settings: KafkaSettings, *, group_id: str, client_id: str, **overrides: Any
) -> dict[str, Any]:
    """A group member that commits only what the service says it has finished.

    Cooperative-sticky assignment moves only the partitions that must move when an
    instance joins or leaves, so the others keep working during a rebalance.
    """
    return {
        **connection_config(settings),
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "isolation.level": "read_committed",
        "session.timeout.ms": int(settings.kafka_session_timeout_s * 1000),
        "heartbeat.interval.ms": max(100, int(settings.kafka_session_timeout_s * 1000 / 4)),
        **overrides,
    }
