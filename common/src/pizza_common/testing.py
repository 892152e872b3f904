"""What the tests of every service share: sample events built from the documented example
order, a clock that moves only when told, and an outbox that records what a handler
publishes instead of sending it. For tests only; no service imports this module."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from pizza_common.contracts._events import (
    Address,
    Customer,
    OrderItem,
    OrderPlaced,
    OrderReady,
    PizzaSize,
)
from pizza_common.runtime._db import make_engine, migrate
from pizza_common.web._order_access import TRACKING_TOKEN_HEADER, tracking_token_sha256


@contextlib.asynccontextmanager
async def migrated_sqlite(path: Path, migrations: str) -> AsyncIterator[AsyncEngine]:
    """A service's own SQLite database at ``path``, migrated; disposed of on leaving."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine, migrations)
        yield engine
    finally:
        await engine.dispose()


def tracking_token_of(order_id: str) -> str:
    """The tracking token of a sample event's order (:func:`order_placed` carries its digest)."""
    return f"test-tracking-token-{order_id}"


def tracking_header(order_id: str) -> dict[str, str]:
    """The header that reads a sample event's order as its customer."""
    return {TRACKING_TOKEN_HEADER: tracking_token_of(order_id)}


def order_placed(order_id: str | None = None) -> OrderPlaced:
    order_id = order_id or str(uuid.uuid4())
    return OrderPlaced(
        order_id=order_id,
        customer=Customer(name="Ada Lovelace", phone="+41 79 123 45 67", email="ada@example.org"),
        delivery_address=Address(
            street="Bahnhofstrasse 1", postal_code="8001", city="Zürich", instructions="3rd floor"
        ),
        items=(
            OrderItem("margherita", "Margherita", PizzaSize.LARGE, 2, Decimal("18.50")),
            OrderItem("funghi", "Funghi", PizzaSize.SMALL, 1, Decimal("12.00")),
        ),
        total=Decimal("49.00"),
        currency="CHF",
        payment_id="pay_" + uuid.uuid4().hex[:12],
        tracking_token_sha256=tracking_token_sha256(tracking_token_of(order_id)),
    )


def order_ready(placed: OrderPlaced) -> OrderReady:
    started = datetime.now(UTC) - timedelta(seconds=7)
    return OrderReady(
        order_id=placed.order_id,
        placed_event_id=placed.event_id,
        kitchen_instance="kitchen-1",
        cook_started_at=started,
        pizza_count=placed.pizza_count,
    )


class FakeClock:
    """A clock for code that takes ``clock: Callable[[], datetime]``: set ``now`` to move it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Published:
    topic: str
    key: str
    value: bytes
    headers: Mapping[str, str]


@dataclass
class RecordingOutbox:
    """An outbox (:class:`pizza_common.kafka.Outbox`) that keeps what is published."""

    published: list[Published] = field(default_factory=list)

    async def publish(
        self, topic: str, *, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.published.append(Published(topic, key, value, dict(headers or {})))
