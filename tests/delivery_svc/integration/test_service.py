"""delivery's use cases and its event handler on a real (SQLite) database, without Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry import context, trace
from sqlalchemy.exc import OperationalError

from delivery_svc.app import MIGRATIONS
from delivery_svc.domain import DeliveryStatus, TrackedOrder, message_for
from delivery_svc.feed import StatusFeed
from delivery_svc.handlers import TOPICS, EventHandler
from delivery_svc.service import DeliveryService
from delivery_svc.store import DeliveryStore
from pizza_common.contracts import ORDER_PLACED, ORDER_READY
from pizza_common.kafka import ConsumedEvent, RejectedEvent
from pizza_common.runtime import SecondsRange, make_engine
from pizza_common.testing import (
    FakeClock,
    RecordingOutbox,
    migrated_sqlite,
    order_placed,
    order_ready,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DeliveryStore]:
    async with migrated_sqlite(tmp_path / "delivery.db", MIGRATIONS) as engine:
        yield DeliveryStore(engine)


def _service(store: DeliveryStore, clock: FakeClock, drive: str = "30") -> DeliveryService:
    return DeliveryService(
        store,
        StatusFeed(),
        ["driver-1"],
        SecondsRange.parse(drive),
        rng=random.Random(1),
        clock=clock,
    )


@contextlib.contextmanager
def _inside_trace(trace_id: int) -> Iterator[None]:
    parent = trace.SpanContext(
        trace_id=trace_id, span_id=1, is_remote=True, trace_flags=trace.TraceFlags(1)
    )
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(parent)))
    try:
        yield
    finally:
        context.detach(token)


async def _handle(handler: EventHandler, topic: str, event: object) -> None:
    consumed = ConsumedEvent(event=event, topic=topic, partition=0, offset=0)  # type: ignore[arg-type]
    outbox = RecordingOutbox()
    assert await handler.handle(consumed, outbox) is None
    assert outbox.published == []  # delivery publishes nothing


def test_delivery_consumes_order_placed_and_order_ready() -> None:
    assert TOPICS == [ORDER_PLACED, ORDER_READY]


async def test_events_apply_once_and_an_order_walks_to_the_door(store: DeliveryStore) -> None:
    clock = FakeClock(T0)
    service = _service(store, clock)
    handler = EventHandler(service)
    placed = order_placed()
    ready = order_ready(placed)

    await _handle(handler, ORDER_READY, ready)
    await _handle(handler, ORDER_PLACED, placed)
    await _handle(handler, ORDER_PLACED, placed)  # the same event again: ignored
    assert await service.apply_event(placed, ORDER_PLACED) is None
    order = await service.get(placed.order_id)
    assert order is not None
    assert order.status is DeliveryStatus.READY
    assert order.waits_for_driver

    assert await service.move_fleet()  # assigned
    assert await service.move_fleet()  # on the way
    assert not await service.move_fleet(), "not there yet"
    clock.now = T0 + timedelta(seconds=30)
    assert await service.move_fleet()  # delivered
    assert not await service.move_fleet()

    order = await service.get(placed.order_id)
    assert order is not None
    assert order.tracking_token_sha256 == placed.tracking_token_sha256
    sent = await service.notifications(placed.order_id)
    assert [step for step, _ in order.timeline()] == list(DeliveryStatus)
    assert order.driver == "driver-1"
    assert [(n.kind, n.sent_at) for n in sent] == [
        (DeliveryStatus.ON_THE_WAY, T0),
        (DeliveryStatus.DELIVERED, T0 + timedelta(seconds=30)),
    ]
    assert [o.order_id for o in await service.find(DeliveryStatus.DELIVERED, 10)] == [
        placed.order_id
    ]
    assert await service.find(DeliveryStatus.READY, 10) == []
    assert await service.get("unknown") is None


async def test_an_event_delivery_cannot_apply_is_rejected_and_changes_nothing(
    store: DeliveryStore,
) -> None:
    service = _service(store, FakeClock(T0))
    placed = order_placed()
    empty = replace(order_ready(placed), pizza_count=0)
    with pytest.raises(RejectedEvent, match="pizza_count 0 is not positive"):
        await _handle(EventHandler(service), ORDER_READY, empty)
    assert await service.get(placed.order_id) is None


async def test_followers_get_the_current_status_then_each_further_step(
    store: DeliveryStore,
) -> None:
    clock = FakeClock(T0)
    service = _service(store, clock, drive="0")
    placed = order_placed()
    await service.apply_event(placed, ORDER_PLACED)
    seen: list[DeliveryStatus] = []

    async def follow() -> None:
        async for order in service.status_changes(placed.order_id):
            seen.append(order.status)
            first.set()

    first = asyncio.Event()
    following = asyncio.create_task(follow())
    await asyncio.wait_for(first.wait(), timeout=5)
    await service.apply_event(order_ready(placed), ORDER_READY)
    while await service.move_fleet():
        pass
    await asyncio.wait_for(following, timeout=5)
    assert seen == list(DeliveryStatus)


async def test_a_stream_ends_when_the_service_closes(store: DeliveryStore) -> None:
    service = _service(store, FakeClock(T0))
    placed = order_placed()
    await service.apply_event(placed, ORDER_PLACED)
    seen: list[TrackedOrder] = []

    async def follow() -> None:
        async for order in service.status_changes(placed.order_id):
            seen.append(order)
            first.set()

    first = asyncio.Event()
    following = asyncio.create_task(follow())
    await asyncio.wait_for(first.wait(), timeout=5)
    service.close()
    await asyncio.wait_for(following, timeout=5)
    assert [o.status for o in seen] == [DeliveryStatus.RECEIVED]
    assert [o async for o in service.status_changes("unknown")] == []


async def test_a_ready_order_wakes_the_sleeping_fleet(store: DeliveryStore) -> None:
    service = _service(store, FakeClock(T0), drive="0")
    stopping = asyncio.Event()
    fleet = asyncio.create_task(service.run_fleet(stopping))
    await asyncio.sleep(0.1)  # nothing to do: the fleet sleeps (up to 5 s)
    placed = order_placed()
    await service.apply_event(placed, ORDER_PLACED)
    await service.apply_event(order_ready(placed), ORDER_READY)

    async def delivered() -> None:
        while True:
            order = await service.get(placed.order_id)
            if order is not None and order.status is DeliveryStatus.DELIVERED:
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(delivered(), timeout=3)
    stopping.set()
    await asyncio.wait_for(fleet, timeout=3)


async def test_the_store_answers_a_ping_and_a_missing_database_raises(
    store: DeliveryStore, tmp_path: Path
) -> None:
    await store.ping()
    gone = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'delivery.db'}")
    with pytest.raises(OperationalError):
        await DeliveryStore(gone).ping()
    await gone.dispose()


async def test_one_fleet_step_moves_many_orders_in_one_go(store: DeliveryStore) -> None:
    clock = FakeClock(T0)
    service = DeliveryService(
        store, StatusFeed(), ["driver-1", "driver-2"], SecondsRange.parse("0"), clock=clock
    )
    placed = [order_placed() for _ in range(3)]
    for number, event in enumerate(placed, start=1):
        # Each order's events are handled inside its trace; the fleet's steps continue it.
        with _inside_trace(number):
            await service.apply_event(event, ORDER_PLACED)
            await service.apply_event(order_ready(event), ORDER_READY)
    fleet = await store.in_fleet_hands()
    assert {o.order_id for o in fleet.orders} == {e.order_id for e in placed}
    for number, event in enumerate(placed, start=1):
        assert fleet.trace_of(event.order_id)["traceparent"].startswith(f"00-{number:032x}-")
    assert fleet.trace_of("not-in-the-fleet") == {}

    assert await service.move_fleet()  # two drivers: two of the three are assigned
    drivers = {o.order_id: o.driver for o in (await store.in_fleet_hands()).orders}
    assert sorted(d for d in drivers.values() if d) == ["driver-1", "driver-2"]
    steps = 1
    while await service.move_fleet():
        steps += 1
    # assign two, set off both, deliver both and assign the third, set off, deliver
    assert steps == 5
    assert (await store.in_fleet_hands()).orders == []
    for event in placed:
        kinds = [n.kind for n in await service.notifications(event.order_id)]
        assert kinds == [DeliveryStatus.ON_THE_WAY, DeliveryStatus.DELIVERED]

    # Saving a step again (a second fleet, a retry) sends no notification twice.
    delivered = [o for o in [await service.get(e.order_id) for e in placed] if o is not None]
    again = await store.save_moves(
        [(o, message_for(DeliveryStatus.DELIVERED)) for o in delivered], clock.now
    )
    assert again == [False, False, False]
    # A step whose moves are partly new sends only the new notifications.
    first = delivered[0]
    mixed = await store.save_moves(
        [
            (first, message_for(DeliveryStatus.DELIVERED)),
            (first, message_for(DeliveryStatus.DRIVER_ASSIGNED)),
            (replace(first, order_id="o-new"), message_for(DeliveryStatus.DELIVERED)),
        ],
        clock.now,
    )
    assert mixed == [False, False, True]


async def test_events_handled_side_by_side_share_transactions_and_apply_once_each(
    store: DeliveryStore,
) -> None:
    service = _service(store, FakeClock(T0))
    handler = EventHandler(service)
    placed = [order_placed() for _ in range(12)]
    ready = [order_ready(event) for event in placed]
    # As the consumer runs them with several records in flight: both topics at once,
    # an order's two events side by side, each event twice (a redelivery).
    await asyncio.gather(
        *(_handle(handler, ORDER_PLACED, event) for event in placed + placed),
        *(_handle(handler, ORDER_READY, event) for event in ready + ready),
    )

    for event in placed:
        order = await service.get(event.order_id)
        assert order is not None
        assert order.status is DeliveryStatus.READY
        assert order.waits_for_driver
    assert store._events.batches < 4 * len(placed), "no two events shared a transaction"
