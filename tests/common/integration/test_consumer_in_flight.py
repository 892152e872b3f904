"""The consumer loop with several records in flight, against a real broker: handlers run
side by side, offsets commit in partition order, a transaction commits a batch (or is
aborted and its records handled again), and a revoke gives in-flight records back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import (
    AvroEventCodec,
    ConsumedEvent,
    ConsumerOptions,
    EventConsumer,
    GiveBack,
    KafkaSettings,
    Outbox,
    admin_config,
    consumer_config,
    producer_config,
)
from pizza_common.testing import order_placed
from tests.kafka_helpers import consume_until

pytestmark = pytest.mark.integration

PARTITIONS = 6
IDLE_POLL_S = 15.0
OUTPUT_MAX_BYTES = 4096
"""The output topic refuses larger records: a way to make a transaction fail at the broker."""


@dataclass(frozen=True)
class Topics:
    source: str
    output: str


@pytest.fixture
def topics(kafka_settings: KafkaSettings) -> Topics:
    name = f"in-flight-{uuid.uuid4().hex[:8]}"
    topics = Topics(source=name, output=f"{name}.out")
    admin = AdminClient(admin_config(kafka_settings, client_id="test-admin"))
    created = admin.create_topics(
        [
            NewTopic(topics.source, PARTITIONS, 1),
            NewTopic(
                topics.output,
                PARTITIONS,
                1,
                config={"max.message.bytes": str(OUTPUT_MAX_BYTES)},
            ),
        ]
    )
    for future in created.values():
        future.result(timeout=30)
    return topics


@dataclass
class Kitchenette:
    """A handler that publishes one output per input and shows what runs at once.

    Each order waits for its gate (if it has one) or for ``release``; it gives its record
    back when told to. ``fail_first`` raise a transient error on their first attempt,
    ``oversize_first`` publish an output the broker refuses on theirs.
    """

    output: str
    release: asyncio.Event = field(default_factory=asyncio.Event)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    fail_first: set[str] = field(default_factory=set)
    fail_until_released: set[str] = field(default_factory=set)
    oversize_first: set[str] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    partitions_in_flight: set[int] = field(default_factory=set)
    most_at_once: int = 0
    attempts: Counter[str] = field(default_factory=Counter)
    finished: set[str] = field(default_factory=set)
    given_back: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)  # every attempt, in the order begun

    async def handle(self, consumed: ConsumedEvent, outbox: Outbox) -> None:
        order_id = consumed.event.order_id
        self.started.append(order_id)
        self.attempts[order_id] += 1
        first = self.attempts[order_id] == 1
        self.in_flight.add(order_id)
        self.partitions_in_flight.add(consumed.partition)
        self.most_at_once = max(self.most_at_once, len(self.in_flight))
        try:
            if order_id not in self.fail_until_released:
                gate = self.gates.get(order_id, self.release) if first else self.release
                await _first_of(gate, consumed.give_back)
            if consumed.give_back.is_set():
                self.given_back.add(order_id)
                raise GiveBack(order_id)
            if first and order_id in self.fail_first:
                raise OSError("the database is down (this once)")
            if order_id in self.fail_until_released and not self.release.is_set():
                raise OSError("the database is down")
            oversize = first and order_id in self.oversize_first
            value = os.urandom(2 * OUTPUT_MAX_BYTES) if oversize else b"cooked"  # incompressible
            await outbox.publish(self.output, key=order_id, value=value)
        finally:
            self.in_flight.discard(order_id)
            self.partitions_in_flight.discard(consumed.partition)
        self.finished.add(order_id)


async def _first_of(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _feed(
    settings: KafkaSettings, registry: SchemaRegistryClient, topic: str, partitions: list[int]
) -> list[str]:
    """One new order to each of ``partitions`` (in that order); their ids."""
    codec = AvroEventCodec(registry, OrderPlaced)
    producer = Producer(producer_config(settings, client_id="test-feed"))
    ids = []
    for partition in partitions:
        order = order_placed()
        producer.produce(topic, key=order.order_id, value=codec.encode(order), partition=partition)
        ids.append(order.order_id)
    assert producer.flush(30) == 0
    return ids


def _consumer(
    settings: KafkaSettings,
    registry: SchemaRegistryClient,
    topics: Topics,
    group: str,
    handler: Kitchenette,
    *,
    transactional_id: str | None = None,
    instance: str = "test-consumer",
    poll_timeout_s: float = 0.5,
) -> EventConsumer:
    options = ConsumerOptions(
        group_id=group,
        instance=instance,
        topics=[topics.source],
        transactional_id=transactional_id,
        retry_pause_s=0.2,
        max_in_flight=4,
        poll_timeout_s=poll_timeout_s,
    )
    codecs = {topics.source: AvroEventCodec(registry, OrderPlaced)}
    return EventConsumer(settings, options, codecs, handler.handle)


@asynccontextmanager
async def _running(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 60)


async def _eventually(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def _committed(settings: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (-1 where nothing is committed)."""
    reader = Consumer(consumer_config(settings, group_id=group, client_id="test-offsets"))
    try:
        wanted = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: max(tp.offset, -1) for tp in reader.committed(wanted, timeout=10)}
    finally:
        reader.close()


