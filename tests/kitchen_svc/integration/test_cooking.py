"""The order.placed handler and the kitchen on a real ticket database (SQLite), with the
consumer's outbox and the Avro codec stood in for: what is published, what is committed
after, and what the ticket says at each step."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from kitchen_svc.app import MIGRATIONS
from kitchen_svc.domain import Ticket, TicketStatus
from kitchen_svc.handlers import EventHandler
from kitchen_svc.service import KitchenService
from kitchen_svc.store import TicketStore
from pizza_common.contracts import ORDER_READY, OrderPlaced, OrderReady
from pizza_common.kafka import ConsumedEvent, GiveBack, RejectedEvent
from pizza_common.runtime import SecondsRange, make_engine
from pizza_common.testing import RecordingOutbox, migrated_sqlite, order_placed, order_ready


class JsonReady:
    async def encode_async(self, event: OrderReady) -> bytes:
        return json.dumps(event.to_record(), default=str).encode()


def event_ids(outbox: RecordingOutbox) -> list[str]:
    return [json.loads(record.value)["event_id"] for record in outbox.published]


def sent(outbox: RecordingOutbox) -> list[tuple[str, str, bytes]]:
    return [(record.topic, record.key, record.value) for record in outbox.published]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite(tmp_path / "kitchen.db", MIGRATIONS) as engine:
        yield engine


@pytest.fixture
def store(engine: AsyncEngine) -> TicketStore:
    return TicketStore(engine)


def _kitchen(store: TicketStore, cook_seconds: str = "0") -> KitchenService:
    return KitchenService(
        instance="kitchen-1",
        store=store,
        codec=JsonReady(),
        cook_time=SecondsRange.parse(cook_seconds),
        stopping=asyncio.Event(),
        rng=random.Random(1),
    )


def _consumed(order: OrderPlaced | OrderReady, offset: int = 7) -> ConsumedEvent:
    return ConsumedEvent(order, "order.placed", partition=2, offset=offset)


async def test_a_new_order_is_cooked_published_then_marked_published(store: TicketStore) -> None:
    kitchen = _kitchen(store)
    order = order_placed()
    outbox = RecordingOutbox()

    after_commit = await EventHandler(kitchen).handle(_consumed(order), outbox)

    [(topic, key, _)] = sent(outbox)
    assert (topic, key) == (ORDER_READY, order.order_id)
    ready = await store.get(order.order_id)
    assert ready is not None
    assert ready.status is TicketStatus.READY  # published only once the commit is done
    assert (ready.source_partition, ready.source_offset) == (2, 7)
    assert event_ids(outbox) == [ready.ready_event_id]
    assert kitchen.cooking == {}
    assert after_commit is not None
    await after_commit()
    published = await store.get(order.order_id)
    assert published is not None
    assert published.status is TicketStatus.PUBLISHED
    assert published.published_at is not None
    assert (kitchen.counts.cooked, kitchen.counts.resent, kitchen.counts.duplicates) == (1, 0, 0)


async def test_a_published_order_is_skipped_and_nothing_is_sent(store: TicketStore) -> None:
    kitchen = _kitchen(store)
    order = order_placed()
    first = await EventHandler(kitchen).handle(_consumed(order), RecordingOutbox())
    assert first is not None
    await first()

    outbox = RecordingOutbox()
    again = await EventHandler(kitchen).handle(_consumed(order_placed(order.order_id)), outbox)

    assert again is None
    assert sent(outbox) == []
    assert kitchen.counts.duplicates == 1


async def test_a_ready_ticket_resends_the_same_event(store: TicketStore) -> None:
    kitchen = _kitchen(store)
    order = order_placed()
    aborted = RecordingOutbox()  # its transaction never committed: no after-commit ran
    await EventHandler(kitchen).handle(_consumed(order), aborted)

    outbox = RecordingOutbox()
    after_commit = await EventHandler(kitchen).handle(_consumed(order), outbox)

    assert event_ids(outbox) == event_ids(aborted)
    assert sent(outbox) == sent(aborted)  # the very same record value
    assert after_commit is not None
    await after_commit()
    assert (kitchen.counts.cooked, kitchen.counts.resent) == (0, 1)
    ticket = await store.get(order.order_id)
    assert ticket is not None
    assert ticket.status is TicketStatus.PUBLISHED


async def test_an_abandoned_cook_is_taken_over_here(store: TicketStore) -> None:
    order = order_placed()
    other = Ticket.cooking(
        order, instance="kitchen-9", partition=2, offset=3, started_at=order.placed_at
    )
    await store.start_cooking(other)
    kitchen = _kitchen(store)
    outbox = RecordingOutbox()

    after_commit = await EventHandler(kitchen).handle(_consumed(order, offset=5), outbox)

    ticket = await store.get(order.order_id)
    assert ticket is not None
    assert ticket.status is TicketStatus.READY
    assert (ticket.instance, ticket.source_offset) == ("kitchen-1", 5)
    assert event_ids(outbox) == [ticket.ready_event_id]
    assert after_commit is not None


async def test_a_cook_told_to_give_back_leaves_the_ticket_cooking(store: TicketStore) -> None:
    kitchen = _kitchen(store, cook_seconds="30")
    order = order_placed()
    consumed = _consumed(order)
    outbox = RecordingOutbox()

    handling = asyncio.create_task(EventHandler(kitchen).handle(consumed, outbox))
    for _ in range(500):  # until the cook started: its ticket is open
        if kitchen.cooking:
            break
        await asyncio.sleep(0.01)
    assert [current.phase for current in kitchen.cooking.values()] == ["cooking"]
    consumed.give_back.set()
    with pytest.raises(GiveBack):
        await handling

    assert sent(outbox) == []
    assert kitchen.cooking == {}
    ticket = await store.get(order.order_id)
    assert ticket is not None
    assert ticket.status is TicketStatus.COOKING


async def test_what_cannot_be_cooked_is_rejected_before_any_ticket(store: TicketStore) -> None:
    kitchen = _kitchen(store)
    order = order_placed()
    huge = replace(order, items=(replace(order.items[0], quantity=500),))
    with pytest.raises(RejectedEvent, match="quantity 500"):
        await EventHandler(kitchen).handle(_consumed(huge), RecordingOutbox())
    with pytest.raises(RejectedEvent, match=r"expected an order\.placed event, got OrderReady"):
        await EventHandler(kitchen).handle(_consumed(order_ready(order)), RecordingOutbox())
    assert await store.get(order.order_id) is None


async def test_the_store_answers_a_ping_and_a_missing_database_raises(
    store: TicketStore, tmp_path: Path
) -> None:
    await store.ping()
    gone = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'kitchen.db'}")
    with pytest.raises(OperationalError):
        await TicketStore(gone).ping()
    await gone.dispose()
