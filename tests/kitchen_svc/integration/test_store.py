"""The ticket store on a real (SQLite) database: tickets come back as saved, a ticket left
by another instance is taken over, and writes made at the same time share transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from kitchen_svc.domain import Ticket, TicketStatus
from kitchen_svc.store import TicketStore
from pizza_common.testing import migrated_sqlite, order_placed

STARTED = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite(tmp_path / "kitchen.db", "kitchen_svc:migrations") as engine:
        yield engine


def _cooking(order_id: str, instance: str = "kitchen-1", offset: int = 0) -> Ticket:
    return Ticket.cooking(
        order_placed(order_id), instance=instance, partition=1, offset=offset, started_at=STARTED
    )


async def _life(store: TicketStore, ticket: Ticket) -> Ticket:
    await store.start_cooking(ticket)
    ready = ticket.cooked(
        ready_at=STARTED + timedelta(seconds=2), ready_event_id=f"r-{ticket.order_id}"
    )
    await store.mark_ready(ready)
    published = ready.published(at=STARTED + timedelta(seconds=3))
    await store.mark_published(published)
    return published


async def test_tickets_cooked_side_by_side_come_back_as_saved_sharing_transactions(
    engine: AsyncEngine,
) -> None:
    store = TicketStore(engine)
    tickets = [_cooking(f"order-{n}", offset=n) for n in range(12)]
    published = await asyncio.gather(*(_life(store, ticket) for ticket in tickets))
    for ticket in published:
        assert await store.get(ticket.order_id) == ticket
        assert ticket.status is TicketStatus.PUBLISHED
    assert store._writes.batches < 3 * len(tickets), "no two writes shared a transaction"


async def test_a_ticket_left_cooking_by_another_instance_is_taken_over(
    engine: AsyncEngine,
) -> None:
    store = TicketStore(engine)
    await store.start_cooking(_cooking("order-1", instance="kitchen-2", offset=7))
    here = _cooking("order-1", instance="kitchen-1", offset=9)
    await store.start_cooking(here)
    assert await store.get("order-1") == here
