"""The consumer loop every service shares: poll, decode, handle, then commit.

One record at a time per consumer, so offsets are committed in order and only after the
handler finished. What cannot be processed ever (bad bytes, an event the handler rejects)
is copied unchanged to ``<topic>.dlq`` with the reason in headers and committed, so one
poison record never stops a partition. Everything else that fails (database down,
registry unreachable, broker errors) is retried from the same offset after a pause.

Two commit modes:

* plain: the handler publishes with :class:`Outbox` (awaited until acknowledged), then the
  offset is committed; delivery is at least once.
* transactional (``transactional_id`` set): what the handler publishes and the consumed
  offset are committed in one Kafka transaction, so readers with ``read_committed`` see
  the output exactly when the input counts as done.

confluent-kafka's calls block, so they run in a worker thread: the event loop stays free
for HTTP requests and timers. Rebalance callbacks run inside ``poll`` in that thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import SpanKind

from pizza_common.avro import AvroEventCodec, DecodeFailure, EventDecodeError
from pizza_common.events import Event, dead_letter_topic
from pizza_common.kafka import consumer_config, producer_config
from pizza_common.settings import KafkaSettings
from pizza_common.tracing import extract_headers, inject_headers, span

log = structlog.get_logger("pizza.consumer")

REJECTED = "rejected-by-handler"
"""``dlq.reason`` of an event that decoded but that the handler refused as invalid."""


class RejectedEvent(Exception):
    """Raised by a handler for an event that can never be processed: it is dead-lettered."""


class GiveBack(Exception):
    """Raised by a handler that stopped early because the consumer is stopping.

    The record stays uncommitted, so whoever owns the partition next processes it.
    """


@dataclass(frozen=True, slots=True)
class ConsumedEvent:
    """A decoded event and where it was read."""

    event: Event
    topic: str
    partition: int
    offset: int


class Outbox(Protocol):
    """Where a handler publishes; committed together with (or before) the input offset."""

    async def publish(
        self, topic: str, *, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None: ...


AfterCommit = Callable[[], Awaitable[None]]
"""Run once the record's offset (and what the handler published) is committed."""

Handler = Callable[[ConsumedEvent, Outbox], Awaitable[AfterCommit | None]]


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    group_id: str
    instance: str
    topics: Sequence[str]
    transactional_id: str | None = None
    retry_pause_s: float = 1.0
    poll_timeout_s: float = 0.5