async def _until_committed(
    settings: KafkaSettings,
    group: str,
    topic: str,
    expected: dict[int, int],
    timeout_s: float = 60,
) -> None:
    """Until the group's committed offsets are ``expected`` (partitions not named: none).

    Read in a thread: the event loop must stay free for the consumer under test, whose
    open transaction holds the group's offsets unstable until it ends."""
    wanted = {**dict.fromkeys(range(PARTITIONS), -1), **expected}
    deadline = asyncio.get_running_loop().time() + timeout_s
    seen: dict[int, int] = {}
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(KafkaException):  # unstable while a transaction is open
            seen = await asyncio.to_thread(_committed, settings, group, topic)
        if seen == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"committed offsets {seen}, expected {wanted}")


def _outputs(settings: KafkaSettings, topic: str, ids: list[str]) -> Counter[str]:
    """How many outputs each of ``ids`` has in read_committed, once each has one."""

    def every_one(messages: list[Message]) -> bool:
        return set(ids) <= {_key(m) for m in messages}

    read = consume_until(settings, topic, every_one, timeout_s=60)
    return Counter(key for m in read if (key := _key(m)) in ids)


def _key(message: Message) -> str:
    key = message.key()
    return key.decode() if isinstance(key, bytes) else ""


async def test_four_records_of_one_partition_run_at_once_and_commit_in_its_order(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, [0, 0, 0, 0])
    handler = Kitchenette(topics.output, gates={i: asyncio.Event() for i in ids})
    group = f"test-{uuid.uuid4()}"
    consumer = _consumer(kafka_settings, registry, topics, group, handler)

    async with _running(consumer):
        await _eventually(lambda: handler.in_flight == set(ids), "all four in flight at once")
        for last in (ids[3], ids[1]):  # later records finish first
            handler.gates[last].set()
            await _eventually(partial(handler.finished.__contains__, last), f"{last} finished")
        await _until_committed(kafka_settings, group, topics.source, {})

        handler.gates[ids[0]].set()
        await _eventually(lambda: ids[0] in handler.finished, "the first finished")
        # 0 and 1 are done, 2 is not: the commit stops before 2, though 3 is done too.
        await _until_committed(kafka_settings, group, topics.source, {0: 2})
        handler.gates[ids[2]].set()
        await _until_committed(kafka_settings, group, topics.source, {0: 4})
    assert handler.most_at_once == 4


