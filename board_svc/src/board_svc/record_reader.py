"""Reading records from a topic's partitions without joining a consumer group: partitions
are assigned by hand, nothing is committed, so the board leaves no trace in the cluster.

Blocking (confluent-kafka); the caller runs it in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

from board_svc.record_view import RawRecord
from pizza_common.kafka import KafkaSettings, consumer_config

READ_BUDGET_S = 5.0


class RecordReader:
    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings

    def _consumer(self) -> Consumer:
        return Consumer(
            consumer_config(
                self._settings,
                # Never joined (assign, not subscribe) nor committed: required by the client.
                group_id="board-browser",
                client_id="board-records",
                **{"enable.partition.eof": False, "fetch.wait.max.ms": 50},
            )
        )

    def read(self, topic: str, ranges: Iterable[tuple[int, int, int]]) -> list[RawRecord]:
        """Records of ``topic`` in each ``(partition, start, stop)`` range, stop excluded."""
        wanted = [(p, start, stop) for p, start, stop in ranges if stop > start]
        if not wanted:
            return []
        consumer = self._consumer()
        try:
            found: list[RawRecord] = []
            for partition, start, stop in wanted:
                found += self._read_range(consumer, topic, partition, start, stop)
            return found
        finally:
            consumer.close()

    def offsets_at(self, topic: str, partitions: Iterable[int], at_ms: int) -> dict[int, int]:
        """Per partition, the offset of the first record written at or after ``at_ms``;
        a partition with none that late is left out."""
        wanted = [TopicPartition(topic, p, at_ms) for p in partitions]
        if not wanted:
            return {}
        consumer = self._consumer()
        try:
            found = consumer.offsets_for_times(wanted, timeout=READ_BUDGET_S)
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found if tp.error is None and tp.offset >= 0}

    @staticmethod
    def _read_range(
        consumer: Consumer, topic: str, partition: int, start: int, stop: int
    ) -> list[RawRecord]:
        consumer.assign([TopicPartition(topic, partition, start)])
        found: list[RawRecord] = []
        deadline = time.monotonic() + READ_BUDGET_S
        while time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.2):
                offset = message.offset()
                if message.error() is not None or offset is None:
                    continue
                if offset >= stop:
                    return found
                _kind, timestamp = message.timestamp()
                found.append(
                    RawRecord(
                        topic,
                        partition,
                        offset,
                        timestamp if timestamp > 0 else None,
                        message.key(),
                        message.value(),
                        _headers(message.headers()),
                    )
                )
            # Transaction markers take offsets too: the position says when we are through.
            position = consumer.position([TopicPartition(topic, partition)])[0].offset
            if position >= stop:
                return found
        return found


def _headers(headers: object) -> tuple[tuple[str, bytes | None], ...]:
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    found: list[tuple[str, bytes | None]] = []
    for name, value in pairs:  # type: ignore[attr-defined]
        found.append((str(name), value.encode() if isinstance(value, str) else value))
    return tuple(found)
