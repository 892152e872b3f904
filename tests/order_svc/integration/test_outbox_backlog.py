"""The outbox backlog gauge stays true while the relay waits on a broker that is away."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from order_svc import store
from order_svc.outbox import OutboxRelay
from pizza_common.contracts import to_avro_json
from pizza_common.runtime import make_engine, migrate
from pizza_common.testing import order_placed


class _BrokerAway:
    """A producer whose sends never come back, as with Kafka down."""

    async def send(self, *_args: Any, **_kwargs: Any) -> None:
        await asyncio.Event().wait()


class _AnyCodec:
    topic = "order.placed"

    async def encode_async(self, _event: Any) -> bytes:
        return b"encoded"


def _backlog() -> float | None:
    return REGISTRY.get_sample_value("pizza_outbox_backlog")


async def test_the_backlog_counts_events_committed_while_a_pass_hangs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'order.db'}")
    await migrate(engine, "order_svc:migrations")
    relay = OutboxRelay(engine, _BrokerAway(), _AnyCodec(), batch=10)  # type: ignore[arg-type]

    async def commit_events(count: int) -> None:
        async with engine.begin() as conn:
            for _ in range(count):
                await store.add_to_outbox(
                    conn,
                    event_id=str(uuid.uuid4()),
                    topic="order.placed",
                    key=str(uuid.uuid4()),
                    payload=to_avro_json(order_placed()),
                    now=datetime.now(UTC),
                )
        relay.wake()

    running = asyncio.create_task(relay.run())
    try:
        await commit_events(1)
        await _until(lambda: _backlog() == 1)
        await commit_events(4)  # the pass that took the first event still waits on Kafka
        await _until(lambda: _backlog() == 5)
    finally:
        running.cancel()
        await engine.dispose()


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"backlog stayed {_backlog()}"
        await asyncio.sleep(0.05)
