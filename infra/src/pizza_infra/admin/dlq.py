"""Dead letters sent back to the topic they came from (``pizza-ctl dlq-replay``).

A consumer puts a record it cannot use on ``<topic>.dlq`` with its key, value and headers
and the reason in ``dlq.*`` headers. Once the cause is fixed (a service's bug, a schema),
an operator replays chosen dead letters: each goes back to its source topic with its own
key, value and headers, the ``dlq.*`` ones replaced by ``dlq.replayed-from`` (which dead
letter it was). Replaying is safe to repeat: the consumers drop an event they have
already handled (by ``event_id``), and a record that fails again is dead-lettered again.

Nothing is replayed unless named: by partition and offset, or all of a topic's at once.
The reader assigns partitions and commits nothing; it reads committed records only, so a
dead letter of an aborted kitchen transaction is never replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from pizza_common.contracts import TOPICS
from pizza_infra.config import InfraError

DLQ_SUFFIX = ".dlq"
REPLAYED_FROM = "dlq.replayed-from"
READ_TIMEOUT_S = 10.0

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> str | None:
        for header, value in self.headers:
            if header == name:
                return value.decode(errors="replace")
        return None

    @property
    def reason(self) -> str:
        return self.header("dlq.reason") or "?"

    @property
    def source_topic(self) -> str:
        """Where it came from: its ``dlq.source.topic``, else the DLQ's name without .dlq."""
        return self.header("dlq.source.topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def replay_headers(self) -> Headers:
        """Its headers as the source record had them, and which dead letter it was."""
        kept = tuple((name, value) for name, value in self.headers if not name.startswith("dlq."))
        return (*kept, (REPLAYED_FROM, self.position.encode()))


def dlq_topics() -> list[str]:
    return [topic.name for topic in TOPICS if topic.name.endswith(DLQ_SUFFIX)]


def check_topic(topic: str) -> None:
    if topic not in dlq_topics():
        raise InfraError(
            f"{topic} is not a dead-letter topic; these are: {', '.join(dlq_topics())}"
        )


def parse_positions(specs: Iterable[str]) -> set[tuple[int, int]]:
    """``3:17`` (partition 3, offset 17) for each dead letter to replay."""
    positions = set()
    for spec in specs:
        partition, _, offset = spec.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            raise InfraError(f"--offset takes <partition>:<offset>, like 0:12, not {spec!r}")
        positions.add((int(partition), int(offset)))
    return positions


def choose(
    letters: Sequence[DeadLetter], positions: set[tuple[int, int]], *, everything: bool
) -> list[DeadLetter]:
    """The dead letters asked for; asking for one that is not there is an error."""
    if everything:
        return list(letters)
    found = {(letter.partition, letter.offset): letter for letter in letters}
    missing = sorted(positions - set(found))
    if missing:
        named = ", ".join(f"{p}:{o}" for p, o in missing)
        raise InfraError(f"no dead letter at {named} (run without --offset to list them)")
    return [found[position] for position in sorted(positions)]


def read_dead_letters(client_config: dict[str, Any], topic: str) -> list[DeadLetter]:
    """Every retained committed record of ``topic``, oldest first per partition."""
    consumer = Consumer(
        {
            **client_config,
            # Never joined (assign) nor committed: the client requires a group id.
            "group.id": "pizza-dlq-replay",
            "client.id": "pizza-dlq-replay",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=READ_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise InfraError(f"topic {topic} is not there; run `just topics-apply`")
        letters: list[DeadLetter] = []
        for partition in sorted(metadata.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=READ_TIMEOUT_S
            )
            if high > low:
                letters += _read_partition(consumer, topic, partition, low, high)
        return letters
    finally:
        consumer.close()


def _read_partition(
    consumer: Consumer, topic: str, partition: int, low: int, high: int
) -> list[DeadLetter]:
    consumer.assign([TopicPartition(topic, partition, low)])
    found: list[DeadLetter] = []
    while True:
        message = consumer.poll(READ_TIMEOUT_S)
        if message is None:
            raise InfraError(f"{topic}[{partition}]: no answer from Kafka within {READ_TIMEOUT_S}s")
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return found
            raise InfraError(f"{topic}[{partition}]: {error}")
        found.append(_letter(message))
        if (message.offset() or 0) + 1 >= high:
            return found


def _letter(message: Message) -> DeadLetter:
    headers = message.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return DeadLetter(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        headers=tuple(
            (str(name), value.encode() if isinstance(value, str) else value)
            for name, value in pairs
            if value is not None
        ),
    )


def replay(client_config: dict[str, Any], letters: Sequence[DeadLetter]) -> None:
    """Each dead letter back on its source topic, acknowledged by every in-sync replica."""
    producer = Producer(
        {
            **client_config,
            "client.id": "pizza-dlq-replay",
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    failures: list[str] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(str(error))

    for letter in letters:
        producer.produce(
            letter.source_topic,
            key=letter.key,
            value=letter.value,
            headers=list(letter.replay_headers()),
            on_delivery=delivered,
        )
    if producer.flush(30) > 0:
        failures.append("not acknowledged within 30 s")
    if failures:
        raise InfraError(f"replay failed: {'; '.join(sorted(set(failures)))}")
