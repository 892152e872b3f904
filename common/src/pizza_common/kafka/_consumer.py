"""The consumer loop every service shares: poll, decode, handle, then commit.

One record at a time per consumer, so offsets are committed in order and only after the
handler finished. What cannot be processed ever (bad bytes, any failure to decode, an
event the handler rejects) is copied unchanged to ``<topic>.dlq`` with the reason in
headers and committed, so one poison record never stops a partition. Only I/O is
transient (database down, registry unreachable, broker errors): retried from the same
offset after a pause; a record that keeps failing makes the consumer recreate its
clients and report itself not ready.

A long handler (a cook) never blocks the group: while it runs, the loop pauses its
partitions and keeps polling, so rebalances are served; when the record's partition is
revoked the handler is told to give the record back (``ConsumedEvent.give_back``) and the
revoke waits for it. A watchdog (:mod:`pizza_common.runtime._watchdog`) sees a client call that
never returns, a loop that stopped turning, and a broker out of reach.

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
import json
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import SpanKind

from pizza_common.contracts._events import Event, dead_letter_topic
from pizza_common.kafka._codec import AvroEventCodec, DecodeFailure, EventDecodeError
from pizza_common.kafka._config import consumer_config, producer_config
from pizza_common.kafka._producer import produce
from pizza_common.kafka._settings import KafkaSettings
from pizza_common.runtime._tracing import extract_headers, inject_headers, span
from pizza_common.runtime._watchdog import Watchdog, exit_stuck

log = structlog.get_logger("pizza.consumer")

REJECTED = "rejected-by-handler"
"""``dlq.reason`` of an event that decoded but that the handler refused as invalid."""

T = TypeVar("T")


class RejectedEvent(Exception):
    """Raised by a handler for an event that can never be processed: it is dead-lettered."""


class GiveBack(Exception):
    """Raised by a handler that stopped early: the consumer stops, or the partition moved.

    The record stays uncommitted, so whoever owns the partition next processes it.
    """


@dataclass(frozen=True, slots=True)
class ConsumedEvent:
    """A decoded event and where it was read.

    ``give_back`` is set when the handler should stop and raise :class:`GiveBack`: the
    consumer is stopping or the record's partition is being revoked.
    """

    event: Event
    topic: str
    partition: int
    offset: int
    give_back: asyncio.Event = field(default_factory=asyncio.Event)


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
    # How long a handler runs before the loop polls beside it (rebalances, heartbeats).
    keepalive_s: float = 1.0


class _Recreate(Exception):
    """The clients are in a state they cannot leave (fenced, failed abort, a record that
    keeps failing): close them and start with new ones."""


@dataclass(slots=True)
class _InFlight:
    """The record a handler is working on, seen by the rebalance callbacks."""

    source: _Source
    give_back: asyncio.Event
    finished: threading.Event
    loop: asyncio.AbstractEventLoop


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
        on_stuck: Callable[[str], None] = exit_stuck,
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
        self._failures: dict[tuple[str, int, int], int] = {}
        self._in_flight: _InFlight | None = None
        self._newly_assigned: set[tuple[str, int]] = set()
        self._timeout_s = settings.kafka_call_timeout_s
        self._grace_s = settings.kafka_stuck_grace_s
        self._watchdog = Watchdog(
            stall_after_s=options.keepalive_s + options.poll_timeout_s + self._grace_s,
            on_stuck=on_stuck,
        )
        # Broker reachability as the clients see it: once seen up, then lost, then back.
        self._broker_seen_up = False
        self._broker_lost = False
        self._broker_back = False
        self.dead_lettered = 0
        self.recreated = 0

    @property
    def stopping(self) -> asyncio.Event:
        """Set once a stop was requested; long handlers wait on it to give their record back."""
        return self._stopping

    @property
    def assigned(self) -> list[tuple[str, int]]:
        return sorted(self._assigned)

    @property
    def ready(self) -> bool:
        """True while the consumer is connected, turning, and not stuck on a record."""
        return self.problem() is None

    def problem(self) -> str | None:
        """Why the consumer is not ready now, or None: what ``/ready`` reports."""
        if not self._ready:
            return "consumer not started"
        return self._watchdog.problem()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped, then commit what is done and leave the group."""
        watch = asyncio.create_task(self._watchdog.watch(), name="consumer-watchdog")
        try:
            while not self._stopping.is_set():
                try:
                    await self._run_clients()
                except (_Recreate, KafkaException) as exc:
                    self.recreated += 1
                    log.warning("recreating the kafka clients", reason=str(exc))
                    await self._pause()
        finally:
            watch.cancel()
            self._watchdog.stopped()

    async def _run_clients(self) -> None:
        """One incarnation of consumer and producer, until stopped or broken."""
        consumer = Consumer(
            consumer_config(
                self._settings,
                group_id=self._options.group_id,
                client_id=self._options.instance,
                error_cb=self._on_error,
                stats_cb=self._on_stats,
                **{"statistics.interval.ms": 5000},
            )
        )
        try:
            producer = await self._call("init_transactions", self._make_producer)
        except KafkaException as exc:
            await self._close(consumer, None)
            raise _Recreate(f"producer could not start: {exc}") from exc
        outbox = _ProducerOutbox(producer, transactional=self._options.transactional_id is not None)
        try:
            consumer.subscribe(
                list(self._options.topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            self._ready = True
            self._broker_seen_up = self._broker_lost = self._broker_back = False
            while not self._stopping.is_set():
                self._watchdog.turned()
                message = await self._poll(consumer, self._options.poll_timeout_s)
                if self._broker_lost and (self._broker_back or message is not None):
                    # Clients that lived through a broker outage can hang for good in a
                    # transaction step (librdkafka ignores its timeout there): once the
                    # broker is back, and before a record is touched, start anew. The new
                    # consumer resumes from the committed offsets, this record included.
                    raise _Recreate("the broker is back after an outage")
                if message is None:
                    await self._commit_past_markers(consumer)
                    continue
                if message.error() is not None:
                    log.warning("consumer error", error=str(message.error()))
                    continue
                await self._handle(consumer, producer, outbox, message)
                if self._newly_assigned:
                    # Assigned while a record was in flight: never left paused by it.
                    self._resume(consumer, [TopicPartition(t, p) for t, p in self._newly_assigned])
                    self._newly_assigned = set()
        finally:
            self._ready = False
            self._assigned = frozenset()
            self._committed.clear()
            await self._close(consumer, producer)
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
            producer.init_transactions(self._timeout_s)
        return producer

    async def _call(
        self, name: str, function: Callable[..., T], *args: Any, timeout_s: float | None = None
    ) -> T:
        """A blocking client call in a worker thread, under the watchdog's eye."""
        limit = (self._timeout_s if timeout_s is None else timeout_s) + self._grace_s
        token = self._watchdog.enter(name, limit)
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self._watchdog.leave(token)

    async def _poll(self, consumer: Consumer, timeout_s: float) -> Message | None:
        # A revoke inside poll may wait for the handler to give its record back.
        message: Message | None = await self._call(
            "poll", consumer.poll, timeout_s, timeout_s=timeout_s + self._timeout_s
        )
        return message

    async def _close(self, consumer: Consumer, producer: Producer | None) -> None:
        """Close both clients, but never wait long: a broker out of reach must not hold
        a restart (close leaves the group at once when it can, so partitions move on)."""

        def close() -> None:
            consumer.close()
            if producer is not None:
                producer.flush(10.0)

        closed = threading.Thread(target=close, name="kafka-close", daemon=True)
        closed.start()
        await asyncio.to_thread(closed.join, 15.0)
        if closed.is_alive():
            log.warning("kafka clients did not close in time; left behind")

    async def _handle(
        self, consumer: Consumer, producer: Producer, outbox: _ProducerOutbox, message: Message
    ) -> None:
        """Process one record while the loop keeps polling beside a long handler."""
        source = _Source.of(message)
        loop = asyncio.get_running_loop()
        give_back = asyncio.Event()
        finished = threading.Event()
        task = asyncio.create_task(self._process(consumer, producer, outbox, message, give_back))
        task.add_done_callback(lambda _task: finished.set())
        self._in_flight = _InFlight(source, give_back, finished, loop)
        paused: list[TopicPartition] = []
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._options.keepalive_s)
                if done:
                    break
                if self._stopping.is_set():
                    give_back.set()
                if not paused:
                    paused = [TopicPartition(t, p) for t, p in self._assigned]
                    consumer.pause(paused)
                self._watchdog.turned()
                extra = await self._poll(consumer, 0.1)
                if extra is not None and extra.error() is None:
                    # Fetched before the pause took hold (or newly assigned): read it later.
                    early = _Source.of(extra)
                    tp = TopicPartition(early.topic, early.partition)
                    consumer.pause([tp])
                    paused.append(tp)
                    await self._rewind(consumer, extra)
        finally:
            self._in_flight = None
            if paused:
                self._resume(consumer, paused)
        task.result()  # raises _Recreate

    def _resume(self, consumer: Consumer, paused: list[TopicPartition]) -> None:
        """Resume all of ``paused``, ours or not any more: librdkafka keeps a partition's
        pause across a revoke, and one handed back to us later would never be read."""
        for tp in paused:
            try:
                consumer.resume([tp])
            except KafkaException as exc:
                log.info("not resumed", error=str(exc), topic=tp.topic, partition=tp.partition)

    async def _process(
        self,
        consumer: Consumer,
        producer: Producer,
        outbox: _ProducerOutbox,
        message: Message,
        give_back: asyncio.Event,
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
            await self._process_in_span(consumer, producer, outbox, message, give_back)

    async def _process_in_span(
        self,
        consumer: Consumer,
        producer: Producer,
        outbox: _ProducerOutbox,
        message: Message,
        give_back: asyncio.Event,
    ) -> None:
        source = _Source.of(message)
        try:
            after_commit = await self._attempt(consumer, producer, outbox, message, give_back)
        except GiveBack:
            # Not rewound: the partition is leaving (or the consumer closing), and its next
            # owner starts from the committed offset. A seek now would wait on the revoke
            # that waits on us.
            await self._abort(producer)
            log.info("record given back", **source.fields())
            return
        except Exception as exc:  # anything else is retried, never skipped
            await self._abort(producer)
            if not give_back.is_set():
                await self._rewind(consumer, message)
            if _is_fatal(exc):
                raise _Recreate(f"fatal client error: {exc}") from exc
            await self._failed(source, exc)
            return
        self._succeeded(source)
        if after_commit is not None:
            await after_commit()

    async def _failed(self, source: _Source, exc: Exception) -> None:
        key = source.key()
        attempts = self._failures.get(key, 0) + 1
        self._failures = {key: attempts}  # one record at a time: only the latest counts
        log.warning(
            "record failed, will retry", error=repr(exc), attempts=attempts, **source.fields()
        )
        bound = self._settings.kafka_max_record_attempts
        if attempts >= bound:
            self._watchdog.concern(
                "record", f"{source.name()} failed {attempts} times, last: {exc!r}"[:300]
            )
            if attempts % bound == 0:
                raise _Recreate(f"{source.name()} failed {attempts} times")
        await self._pause()

    def _succeeded(self, source: _Source) -> None:
        if self._failures:
            self._failures.pop(source.key(), None)
            self._watchdog.concern("record", None)

    async def _rewind(self, consumer: Consumer, message: Message) -> None:
        # Back to the record; polling on keeps the group membership alive meanwhile. In a
        # worker thread: a seek can wait on the consumer, never on the event loop.
        source = _Source.of(message)
        try:
            await self._call(
                "seek", consumer.seek, TopicPartition(source.topic, source.partition, source.offset)
            )
        except KafkaException as exc:  # the partition moved to another member: theirs now
            log.info("not rewound", error=str(exc), **_where(message))

    async def _attempt(
        self,
        consumer: Consumer,
        producer: Producer,
        outbox: _ProducerOutbox,
        message: Message,
        give_back: asyncio.Event,
    ) -> AfterCommit | None:
        source = _Source.of(message)
        transactional = self._options.transactional_id is not None
        if transactional:
            await self._call("begin_transaction", producer.begin_transaction)
        after_commit: AfterCommit | None = None
        try:
            event = await asyncio.to_thread(self._codecs[source.topic].decode, message.value())
        except EventDecodeError as exc:
            if exc.failure is DecodeFailure.REGISTRY_UNAVAILABLE:
                raise
            await self._dead_letter(outbox, message, source, exc.failure.value, exc.detail)
        else:
            consumed = ConsumedEvent(
                event, source.topic, source.partition, source.offset, give_back
            )
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
            await self._call("commit", _commit_sync, consumer, offsets)
            self._committed[(source.topic, source.partition)] = source.offset + 1
            return
        metadata = consumer.consumer_group_metadata()
        timeout = self._timeout_s

        def commit_transaction() -> None:
            producer.send_offsets_to_transaction(offsets, metadata, timeout)
            producer.commit_transaction(timeout)

        await self._call("commit_transaction", commit_transaction, timeout_s=2 * timeout)

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
        try:
            positions = await self._call("position", consumer.position, wanted)
        except KafkaException as exc:
            log.info("position unknown", error=str(exc))
            return
        ahead = [
            tp
            for tp in positions
            if tp.offset >= 0 and tp.offset > self._committed.get((tp.topic, tp.partition), -1)
        ]
        if not ahead:
            return
        try:
            await self._call("commit", _commit_sync, consumer, ahead)
        except KafkaException as exc:  # e.g. no coordinator yet: the next idle turn tries again
            log.info("position not committed", error=str(exc))
            return
        for tp in ahead:
            self._committed[(tp.topic, tp.partition)] = tp.offset

    async def _abort(self, producer: Producer) -> None:
        if self._options.transactional_id is None:
            return
        try:
            await self._call("abort_transaction", producer.abort_transaction, self._timeout_s)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError._STATE:
                return  # nothing to abort: the transaction was never begun or already ended
            # Fenced, fatal, or the abort itself failed: only new clients get out of it.
            raise _Recreate(f"abort failed: {exc}") from exc

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

    # Client callbacks: called by librdkafka inside poll(), in the polling thread.

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._broker_lost = True  # even before the first statistics saw it up
            self._broker_up(False)
        log.warning("kafka client error", error=str(error))

    def _on_stats(self, text: str) -> None:
        """Every few seconds: is any broker of the cluster (not just bootstrap) up?"""
        try:
            brokers = json.loads(text).get("brokers", {}).values()
        except (ValueError, AttributeError):
            return
        self._broker_up(any(b.get("nodeid", -1) >= 0 and b.get("state") == "UP" for b in brokers))

    def _broker_up(self, up: bool) -> None:
        if up:
            self._broker_back = self._broker_lost
            self._broker_seen_up = True
        elif self._broker_seen_up:
            self._broker_lost = True
        self._watchdog.concern("broker", None if up else "no Kafka broker reachable")

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        added = {(p.topic, p.partition) for p in partitions}
        self._assigned = self._assigned | added
        if self._in_flight is not None:
            self._newly_assigned |= added
        log.info(
            "partitions assigned",
            group=self._options.group_id,
            added=_names(added),
            assigned=_names(self._assigned),
        )

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        removed = {(p.topic, p.partition) for p in partitions}
        self._give_back_if_in(removed)
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
        self._broker_lost = True  # the group coordinator was out of reach for a session
        self._give_back_if_in(lost)
        self._assigned = self._assigned - lost
        for key in lost:
            self._committed.pop(key, None)
        log.warning("partitions lost", group=self._options.group_id, lost=_names(lost))

    def _give_back_if_in(self, partitions: set[tuple[str, int]]) -> None:
        """The record in flight belongs to a partition leaving us: have the handler give
        it back (or finish) before the partition goes, so no two members work on it."""
        in_flight = self._in_flight
        if in_flight is None:
            return
        if (in_flight.source.topic, in_flight.source.partition) not in partitions:
            return
        log.info("partition revoked mid-record: giving it back", **in_flight.source.fields())
        in_flight.loop.call_soon_threadsafe(in_flight.give_back.set)
        if not in_flight.finished.wait(self._timeout_s):
            log.warning("record still in flight after the revoke", **in_flight.source.fields())


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
        if self._transactional:
            # commit_transaction flushes and fails if any record was not written.
            self._producer.produce(topic, key=key, value=value, headers=list(headers))
            return
        acknowledged = produce(self._producer, topic, key=key, value=value, headers=headers)
        await asyncio.to_thread(self._producer.flush, 30.0)
        await acknowledged


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

    def key(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)

    def name(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def _where(message: Message) -> dict[str, Any]:
    return _Source.of(message).fields()


def _names(partitions: set[tuple[str, int]] | frozenset[tuple[str, int]]) -> list[str]:
    return [f"{topic}[{partition}]" for topic, partition in sorted(partitions)]


def _commit_sync(consumer: Consumer, offsets: list[TopicPartition]) -> None:
    consumer.commit(offsets=offsets, asynchronous=False)


def _is_fatal(exc: BaseException) -> bool:
    """A client error nothing but new clients can get past (e.g. fenced)."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(error, KafkaError) and error.fatal()


def consumer_problem(consumer: EventConsumer | None) -> str | None:
    """A service's consumer readiness (a ``ready_checks`` entry): why it is not ready, or
    None; ``consumer`` is None until the app has started."""
    if consumer is None:
        return "consumer not started"
    return consumer.problem()
