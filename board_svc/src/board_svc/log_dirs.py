"""Kafka's DescribeLogDirs, the one source of a partition's size in bytes, through
kafka-python: confluent-kafka's AdminClient has no call for it.

The one module that touches kafka-python, which ships no type information: its untyped
surface stays here, behind :class:`LogDirsClient`. Its calls block; the caller runs them
in a thread (:class:`board_svc.kafka_admin.ClusterReader`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from board_svc.topic_size import BrokerLogDirs, LogDirsReading, LogDirsRefused, replicas_of
from pizza_common.kafka import KafkaSettings, connection_config

# librdkafka's connection settings (pizza_common.kafka.connection_config, the one place
# that makes them from KafkaSettings) as kafka-python's keyword arguments. With SASL_SSL
# both check the broker's certificate and name against the system's trust store.
KAFKA_PYTHON_NAMES = {
    "bootstrap.servers": "bootstrap_servers",
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
}


class LogDirsUnavailable(Exception):
    """The sizes could not be read: refused, broker unreachable, no answer in time."""


def client_config(settings: KafkaSettings, *, client_id: str, timeout_s: float) -> dict[str, Any]:
    """kafka-python's settings for the same brokers and principal as the board's other
    clients. A connection setting it has no name for fails here rather than being
    dropped (a client without it would connect as someone else, or not at all)."""
    unknown = sorted(set(connection_config(settings)) - set(KAFKA_PYTHON_NAMES))
    if unknown:
        raise ValueError(f"no kafka-python setting for {', '.join(unknown)}")
    config: dict[str, Any] = {
        KAFKA_PYTHON_NAMES[name]: value for name, value in connection_config(settings).items()
    }
    config["bootstrap_servers"] = [s.strip() for s in config["bootstrap_servers"].split(",")]
    timeout_ms = int(timeout_s * 1000)
    return {
        **config,
        "client_id": client_id,
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
    }


class _AdminClient(KafkaAdminClient):  # type: ignore[misc]  # untyped base
    """kafka-python 3.0 starts its I/O thread before it first reaches a broker and leaves
    it running when that fails: stopped here, or each failed start would leak a thread."""

    def __init__(self, **config: Any) -> None:
        try:
            super().__init__(**config)
        except BaseException:
            net = getattr(self, "_net", None)
            if net is not None:
                net.stop(1000)
            raise


class LogDirsClient:
    """One kafka-python admin client, opened at the first reading (and again after a
    failed start), kept for the next ones."""

    def __init__(self, settings: KafkaSettings, *, client_id: str, timeout_s: float) -> None:
        self._config = client_config(settings, client_id=client_id, timeout_s=timeout_s)
        self._admin: Any = None

    def read(self, partitions: Mapping[str, Sequence[int]]) -> LogDirsReading:
        """Every broker's replicas of these partitions with their sizes (blocking): one
        DescribeLogDirs request to each broker.

        Raises :class:`LogDirsUnavailable` with the reason when they cannot be read."""
        if not partitions:
            return LogDirsReading(time.time())
        try:
            if self._admin is None:
                self._admin = _AdminClient(**self._config)
            answer = self._admin.describe_log_dirs(
                topic_partitions={topic: list(numbers) for topic, numbers in partitions.items()}
            )
            replicas, failed = replicas_of(cast(list[BrokerLogDirs], answer))
        except LogDirsRefused as exc:
            raise LogDirsUnavailable(str(exc)) from exc
        except (KafkaError, OSError) as exc:
            raise LogDirsUnavailable(_reason(exc)) from exc
        return LogDirsReading(time.time(), replicas, failed_dirs=failed)

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def _reason(exc: Exception) -> str:
    """The error in a line, its kind named once (kafka-python's errors name themselves)."""
    text, kind = str(exc), type(exc).__name__
    return text if text.startswith(kind) else f"{kind}: {text}"
