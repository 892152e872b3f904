"""The order store on a real (SQLite) database: an Order comes back as it was saved, and a
change is saved only at the version it was decided on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc.domain import OrderStatus
from order_svc.store import KeyTaken, OrderStore, pending_events
from pizza_common.contracts import OrderPlaced, from_avro_json
from pizza_common.testing import migrated_sqlite
from tests.order_svc.unit.test_order import NOW, placed

LATER = NOW + timedelta(seconds=1)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite(tmp_path / "order.db", "order_svc:migrations") as engine:
        yield engine


@pytest.fixture
def store(engine: AsyncEngine) -> OrderStore:
    return OrderStore(engine)


async def test_an_order_comes_back_as_it_was_saved(store: OrderStore) -> None:
    order = placed()
    await store.add(order)
    assert await store.get(order.order_id) == order
    assert await store.by_idempotency_key("key-1") == order
    assert await store.get("nope") is None
    view = await store.view(order.order_id)
    assert view is not None
    assert (view.order, view.event) == (order, None)


async def test_an_idempotency_key_holds_one_order(store: OrderStore) -> None:
    await store.add(placed())
    with pytest.raises(KeyTaken):
        await store.add(replace(placed(), order_id="o-2"))


async def test_a_change_is_saved_only_at_the_version_it_was_decided_on(store: OrderStore) -> None:
    order = placed()
    await store.add(order)
    unavailable = order.payment_unavailable("timeout", LATER)
    assert await store.save(unavailable)
    assert await store.get(order.order_id) == unavailable
    # Decided on the order as first read: someone changed it since.
    assert not await store.save(order.decline("card_declined", LATER, payment_id="pay_1"))
    assert await store.get(order.order_id) == unavailable
    retried = unavailable.retry_payment(LATER)
    assert await store.save(retried)
    assert not await store.save(unavailable.take_over(LATER))  # the same version, twice
    assert (await store.get(order.order_id)) == retried


async def test_accepting_saves_the_order_and_its_event_together(
    store: OrderStore, engine: AsyncEngine
) -> None:
    order = replace(placed(), order_id=str(uuid.uuid4()))  # order.placed's ids are UUIDs
    await store.add(order)
    accepted, event = order.accept("pay_1", LATER)
    assert await store.save(accepted, event=event)
    view = await store.view(order.order_id)
    assert view is not None
    assert view.order.status is OrderStatus.ACCEPTED
    assert view.event is not None
    assert view.event.event_id == event.event_id
    assert view.event.published_at is None
    async with engine.connect() as conn:
        [row] = await pending_events(conn, 10)
    assert from_avro_json(OrderPlaced, row.payload) == event
    # A second acceptance of the same version writes neither order nor event.
    again, second = order.accept("pay_2", LATER)
    assert not await store.save(again, event=second)
    async with engine.connect() as conn:
        assert len(await pending_events(conn, 10)) == 1


async def test_unsettled_orders_are_found_oldest_first(store: OrderStore) -> None:
    first, second = placed(), replace(placed(idempotency_key="key-2"), order_id="o-2")
    await store.add(first)
    await store.add(second)
    accepted, event = second.accept("pay_1", LATER)
    await store.save(accepted, event=event)
    found = await store.unsettled(unchanged_since=datetime.now(UTC), limit=10)
    assert [o.order_id for o in found] == [first.order_id]
    assert await store.unsettled(unchanged_since=NOW, limit=10) == []


async def test_writes_at_the_same_time_share_a_transaction_and_a_taken_key_fails_alone(
    store: OrderStore,
) -> None:
    orders = [replace(placed(), order_id=f"o-{n}", idempotency_key=f"key-{n}") for n in range(8)]
    await store.add(orders[0])
    taken = replace(placed(), order_id="o-taken", idempotency_key="key-0")
    results = await asyncio.gather(
        *(store.add(order) for order in [*orders[1:], taken]), return_exceptions=True
    )
    assert [type(r) for r in results] == [type(None)] * 7 + [KeyTaken]
    for order in orders:
        assert await store.get(order.order_id) == order
    assert await store.get("o-taken") is None

    # Several changes at once, one of them decided on a stale version: only it is refused.
    changes = [order.payment_unavailable("timeout", LATER) for order in orders]
    stale = orders[3].decline("card_declined", LATER, payment_id="pay_1")
    saved = await asyncio.gather(*(store.save(change) for change in [*changes, stale]))
    assert saved == [True] * 8 + [False]
    assert await store.get(orders[3].order_id) == changes[3]
    assert store._writes.batches < 1 + 8 + 9, "no two writes shared a transaction"