async def test_records_read_ahead_while_all_handlers_are_busy_are_handled_once_each(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, [0] * 10)
    handler = Kitchenette(topics.output)
    group = f"test-{uuid.uuid4()}"
    consumer = _consumer(kafka_settings, registry, topics, group, handler)

    async with _running(consumer):
        await _eventually(lambda: handler.in_flight == set(ids[:4]), "four in flight")
        # Polling beside the busy handlers reads the next four ahead, and no further.
        await _eventually(lambda: len(consumer._ahead) == 4, "four records read ahead")
        await asyncio.sleep(1.5)  # more turns of polling beside: still four
        assert len(consumer._ahead) == 4
        await _until_committed(kafka_settings, group, topics.source, {})  # nothing past them
        handler.release.set()
        await _until_committed(kafka_settings, group, topics.source, {0: 10})
    # Each once; the first four before any read ahead (side by side, so in any order).
    assert sorted(handler.started) == sorted(ids)
    assert set(handler.started[:4]) == set(ids[:4])
    assert _outputs(kafka_settings, topics.output, ids) == dict.fromkeys(ids, 1)


async def test_records_fetched_together_start_after_one_thread_crossing(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, [0] * 4)
    handler = Kitchenette(topics.output)
    consumer = _consumer(kafka_settings, registry, topics, f"test-{uuid.uuid4()}", handler)
    # Each crossing to the client's thread that brought a record: read one by one, four.
    fetched: list[Message] = []
    fetch = consumer._fetch

    async def counting(client: Consumer) -> Message | None:
        message = await fetch(client)
        if message is not None:
            fetched.append(message)
        return message

    consumer._fetch = counting  # type: ignore[method-assign, assignment]
    async with _running(consumer):
        await _eventually(lambda: handler.in_flight == set(ids), "all four in flight")
        handler.release.set()
    # Records that came in one fetch response, and crossed in one or two calls.
    assert 1 <= len(fetched) <= 2
    assert sorted(handler.started) == sorted(ids)


@pytest.mark.parametrize("transactional", [False, True], ids=["plain", "transactional"])
async def test_a_commit_does_not_wait_for_a_long_poll_to_end(
    kafka_settings: KafkaSettings,
    registry: SchemaRegistryClient,
    topics: Topics,
    transactional: bool,
) -> None:
    # The client lets one thread in at a time, so a commit (and the group's metadata a
    # transaction needs) waits for the poll under way. An idle poll may be long; while a
    # record is in flight, polls are short and give way to the calls that wait.
    ids = _feed(kafka_settings, registry, topics.source, [0, 1])
    handler = Kitchenette(topics.output, gates={i: asyncio.Event() for i in ids})
    group = f"test-{uuid.uuid4()}"
    consumer = _consumer(
        kafka_settings,
        registry,
        topics,
        group,
        handler,
        transactional_id=f"test-{uuid.uuid4()}" if transactional else None,
        poll_timeout_s=IDLE_POLL_S,
    )
    async with _running(consumer):  # its stop waits for the last (idle) poll
        await _eventually(lambda: handler.in_flight == set(ids), "both in flight")
        for done, committed in ((ids[0], {0: 1}), (ids[1], {0: 1, 1: 1})):
            handler.gates[done].set()
            # Long before the idle poll would end, which the commit waited for once.
            await _until_committed(
                kafka_settings, group, topics.source, committed, timeout_s=IDLE_POLL_S / 3
            )


async def test_records_of_different_partitions_run_four_at_once_never_more(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, list(range(PARTITIONS)))
    handler = Kitchenette(topics.output)
    group = f"test-{uuid.uuid4()}"
    consumer = _consumer(kafka_settings, registry, topics, group, handler)

    async with _running(consumer):
        await _eventually(
            lambda: len(handler.partitions_in_flight) == 4, "four partitions' records in flight"
        )
        handler.release.set()
        await _eventually(lambda: handler.finished == set(ids), "every record handled")
        await _until_committed(
            kafka_settings, group, topics.source, dict.fromkeys(range(PARTITIONS), 1)
        )
    assert handler.most_at_once == 4
    assert set(handler.attempts.values()) == {1}


