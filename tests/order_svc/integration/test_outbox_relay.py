"""The relay publishes an event handed to it at commit as it is, and reads any other row's
payload back: after a restart, or once more events wait than it keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc import outbox, store
from order_svc.outbox import OutboxRelay
from pizza_common.contracts import OrderPlaced, to_avro_json
from pizza_common.runtime import make_engine, migrate
from pizza_common.testing import order_placed

UNREADABLE = "not Avro JSON: the relay must not need to read this"


class _Broker:
    """A producer that acknowledges every record at once."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def send(self, _topic: str, *, key: str, **_kwargs: Any) -> None:
        self.keys.append(key)


class _Codec:
    """Records the events it is asked to encode."""

    topic = "order.placed"

    def __init__(self) -> None:
        self.events: list[OrderPlaced] = []

    async def encode_async(self, event: OrderPlaced) -> bytes:
        self.events.append(event)
        return b"encoded"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'order.db'}")
    await migrate(engine, "order_svc:migrations")
    yield engine
    await engine.dispose()


async def _commit(engine: AsyncEngine, event: OrderPlaced, payload: str) -> None:
    async with engine.begin() as conn:
        await store.add_to_outbox(
            conn,
            event_id=event.event_id,
            topic=event.TOPIC,
            key=event.order_id,
            payload=payload,
            now=datetime.now(UTC),
        )


async def _pending(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len(await store.pending_events(conn, 100))


async def test_an_event_handed_over_at_commit_is_published_without_reading_its_row(
    engine: AsyncEngine,
) -> None:
    codec, broker = _Codec(), _Broker()
    relay = OutboxRelay(engine, broker, codec, batch=10)  # type: ignore[arg-type]
    handed, restarted = order_placed(), order_placed()
    # The payload of the first is not even readable: the relay publishes the event it got.
    await _commit(engine, handed, UNREADABLE)
    relay.wake(handed)
    # The second was committed before a restart: only its row holds it.
    await _commit(engine, restarted, to_avro_json(restarted))

    assert await relay.publish_pending() == 2
    assert codec.events == [handed, restarted]
    assert broker.keys == [handed.order_id, restarted.order_id]
    assert await _pending(engine) == 0


async def test_beyond_the_events_it_keeps_the_relay_reads_rows_back(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "FRESH_EVENTS", 2)
    codec = _Codec()
    relay = OutboxRelay(engine, _Broker(), codec, batch=10)  # type: ignore[arg-type]
    events = [order_placed() for _ in range(3)]
    for event in events:
        await _commit(engine, event, to_avro_json(event))
        relay.wake(event)

    assert await relay.publish_pending() == 3
    # The oldest was let go when the third came, and read back from its row: the same event.
    assert codec.events == events
    assert len(relay._fresh) == 0


async def test_an_unreadable_row_not_handed_over_fails_alone(engine: AsyncEngine) -> None:
    codec = _Codec()
    relay = OutboxRelay(engine, _Broker(), codec, batch=10)  # type: ignore[arg-type]
    broken, fine = order_placed(), order_placed()
    await _commit(engine, broken, UNREADABLE)
    await _commit(engine, fine, to_avro_json(fine))

    assert await relay.publish_pending() == 1
    assert codec.events == [fine]
    assert await _pending(engine) == 1  # kept, and counted as a failed attempt