class EventConsumer:
    """Consumes ``options.topics`` in ``options.group_id`` until ``stopping`` is set.

    Pass ``stopping`` to share it with a handler that must notice a stop while it waits.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        options: ConsumerOptions,
        codecs: Mapping[str, AvroEventCodec[Any]],
        handler: Handler,
        *,
        stopping: asyncio.Event | None = None,
    ) -> None:
        missing = set(options.topics) - set(codecs)
        if missing:
            raise ValueError(f"no codec for topics {sorted(missing)}")
        self._settings = settings
        self._options = options
        self._codecs = codecs
        self._handler = handler
        self._stopping = stopping or asyncio.Event()
        self._assigned: frozenset[tuple[str, int]] = frozenset()
        self._ready = False
        self._committed: dict[tuple[str, int], int] = {}
        self.dead_lettered = 0

    @property
    def stopping(self) -> asyncio.Event:
        """Set once a stop was requested; long handlers wait on it to give their record back."""
        return self._stopping

    @property
    def assigned(self) -> list[tuple[str, int]]:
        return sorted(self._assigned)

    @property
    def ready(self) -> bool:
        """True once the consumer and its producer are connected and subscribed."""
        return self._ready

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped, then commit what is done and leave the group."""
        consumer = Consumer(
            consumer_config(
                self._settings,
                group_id=self._options.group_id,
                client_id=self._options.instance,
            )
        )
        producer = await asyncio.to_thread(self._make_producer)
        outbox = _ProducerOutbox(producer, transactional=self._options.transactional_id is not None)
        try:
            consumer.subscribe(
                list(self._options.topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            self._ready = True
            while not self._stopping.is_set():
                message = await asyncio.to_thread(consumer.poll, self._options.poll_timeout_s)
                if message is None:
                    await self._commit_past_markers(consumer)
                    continue
                if message.error() is not None:
                    log.warning("consumer error", error=str(message.error()))
                    continue
                await self._process(consumer, producer, outbox, message)
        finally:
            self._ready = False
            # close() commits nothing (manual commits) but leaves the group at once, so the
            # partitions move to the other members without waiting for a session timeout.
            await asyncio.to_thread(consumer.close)
            await asyncio.to_thread(producer.flush, 10.0)
            log.info("consumer closed", group=self._options.group_id)

    def _make_producer(self) -> Producer:
        overrides: dict[str, Any] = {}
        if self._options.transactional_id is not None:
            overrides["transactional.id"] = self._options.transactional_id
        producer = Producer(
            producer_config(self._settings, client_id=self._options.instance, **overrides)
        )
        if self._options.transactional_id is not None:
            # Fences an earlier incarnation with the same id and aborts its open transaction.
            producer.init_transactions(30.0)
        return producer

    async def _process(
        self, consumer: Consumer, producer: Producer, outbox: _ProducerOutbox, message: Message
    ) -> None:
        """Handle one record: committed, given back, or rewound to be polled again.

        All of it is one span, a child of the producer's span: the order's trace runs on,
        and the gap before this span is the time the record waited in the topic.
        """
        topic, partition = message.topic(), message.partition()
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": self._options.group_id,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": message.offset(),
        }
        parent = extract_headers(message.headers())
        with span(f"{topic} process", kind=SpanKind.CONSUMER, parent=parent, attributes=attributes):
            await self._process_in_span(consumer, producer, outbox, message)

    async def _process_in_span(
        self, consumer: Consumer, producer: Producer, outbox: _ProducerOutbox, message: Message
    ) -> None:
        try:
            after_commit = await self._attempt(consumer, producer, outbox, message)
        except GiveBack:
            await self._abort(producer)
            log.info("record given back", **_where(message))
            return
        except Exception as exc:  # noqa: BLE001 - anything else is retried, never skipped
            await self._abort(producer)
            log.warning("record failed, will retry", error=repr(exc), **_where(message))
            self._rewind(consumer, message)
            await self._pause()
            return
        if after_commit is not None:
            await after_commit()

    def _rewind(self, consumer: Consumer, message: Message) -> None:
        # Back to the failed record; polling on keeps the group membership alive meanwhile.
        try:
            source = _Source.of(message)
            consumer.seek(TopicPartition(source.topic, source.partition, source.offset))
        except KafkaException as exc:  # the partition moved to another member: theirs now
            log.info("not rewound", error=str(exc), **_where(message))

    async def _attempt(
        self, consumer: Consumer, producer: Producer, outbox: _ProducerOutbox, message: Message
    ) -> AfterCommit | None:
        source = _Source.of(message)
        transactional = self._options.transactional_id is not None
        if transactional:
            await asyncio.to_thread(producer.begin_transaction)
        after_commit: AfterCommit | None = None
        try:
            event = await asyncio.to_thread(self._codecs[source.topic].decode, message.value())
        except EventDecodeError as exc:
            if exc.failure is DecodeFailure.REGISTRY_UNAVAILABLE:
                raise
            await self._dead_letter(outbox, message, source, exc.failure.value, exc.detail)
        else:
            consumed = ConsumedEvent(event, source.topic, source.partition, source.offset)
            with structlog.contextvars.bound_contextvars(order_id=event.order_id):
                try:
                    after_commit = await self._handler(consumed, outbox)
                except RejectedEvent as exc:
                    await self._dead_letter(outbox, message, source, REJECTED, str(exc))
        await self._commit(consumer, producer, source)
        return after_commit

    async def _commit(self, consumer: Consumer, producer: Producer, source: _Source) -> None:
        offsets = [TopicPartition(source.topic, source.partition, source.offset + 1)]
        if self._options.transactional_id is None:
            await asyncio.to_thread(consumer.commit, offsets=offsets, asynchronous=False)
            self._committed[(source.topic, source.partition)] = source.offset + 1
            return
        metadata = consumer.consumer_group_metadata()

        def commit_transaction() -> None:
            producer.send_offsets_to_transaction(offsets, metadata, 30.0)
            producer.commit_transaction(30.0)

        await asyncio.to_thread(commit_transaction)

    async def _commit_past_markers(self, consumer: Consumer) -> None:
        """When idle, commit the consumer's position where it is past the last commit.

        A topic written in transactions (order.ready) ends each transaction with a commit
        marker that takes an offset but is never handed to us: committing only "last
        record + 1" would leave the group one behind the end forever, and the lag
        monitor would never read 0. The position has skipped the markers; every record
        before it was processed (one at a time), so committing it loses nothing.
        """
        if self._options.transactional_id is not None or not self._assigned:
            return
        wanted = [TopicPartition(topic, partition) for topic, partition in self._assigned]
        positions = await asyncio.to_thread(consumer.position, wanted)
        ahead = [
            tp
            for tp in positions
            if tp.offset >= 0 and tp.offset > self._committed.get((tp.topic, tp.partition), -1)
        ]
        if not ahead:
            return
        await asyncio.to_thread(consumer.commit, offsets=ahead, asynchronous=False)
        for tp in ahead:
            self._committed[(tp.topic, tp.partition)] = tp.offset

    async def _abort(self, producer: Producer) -> None:
        if self._options.transactional_id is None:
            return
        try:
            await asyncio.to_thread(producer.abort_transaction, 30.0)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.fatal():
                raise  # fenced by a newer instance with our transactional id: must stop
            # Nothing to abort (the transaction was never begun or already ended).
            log.debug("abort skipped", error=str(exc))

    async def _dead_letter(
        self, outbox: _ProducerOutbox, message: Message, source: _Source, reason: str, detail: str
    ) -> None:
        reasons: list[tuple[str, str | bytes]] = [
            ("dlq.reason", reason),
            ("dlq.detail", detail[:1000]),
            ("dlq.source.topic", source.topic),
            ("dlq.source.partition", str(source.partition)),
            ("dlq.source.offset", str(source.offset)),
            ("dlq.group", self._options.group_id),
        ]
        headers = message.headers() or []
        pairs = headers.items() if isinstance(headers, dict) else headers
        original = [(name, value) for name, value in pairs if value is not None]
        await outbox.publish_raw(
            dead_letter_topic(source.topic),
            key=message.key(),
            value=message.value(),
            headers=[*original, *reasons],
        )
        self.dead_lettered += 1
        log.warning("record dead-lettered", reason=reason, detail=detail, **source.fields())

    async def _pause(self) -> None:
        """Wait before a retry, or less if the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._options.retry_pause_s)

    # Rebalance callbacks: called by librdkafka inside poll(), in the polling thread.

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        added = {(p.topic, p.partition) for p in partitions}
        self._assigned = self._assigned | added
        log.info(
            "partitions assigned",
            group=self._options.group_id,
            added=_names(added),
            assigned=_names(self._assigned),
        )

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        removed = {(p.topic, p.partition) for p in partitions}
        self._assigned = self._assigned - removed
        for key in removed:  # another member commits them now
            self._committed.pop(key, None)
        log.info(
            "partitions revoked",
            group=self._options.group_id,
            removed=_names(removed),
            assigned=_names(self._assigned),
        )

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {(p.topic, p.partition) for p in partitions}
        self._assigned = self._assigned - lost
        for key in lost:
            self._committed.pop(key, None)
        log.warning("partitions lost", group=self._options.group_id, lost=_names(lost))


class _ProducerOutbox:
    """Plain mode awaits each acknowledgement; transactional mode leaves that to the commit."""

    def __init__(self, producer: Producer, *, transactional: bool) -> None:
        self._producer = producer
        self._transactional = transactional

    async def publish(
        self, topic: str, *, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        attributes = {"messaging.system": "kafka", "messaging.destination.name": topic}
        with span(f"{topic} publish", kind=SpanKind.PRODUCER, attributes=attributes):
            carried = {**inject_headers(), **(headers or {})}  # the trace goes on downstream
            await self.publish_raw(
                topic, key=key.encode(), value=value, headers=list(carried.items())
            )

    async def publish_raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, str | bytes]],
    ) -> None:
        loop = asyncio.get_running_loop()
        acknowledged: asyncio.Future[None] = loop.create_future()

        def delivered(error: Any, message: Message) -> None:
            loop.call_soon_threadsafe(_settle, acknowledged, error, message)

        self._producer.produce(
            topic, key=key, value=value, headers=list(headers), on_delivery=delivered
        )
        if self._transactional:
            return  # commit_transaction flushes and fails if any record was not written
        await asyncio.to_thread(self._producer.flush, 30.0)
        await acknowledged


def _settle(future: asyncio.Future[None], error: Any, message: Message) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(KafkaException(error))
    else:
        future.set_result(None)


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a record was read; never missing on a record without error."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, message: Message) -> _Source:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            raise ValueError("a consumed record without topic, partition or offset")
        return cls(topic, partition, offset)

    def fields(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


def _where(message: Message) -> dict[str, Any]:
    return _Source.of(message).fields()


def _names(partitions: set[tuple[str, int]] | frozenset[tuple[str, int]]) -> list[str]:
    return [f"{topic}[{partition}]" for topic, partition in sorted(partitions)]