async def test_a_batch_transaction_that_fails_is_aborted_and_its_records_handled_again(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, [0, 0, 0, 0, 1])
    batch, transient = ids[:4], ids[4]
    handler = Kitchenette(
        topics.output,
        gates={i: asyncio.Event() for i in batch},
        oversize_first={batch[1]},  # the broker refuses it: the whole transaction fails
        fail_first={transient},
    )
    handler.release.set()  # second attempts go through
    group = f"test-{uuid.uuid4()}"
    consumer = _consumer(
        kafka_settings, registry, topics, group, handler, transactional_id=f"test-{uuid.uuid4()}"
    )

    async with _running(consumer):
        await _eventually(lambda: set(batch) <= handler.in_flight, "the four in flight")
        for later in reversed(batch[1:]):
            handler.gates[later].set()
            await _eventually(partial(handler.finished.__contains__, later), f"{later} finished")
        handler.gates[batch[0]].set()  # now all four commit in one transaction: it fails
        await _until_committed(kafka_settings, group, topics.source, {0: 4, 1: 1})

    # Each record of the aborted batch was handled again (the next transaction may fail
    # once more: librdkafka's sequence numbers after a refused record); the transient
    # failure was retried.
    assert all(handler.attempts[i] >= 2 for i in batch), handler.attempts
    assert handler.attempts[transient] == 2
    every = await asyncio.to_thread(_outputs, kafka_settings, topics.output, ids)
    assert every == Counter(dict.fromkeys(ids, 1))  # in read_committed: the aborted none


async def test_a_member_joining_mid_batch_gets_the_records_given_back_once_each(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    ids = _feed(kafka_settings, registry, topics.source, list(range(PARTITIONS)))
    release = asyncio.Event()
    first = Kitchenette(topics.output, release=release)
    second = Kitchenette(topics.output, release=release)
    group = f"test-{uuid.uuid4()}"
    one = _consumer(
        kafka_settings, registry, topics, group, first, transactional_id=f"test-{uuid.uuid4()}"
    )
    two = _consumer(
        kafka_settings,
        registry,
        topics,
        group,
        second,
        transactional_id=f"test-{uuid.uuid4()}",
        instance="test-consumer-2",
    )

    async with _running(one):
        await _eventually(lambda: len(first.partitions_in_flight) == 4, "four in flight")
        async with _running(two):
            # Three partitions move to the new member: at least one of the four in flight
            # was on one of them, and is given back before the partition moves.
            await _eventually(
                lambda: len(one.assigned) == 3 and len(two.assigned) == 3, "the group rebalanced"
            )
            assert first.given_back
            release.set()
            await _until_committed(
                kafka_settings, group, topics.source, dict.fromkeys(range(PARTITIONS), 1)
            )

    assert first.given_back <= second.finished
    every = await asyncio.to_thread(_outputs, kafka_settings, topics.output, ids)
    assert every == Counter(dict.fromkeys(ids, 1))


async def test_a_record_that_keeps_failing_makes_the_consumer_not_ready_the_others_go_on(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient, topics: Topics
) -> None:
    failing, *others = _feed(kafka_settings, registry, topics.source, [0, 1, 2, 3])
    handler = Kitchenette(topics.output, fail_until_released={failing})
    for other in others:
        handler.gates[other] = asyncio.Event()
        handler.gates[other].set()
    group = f"test-{uuid.uuid4()}"
    settings = kafka_settings.model_copy(update={"kafka_max_record_attempts": 3})
    consumer = _consumer(settings, registry, topics, group, handler)

    async with _running(consumer):
        await _until_committed(kafka_settings, group, topics.source, {1: 1, 2: 1, 3: 1})
        await _eventually(
            lambda: f"{topics.source}[0]@0 failed" in (consumer.problem() or ""),
            "readiness to name the failing record",
        )
        handler.release.set()  # the database is back
        await _until_committed(kafka_settings, group, topics.source, dict.fromkeys(range(4), 1))
        await _eventually(lambda: consumer.problem() is None, "ready again")
    assert handler.attempts[failing] > 3
