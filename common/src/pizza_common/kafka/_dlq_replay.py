"""Dead letters sent back to the topic they came from: the command line's ``dlq-replay``
and the board's Replay share this.

A consumer puts a record it cannot use on ``<topic>.dlq`` with its key, value and headers
and the reason in ``dlq.*`` headers. Once the cause is fixed (a service's bug, a schema),
an operator replays chosen dead letters: each goes back to its source topic with its own
key, value and headers, the ``dlq.*`` ones replaced by ``dlq.replayed-from`` (which dead
letter it was). Replaying is safe to repeat: the consumers drop an event they have
already handled (by ``event_id``), and a record that fails again is dead-lettered again.

The reader assigns partitions and commits nothing; it reads committed records only, so a
dead letter of an aborted kitchen transaction is never replayed. Blocking
(confluent-kafka): an async caller runs these in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from pizza_common.contracts import TOPICS

DLQ_SUFFIX = ".dlq"
REPLAYED_FROM = "dlq.replayed-from"
READ_TIMEOUT_S = 10.0
ACK_TIMEOUT_S = 30.0

Headers = tuple[tuple[str, bytes], ...]
# Errors that mean Kafka will not take the records: reported at once, not after retries.
_REFUSED = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError._AUTHENTICATION,
    }
)


class ReplayError(Exception):
    """Kafka did not answer, refused, or the topic is not there: nothing certain was done."""


class NoSuchDeadLetter(LookupError):
    """Positions asked for that hold no dead letter (never there, or past retention)."""

    def __init__(self, missing: Iterable[tuple[int, int]]) -> None:
        self.missing = sorted(missing)
        super().__init__(", ".join(f"{p}:{o}" for p, o in self.missing))


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
    """The platform's dead-letter topics: the only ones a replay reads from."""
    return [topic.name for topic in TOPICS if topic.name.endswith(DLQ_SUFFIX)]


def choose_dead_letters(
    letters: Sequence[DeadLetter], positions: set[tuple[int, int]], *, everything: bool
) -> list[DeadLetter]:
    """The dead letters asked for (partition, offset); :class:`NoSuchDeadLetter` if one of
    them is not there, so that nothing is replayed half."""
    if everything:
        return list(letters)
    found = {(letter.partition, letter.offset): letter for letter in letters}
    missing = positions - set(found)
    if missing:
        raise NoSuchDeadLetter(missing)
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
            raise ReplayError(f"topic {topic} is not there; run `just topics-apply`")
        letters: list[DeadLetter] = []
        for partition in sorted(metadata.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=READ_TIMEOUT_S
            )
            if high > low:
                letters += _read_partition(consumer, topic, partition, low, high)
        return letters
    except KafkaException as exc:  # refused or unanswered metadata or watermarks
        raise ReplayError(f"{topic}: {exc}") from exc
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
            raise ReplayError(
                f"{topic}[{partition}]: no answer from Kafka within {READ_TIMEOUT_S}s"
            )
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return found
            raise ReplayError(f"{topic}[{partition}]: {error}")
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


def replay_dead_letters(client_config: dict[str, Any], letters: Sequence[DeadLetter]) -> None:
    """Each dead letter back on its source topic, acknowledged by every in-sync replica;
    :class:`ReplayError` if any was not."""
    errors: list[KafkaError] = []  # the client's: most pass (a broker reconnecting)
    undelivered: list[KafkaError | None] = []  # per record: None once acknowledged
    producer = Producer(
        {
            **client_config,
            "client.id": "pizza-dlq-replay",
            "enable.idempotence": True,
            "acks": "all",
            "error_cb": errors.append,
        }
    )
    failures: list[str] = []
    try:
        for letter in letters:
            producer.produce(
                letter.source_topic,
                key=letter.key,
                value=letter.value,
                headers=list(letter.replay_headers()),
                on_delivery=lambda error, _message: undelivered.append(error),
            )
        if producer.flush(ACK_TIMEOUT_S) > 0:
            failures.append(f"not acknowledged within {ACK_TIMEOUT_S:.0f} s")
    except KafkaException as exc:
        failures.append(str(exc))
    except SystemError as exc:
        # Refused a producer id (no right to write), confluent-kafka raises the fatal error
        # and then calls the purged records' callbacks with it still pending: the callback
        # "fails" and the fatal error comes out as this one's cause.
        if not isinstance(exc.__cause__, KafkaException):
            raise
        failures.append(str(exc.__cause__))
    finally:
        # Closed now, not when collected: what was not acknowledged is dropped (and
        # reported), so that closing does not wait for it again.
        producer.purge()
        producer.close()
    failures += [error.str() for error in undelivered if error is not None]
    failures += [error.str() for error in errors if error.fatal() or error.code() in _REFUSED]
    if failures:
        raise ReplayError(f"replay failed: {'; '.join(sorted(set(failures)))}")
