"""The consumer loop every service shares: poll, decode, handle, then commit.

Up to ``max_in_flight`` records are handled at once (one by default), each by a task of
its own, while the loop polls on; when all handlers are busy it keeps polling, so
rebalances are served, and reads up to ``max_in_flight`` records ahead before it pauses its
partitions: a handler that comes free starts on one at once (a paused partition, resumed,
is fetched anew, which took most of a second). Offsets are committed only after the handler
finished, and in partition order: a ledger (:mod:`pizza_common.kafka._ledger`) holds a
record that finished early until every earlier record of its partition is done. What
cannot be processed ever (bad bytes, any failure to decode, an event the handler rejects)
is copied unchanged to ``<topic>.dlq`` with the reason in headers and committed, so one
poison record never stops a partition. Only I/O is transient (database down, registry
unreachable, broker errors): the record is handled again after a pause; a record that
keeps failing makes the consumer recreate its clients and report itself not ready.

A long handler (a cook) never blocks the group. When a record's partition is revoked its
handler is told to give the record back (``ConsumedEvent.give_back``) and the revoke
waits for it. A watchdog (:mod:`pizza_common.runtime._watchdog`) sees a client call that
never returns, a loop that stopped turning, and a broker out of reach.

Two commit modes:

* plain: the handler publishes with :class:`Outbox` (awaited until acknowledged), then the
  offset is committed; delivery is at least once.
* transactional (``transactional_id`` set): what the handler publishes is kept with its
  record; the records ready to commit are committed together, their outputs and offsets
  in one Kafka transaction (a producer has one open at a time), so readers with
  ``read_committed`` see the output exactly when the input counts as done. A transaction
  that fails has each of its records handled again.

confluent-kafka's calls block, so they run in a worker thread: the event loop stays free
for HTTP requests and timers. Rebalance callbacks run inside ``poll`` in that thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import SpanKind

from pizza_common.contracts._events import Event, dead_letter_topic
from pizza_common.kafka._codec import AvroEventCodec, DecodeFailure, EventDecodeError
from pizza_common.kafka._config import consumer_config, producer_config
from pizza_common.kafka._ledger import OffsetLedger, commit_offsets
from pizza_common.kafka._outbox import BufferedOutbox, Output, PlainOutbox, produce_all
from pizza_common.kafka._settings import KafkaSettings
from pizza_common.runtime._tracing import extract_headers, span
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
    # While records are in flight: their commits wait for the poll to end (below).
    busy_poll_timeout_s: float = 0.02
    # How long a handler runs before the loop polls beside it (rebalances, heartbeats).
    keepalive_s: float = 1.0
    # How many records are handled at once (the kitchen's ovens); committed in order.
    max_in_flight: int = 1

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {self.max_in_flight}")


class _Recreate(Exception):
    """The clients are in a state they cannot leave (fenced, failed abort, a record that
    keeps failing): close them and start with new ones.

    ``clients_fine``: the clients themselves work (one record keeps failing), so the other
    records in flight finish and commit first instead of being given back.
    """

    def __init__(self, reason: str, *, clients_fine: bool = False) -> None:
        super().__init__(reason)
        self.clients_fine = clients_fine


@dataclass(eq=False, slots=True)
class _Record:
    """A record in flight, from poll to commit; seen by the rebalance callbacks."""

    source: _Source
    key: tuple[str, bytes] | None
    message: Message
    give_back: asyncio.Event
    finished: threading.Event
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[None] | None = None  # held: the event loop keeps only weak ones
    # Transactional mode: what the latest attempt published, produced at the commit.
    outbox: BufferedOutbox | None = None
    # Once handled: True when committed, False when given back, an error if the commit failed.
    outcome: asyncio.Future[bool] | None = None

    def name(self) -> str:
        return self.source.name()


def _settle_outcome(record: _Record, result: bool | Exception) -> None:
    outcome = record.outcome
    if outcome is None or outcome.done():
        return
    if isinstance(result, Exception):
        outcome.set_exception(result)
    else:
        outcome.set_result(result)


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
        self._marker_commit_pending = False
        # Per record in flight: how often it failed, and the last error.
        self._failures: dict[tuple[str, int, int], tuple[int, str]] = {}
        # The records in flight; the lock guards what the rebalance callbacks touch too.
        self._lock = threading.Lock()
        self._records: set[_Record] = set()
        self._ledger: OffsetLedger[_Record] = OffsetLedger()
        self._commit_lock = asyncio.Lock()
        # The client lets one thread in at a time: a commit (or any call but a poll) waits
        # for the poll under way to end. Calls waiting go first; polls wait for them.
        self._calls_waiting = 0
        self._no_calls_waiting = asyncio.Event()
        self._no_calls_waiting.set()
        # Per record in flight: one call at a time (decode, commit), and the poll beside.
        self._threads = ThreadPoolExecutor(
            max_workers=options.max_in_flight + 2, thread_name_prefix="kafka-consumer"
        )
        self._slot_freed = asyncio.Event()
        self._crashed: list[BaseException] = []
        self._closing = False
        self._leaving_group = False
        self._paused: list[TopicPartition] = []
        self._newly_assigned: set[tuple[str, int]] = set()
        # Records of one key are handled one after another: a partition whose next record's
        # key is in flight waits, paused, until that key's record is settled.
        self._keys_in_flight: dict[tuple[str, bytes], _Record] = {}
        self._held: dict[tuple[str, int], tuple[str, bytes]] = {}
        # Records polled but not started yet, in the order polled: read in one go with
        # the one before them, or while every handler was busy. Started before anything
        # is polled again (so each partition's order holds). Never committed past.
        self._ahead: deque[Message] = deque()
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
            self._threads.shutdown(wait=False)

    async def _run_clients(self) -> None:
        """One incarnation of consumer and producer, until stopped or broken."""
        consumer = Consumer(
            consumer_config(
                self._settings,
                group_id=self._options.group_id,
                client_id=self._options.instance,
                error_cb=self._on_error,
                stats_cb=self._on_stats,
                on_commit=self._on_commit,
                **{"statistics.interval.ms": 5000},
            )
        )
        try:
            producer = await self._call("init_transactions", self._make_producer)
        except KafkaException as exc:
            await self._close(consumer, None)
            raise _Recreate(f"producer could not start: {exc}") from exc
        self._clients = (consumer, producer)
        self._plain_outbox = PlainOutbox(producer)
        self._closing = self._leaving_group = False
        self._crashed = []
        self._paused, self._newly_assigned = [], set()
        self._keys_in_flight, self._held = {}, {}
        self._ahead.clear()
        try:
            consumer.subscribe(
                list(self._options.topics),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            self._ready = True
            self._broker_seen_up = self._broker_lost = self._broker_back = False
            try:
                await self._consume(consumer)
            except _Recreate as exc:
                await self._drain(consumer, closing=not exc.clients_fine, give_back=False)
                raise
            except BaseException:
                await self._drain(consumer, closing=True)
                raise
            await self._drain(consumer, closing=False)
            self._raise_if_crashed()
        finally:
            self._leaving_group = True  # the revokes of close(): failures still count
            self._ready = False
            self._assigned = frozenset()
            self._committed.clear()
            self._marker_commit_pending = False
            with self._lock:
                self._ledger.clear()
            await self._close(consumer, producer)
            log.info("consumer closed", group=self._options.group_id)

    async def _consume(self, consumer: Consumer) -> None:
        """Poll and start handlers until stopped; wait for a free one when all are busy."""
        while not self._stopping.is_set():
            self._watchdog.turned()
            self._raise_if_crashed()
            if self._full():
                await self._wait_for_slot(consumer)
                continue
            self._resume_paused(consumer)
            self._release_held(consumer)
            message = self._next_ahead() or await self._fetch(consumer)
            if self._broker_lost and (self._broker_back or message is not None):
                # Clients that lived through a broker outage can hang for good in a
                # transaction step (librdkafka ignores its timeout there): once the
                # broker is back, and before a record is touched, start anew. The new
                # consumer resumes from the committed offsets, this record included.
                raise _Recreate("the broker is back after an outage")
            if message is None:
                if not self._records and not len(self._ledger) and not self._ahead:
                    await self._commit_past_markers(consumer)
                continue
            if message.error() is not None:
                log.warning("consumer error", error=str(message.error()))
                continue
            if self._key_in_flight(message) is not None:
                await self._hold(consumer, message)
                continue
            self._start(message)

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
        polling = name == "poll"
        if polling:
            await self._no_calls_waiting.wait()
        else:
            self._calls_waiting += 1
            self._no_calls_waiting.clear()
        token = self._watchdog.enter(name, limit)
        try:
            return await self._in_thread(function, *args)
        finally:
            self._watchdog.leave(token)
            if not polling:
                self._calls_waiting -= 1
                if not self._calls_waiting:
                    self._no_calls_waiting.set()

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` in the consumer's own threads: a poll blocked in a revoke (that
        waits for the handlers) never starves the handlers' client calls of a thread."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, context.run, function, *args)

    async def _poll(self, consumer: Consumer, timeout_s: float) -> Message | None:
        # A revoke inside poll may wait for the handler to give its record back.
        message: Message | None = await self._call(
            "poll", consumer.poll, timeout_s, timeout_s=timeout_s + self._timeout_s
        )
        return message

    async def _fetch(self, consumer: Consumer) -> Message | None:
        """The next record, and beside it what the client has fetched already, up to one
        record per free handler, kept ahead: one thread crossing for a batch.

        Polled one by one (``poll(0)`` returns at once): each poll may serve a rebalance,
        and a revoke drops the records kept ahead of its partitions, as it does between
        two crossings. ``consume(n)`` would wait for ``n`` records, or return records of a
        partition revoked within the same call.
        """
        free = self._options.max_in_flight - len(self._records)
        # Records in flight will want their commit soon, and a commit waits for this poll.
        timeout_s = (
            self._options.busy_poll_timeout_s if self._records else self._options.poll_timeout_s
        )

        def poll_batch() -> Message | None:
            first: Message | None = consumer.poll(timeout_s)
            if first is None or first.error() is not None or free <= 1:
                return first
            with self._lock:
                self._ahead.append(first)
            for _ in range(free - 1):
                message = consumer.poll(0)
                if message is None:
                    break
                if message.error() is not None:
                    log.warning("consumer error", error=str(message.error()))
                    continue
                with self._lock:
                    self._ahead.append(message)
            return None

        message: Message | None = await self._call(
            "poll", poll_batch, timeout_s=timeout_s + self._timeout_s
        )
        return message or self._next_ahead()

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

    # The records in flight: started, handled, committed (or given back).

    def _start(self, message: Message) -> None:
        """Hand a polled record to a handler task of its own."""
        source = _Source.of(message)
        key = message.key()
        record = _Record(
            source=source,
            key=(source.topic, key) if isinstance(key, bytes) else None,
            message=message,
            give_back=asyncio.Event(),
            finished=threading.Event(),
            loop=asyncio.get_running_loop(),
        )
        with self._lock:
            self._ledger.start(*record.source.key(), record)
            self._records.add(record)
            if record.key is not None:
                self._keys_in_flight[record.key] = record
        record.task = asyncio.create_task(self._process(record), name=f"record {record.name()}")
        record.task.add_done_callback(lambda task: self._record_ended(record, task))

    def _record_ended(self, record: _Record, task: asyncio.Task[None]) -> None:
        with self._lock:
            self._records.discard(record)
            if record.key is not None and self._keys_in_flight.get(record.key) is record:
                del self._keys_in_flight[record.key]
        record.finished.set()
        self._slot_freed.set()
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._crashed.append(error)

    def _raise_if_crashed(self) -> None:
        if self._crashed:
            raise self._crashed[0]

    def _full(self) -> bool:
        return len(self._records) >= self._options.max_in_flight

    async def _wait_for_slot(self, consumer: Consumer) -> None:
        """All handlers busy: wait for one to finish, but keep polling beside them, so
        rebalances are served and the group membership stays alive."""
        self._slot_freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), self._options.keepalive_s)
            return
        if self._stopping.is_set():
            self._give_back_all()
        self._watchdog.turned()
        await self._poll_beside(consumer)

    async def _poll_beside(self, consumer: Consumer) -> None:
        """Read ahead what is fetched already, up to ``max_in_flight`` records; then pause
        every partition, and keep polling for the rebalances' sake only."""
        timeout_s = 0.1
        while not self._paused and len(self._ahead) < self._options.max_in_flight:
            message = await self._poll(consumer, timeout_s)
            if message is None:
                return
            if message.error() is None:
                with self._lock:
                    self._ahead.append(message)
            timeout_s = 0.0  # only what is there already: the handlers may be done soon
        if not self._paused:
            self._paused = [TopicPartition(t, p) for t, p in self._assigned]
            consumer.pause(self._paused)
        extra = await self._poll(consumer, 0.1)
        if extra is not None and extra.error() is None:
            # Fetched before the pause took hold (or newly assigned): kept, its partition
            # paused too.
            early = _Source.of(extra)
            tp = TopicPartition(early.topic, early.partition)
            consumer.pause([tp])
            self._paused.append(tp)
            with self._lock:
                self._ahead.append(extra)

    def _next_ahead(self) -> Message | None:
        with self._lock:
            return self._ahead.popleft() if self._ahead else None

    def _drop_ahead(self, partitions: set[tuple[str, int]]) -> None:
        """Forget the records read ahead of these partitions: they will be read again
        (rewound, or from the committed offset by their next owner)."""
        with self._lock:
            kept = [m for m in self._ahead if _Source.of(m).key()[:2] not in partitions]
            self._ahead = deque(kept)

    def _resume_paused(self, consumer: Consumer) -> None:
        """A handler is free again: read on, newly assigned partitions included."""
        paused = self._paused + [TopicPartition(t, p) for t, p in self._newly_assigned]
        self._paused, self._newly_assigned = [], set()
        with self._lock:
            held = set(self._held)
        paused = [tp for tp in paused if (tp.topic, tp.partition) not in held]
        if paused:
            self._resume(consumer, paused)

    def _key_in_flight(self, message: Message) -> tuple[str, bytes] | None:
        key, topic = message.key(), message.topic()
        if not isinstance(key, bytes) or topic is None:
            return None
        return (topic, key) if (topic, key) in self._keys_in_flight else None

    async def _hold(self, consumer: Consumer, message: Message) -> None:
        """The record's key is in flight: its partition waits (paused, rewound to it) until
        that key's record is settled, so one key's records never run side by side."""
        source = _Source.of(message)
        tp = TopicPartition(source.topic, source.partition)
        consumer.pause([tp])
        self._drop_ahead({(source.topic, source.partition)})  # after it: read again too
        with self._lock:
            self._held[(source.topic, source.partition)] = (source.topic, message.key() or b"")
        await self._rewind(consumer, message)

    def _release_held(self, consumer: Consumer) -> None:
        with self._lock:
            free = [tp for tp, key in self._held.items() if key not in self._keys_in_flight]
            for tp in free:
                del self._held[tp]
        if free:
            self._resume(consumer, [TopicPartition(t, p) for t, p in free])

    def _resume(self, consumer: Consumer, paused: list[TopicPartition]) -> None:
        """Resume all of ``paused``, ours or not any more: librdkafka keeps a partition's
        pause across a revoke, and one handed back to us later would never be read."""
        for tp in paused:
            try:
                consumer.resume([tp])
            except KafkaException as exc:
                log.info("not resumed", error=str(exc), topic=tp.topic, partition=tp.partition)

    def _give_back_all(self) -> None:
        for record in list(self._records):
            record.give_back.set()

    async def _drain(self, consumer: Consumer, *, closing: bool, give_back: bool = True) -> None:
        """Before the clients close: the handlers are awaited, told to give their records
        back (``give_back``). ``closing`` (the clients are broken): nothing is committed
        any more, and every record is given back."""
        self._closing = self._closing or closing
        if give_back or self._closing:
            self._give_back_all()
        if self._closing:
            self._abandon(list(self._records))
        while self._records:
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_freed.wait(), self._options.keepalive_s)
                continue
            self._watchdog.turned()
            with contextlib.suppress(KafkaException):
                await self._poll(consumer, 0.1)  # rebalances are served meanwhile

    async def _process(self, record: _Record) -> None:
        """Handle one record until it is committed or given back.

        All of it is one span, a child of the producer's span: the order's trace runs on,
        and the gap before this span is the time the record waited in the topic.
        """
        source = record.source
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": source.topic,
            "messaging.consumer.group.name": self._options.group_id,
            "messaging.destination.partition.id": str(source.partition),
            "messaging.kafka.offset": source.offset,
        }
        parent = extract_headers(record.message.headers())
        with span(
            f"{source.topic} process", kind=SpanKind.CONSUMER, parent=parent, attributes=attributes
        ):
            await self._process_in_span(record)

    async def _process_in_span(self, record: _Record) -> None:
        while True:
            try:
                after_commit = await self._attempt(record)
                committed = await self._settle(record)
            except _Recreate:
                raise
            except GiveBack as exc:
                if not self._leaving(record):  # not asked to: a failure like any other
                    if await self._retry_after(record, exc):
                        continue
                    return
                # Not rewound: the partition is leaving (or the consumer closing), and its
                # next owner starts from the committed offset.
                self._given_back(record)
                return
            except Exception as exc:  # anything else is retried, never skipped
                if _is_fatal(exc):
                    raise _Recreate(f"fatal client error: {exc}") from exc
                if await self._retry_after(record, exc):
                    continue
                return
            if not committed:
                return
            self._succeeded(record.source)
            if after_commit is not None:
                await after_commit()
            return

    async def _attempt(self, record: _Record) -> AfterCommit | None:
        """Decode and handle the record (or dead-letter it); its outputs wait for the
        commit in transactional mode, are acknowledged already in plain mode."""
        source, message = record.source, record.message
        outbox: PlainOutbox | BufferedOutbox = self._plain_outbox
        if self._options.transactional_id is not None:
            outbox = record.outbox = BufferedOutbox()
        after_commit: AfterCommit | None = None
        try:
            event = await self._codecs[source.topic].decode_async(message.value(), self._in_thread)
        except EventDecodeError as exc:
            if exc.failure is DecodeFailure.REGISTRY_UNAVAILABLE:
                raise
            await self._dead_letter(outbox, message, source, exc.failure.value, exc.detail)
        else:
            consumed = ConsumedEvent(
                event, source.topic, source.partition, source.offset, record.give_back
            )
            with structlog.contextvars.bound_contextvars(order_id=event.order_id):
                try:
                    after_commit = await self._handler(consumed, outbox)
                except RejectedEvent as exc:
                    await self._dead_letter(outbox, message, source, REJECTED, str(exc))
        return after_commit

    async def _settle(self, record: _Record) -> bool:
        """Commit the handled record, with every other one ready by then: True once
        committed, False if it can no longer be committed here (given back); raises if
        the commit failed."""
        record.outcome = record.loop.create_future()
        with self._lock:
            committable = self._ledger.done(*record.source.key(), record)
        if not committable or self._closing:
            self._given_back(record)
            return False
        async with self._commit_lock:
            if not record.outcome.done():
                await self._commit_ready()
        return await record.outcome

    async def _commit_ready(self) -> None:
        """One commit (plain) or one transaction (transactional) for every record whose
        partition is done up to it; the ledger keeps a record that finished early until
        each earlier one of its partition has."""
        consumer, producer = self._clients
        with self._lock:
            batch = self._ledger.committable()
        if not batch:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in commit_offsets(batch).items()]
        try:
            if self._options.transactional_id is None:
                await self._call("commit", _commit_sync, consumer, offsets)
            else:
                outputs = [o for r in batch if r.item.outbox for o in r.item.outbox.outputs]
                await self._commit_transaction(consumer, producer, outputs, offsets)
        except (KafkaException, BufferError) as exc:
            # Nothing of the batch counts as done: each record is handled again (the
            # kitchen's tickets make that a re-send), nothing after it commits meanwhile.
            records = [tracked.item for tracked in batch]
            with self._lock:
                for record in records:
                    self._ledger.redo(*record.source.key(), record)
            try:
                await self._abort(producer)
            except _Recreate:
                self._abandon(records)  # new clients start from the committed offsets
                raise
            for record in records:
                _settle_outcome(record, exc)
            return
        with self._lock:
            self._ledger.committed(batch)
        for tp in offsets:
            self._committed[(tp.topic, tp.partition)] = tp.offset
        if len(batch) > 1:
            log.debug("batch committed", records=len(batch), partitions=len(offsets))
        for tracked in batch:
            _settle_outcome(tracked.item, True)

    async def _commit_transaction(
        self,
        consumer: Consumer,
        producer: Producer,
        outputs: list[Output],
        offsets: list[TopicPartition],
    ) -> None:
        timeout = self._timeout_s

        def commit_transaction() -> None:
            # The group's metadata is taken on the clients' thread too: on the event loop
            # it waited, holding the GIL, for a lock the client's own threads hold.
            metadata = consumer.consumer_group_metadata()
            producer.begin_transaction()
            produce_all(producer, outputs)
            producer.send_offsets_to_transaction(offsets, metadata, timeout)
            producer.commit_transaction(timeout)

        await self._call("commit_transaction", commit_transaction, timeout_s=2 * timeout)

    async def _retry_after(self, record: _Record, exc: Exception) -> bool:
        """After a transient failure: True to handle the record again, False if it is
        given back instead (its partition left, the consumer stops)."""
        try:
            await self._failed(record.source, exc)
        except _Recreate:
            self._given_back(record)  # the new clients read it again
            raise
        if self._leaving(record):
            self._given_back(record)
            return False
        with self._lock:
            return self._ledger.redo(*record.source.key(), record)

    def _leaving(self, record: _Record) -> bool:
        """Whether the record is to be given back: its partition leaves, the consumer stops."""
        return record.give_back.is_set() or self._stopping.is_set() or self._closing

    def _given_back(self, record: _Record) -> None:
        with self._lock:
            orphans = self._ledger.give_back(*record.source.key(), record)
        self._abandon(orphans)  # done after it: they cannot commit here either
        log.info("record given back", **record.source.fields())

    def _abandon(self, records: Iterable[_Record]) -> None:
        """Tell records waiting for their commit that it will not come (given back)."""
        for record in records:
            _settle_outcome(record, False)

    async def _failed(self, source: _Source, exc: Exception) -> None:
        key = source.key()
        with self._lock:
            attempts = self._failures.get(key, (0, ""))[0] + 1
            self._failures[key] = (attempts, repr(exc))
        log.warning(
            "record failed, will retry", error=repr(exc), attempts=attempts, **source.fields()
        )
        self._report_failures()
        bound = self._settings.kafka_max_record_attempts
        if attempts >= bound and attempts % bound == 0:
            raise _Recreate(f"{source.name()} failed {attempts} times", clients_fine=True)
        await self._pause()

    def _succeeded(self, source: _Source) -> None:
        """Committed: it, and anything before it in its partition, no longer fails; nor
        does a record of a partition that is not ours any more (it left while the clients
        were recreated)."""
        if self._failures:
            self._forget_failures(
                lambda t, p, o: (
                    ((t, p) == (source.topic, source.partition) and o <= source.offset)
                    or (t, p) not in self._assigned
                )
            )

    def _forget_failures(self, which: Callable[[str, int, int], bool]) -> None:
        with self._lock:
            for key in [key for key in self._failures if which(*key)]:
                del self._failures[key]
        self._report_failures()

    def _report_failures(self) -> None:
        """``/ready`` fails while any record in flight failed ``kafka_max_record_attempts``
        times or more (the worst is named)."""
        bound = self._settings.kafka_max_record_attempts
        with self._lock:
            failing = sorted(
                ((n, key, last) for key, (n, last) in self._failures.items() if n >= bound),
                reverse=True,
            )
        if not failing:
            self._watchdog.concern("record", None)
            return
        attempts, (topic, partition, offset), last = failing[0]
        more = f" ({len(failing) - 1} more records failing)" if len(failing) > 1 else ""
        self._watchdog.concern(
            "record",
            f"{topic}[{partition}]@{offset} failed {attempts} times{more}, last: {last}"[:300],
        )

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

    async def _commit_past_markers(self, consumer: Consumer) -> None:
        """When idle, commit the consumer's position where it is past the last commit.

        A topic written in transactions (order.ready) ends each transaction with a commit
        marker that takes an offset but is never handed to us: committing only "last
        record + 1" would leave the group one behind the end forever, and the lag
        monitor would never read 0. The position has skipped the markers; every record
        before it was processed (nothing is in flight now), so committing it loses nothing.
        """
        if (
            self._options.transactional_id is not None
            or not self._assigned
            or self._marker_commit_pending
        ):
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
        # Asynchronous: a synchronous commit to a coordinator that just went away blocks
        # the loop, and with it the polls that serve the broker's health (readiness would
        # blame a stalled loop instead of the broker). ``_on_commit`` records the outcome.
        try:
            consumer.commit(offsets=ahead, asynchronous=True)
        except KafkaException as exc:  # e.g. no coordinator yet: the next idle turn tries again
            log.info("position not committed", error=str(exc))
            return
        self._marker_commit_pending = True

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
        self,
        outbox: PlainOutbox | BufferedOutbox,
        message: Message,
        source: _Source,
        reason: str,
        detail: str,
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

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """An asynchronous commit (the idle one past the markers) came back."""
        self._marker_commit_pending = False
        if error is not None:
            log.info("position not committed", error=str(error))
            return
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if tp.error is None and key in self._assigned:
                self._committed[key] = max(self._committed.get(key, -1), tp.offset)

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
        # Resumed by the loop: librdkafka keeps a pause across a revoke, and a partition of
        # ours paused for the records in flight may come back.
        self._newly_assigned |= added
        log.info(
            "partitions assigned",
            group=self._options.group_id,
            added=_names(added),
            assigned=_names(self._assigned),
        )

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        removed = {(p.topic, p.partition) for p in partitions}
        self._give_back_in(removed)
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
        # Not waited for: the partitions are gone already (another member may own them),
        # and a handler stuck in a commit to an unreachable broker would block this poll.
        self._give_back_in(lost, wait=False)
        self._assigned = self._assigned - lost
        for key in lost:
            self._committed.pop(key, None)
        log.warning("partitions lost", group=self._options.group_id, lost=_names(lost))

    def _give_back_in(self, partitions: set[tuple[str, int]], *, wait: bool = True) -> None:
        """Records in flight of partitions leaving us: have their handlers give them back
        (or finish, if ``wait``) before the partitions go, so no two members work on a
        record."""
        self._drop_ahead(partitions)
        with self._lock:
            leaving = [r for r in self._records if r.source.key()[:2] in partitions]
        for record in leaving:
            log.info("partition revoked mid-record: giving it back", **record.source.fields())
            record.loop.call_soon_threadsafe(record.give_back.set)
        deadline = time.monotonic() + (self._timeout_s if wait else 0.0)
        for record in leaving:
            if not record.finished.wait(max(0.0, deadline - time.monotonic())):
                log.warning("record still in flight after the revoke", **record.source.fields())
                # Its commit, if it ever comes to one, is not ours to make any more.
                record.loop.call_soon_threadsafe(_settle_outcome, record, False)
        with self._lock:
            self._ledger.drop(partitions)
            for tp in partitions:
                self._held.pop(tp, None)
        if not self._leaving_group:  # moving to another member: theirs to retry, or not
            self._forget_failures(lambda t, p, _o: (t, p) in partitions)


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
