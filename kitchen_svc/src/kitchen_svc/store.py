"""Reading and writing tickets. Only the instance that owns an order's partition touches
its ticket, so there are no concurrent writers per order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kitchen_svc.domain import Ticket, TicketStatus
from kitchen_svc.tables import tickets
from pizza_common.runtime import SharedTransactions

# Statements built once, their values bound at execution: building one per call cost
# more than running it. An update sets the columns its parameters name.
_LOAD = select(tickets).where(tickets.c.order_id == bindparam("b_order_id"))
_UPDATE = update(tickets).where(tickets.c.order_id == bindparam("b_order_id"))
_INSERT = insert(tickets)


class TicketStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # The ovens' writes and the commits of a batch's orders share transactions.
        self._writes = SharedTransactions(engine)

    async def ping(self) -> None:
        """Raises if the database does not answer (readiness)."""
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def get(self, order_id: str) -> Ticket | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(_LOAD, {"b_order_id": order_id})).first()
        if row is None:
            return None
        return Ticket(
            order_id=row.order_id,
            placed_event_id=row.placed_event_id,
            status=TicketStatus(row.status),
            instance=row.instance,
            pizza_count=row.pizza_count,
            source_partition=row.source_partition,
            source_offset=row.source_offset,
            cook_started_at=row.cook_started_at,
            ready_at=row.ready_at,
            ready_event_id=row.ready_event_id,
            published_at=row.published_at,
        )

    async def start_cooking(self, ticket: Ticket) -> None:
        """Open the ticket, or take over one left by an instance that stopped mid-cook."""
        values: dict[str, Any] = {
            "placed_event_id": ticket.placed_event_id,
            "status": ticket.status.value,
            "instance": ticket.instance,
            "pizza_count": ticket.pizza_count,
            "source_partition": ticket.source_partition,
            "source_offset": ticket.source_offset,
            "cook_started_at": ticket.cook_started_at,
        }

        async def upsert(connection: AsyncConnection) -> None:
            updated = await connection.execute(_UPDATE, {"b_order_id": ticket.order_id, **values})
            if updated.rowcount == 0:
                await connection.execute(_INSERT, {"order_id": ticket.order_id, **values})

        await self._writes.write(upsert)

    async def mark_ready(self, ticket: Ticket) -> None:
        await self._update(
            ticket,
            status=ticket.status.value,
            ready_at=ticket.ready_at,
            ready_event_id=ticket.ready_event_id,
        )

    async def mark_published(self, ticket: Ticket) -> None:
        await self._update(ticket, status=ticket.status.value, published_at=ticket.published_at)

    async def _update(self, ticket: Ticket, **values: object) -> None:
        parameters = {"b_order_id": ticket.order_id, **values}

        async def run(connection: AsyncConnection) -> None:
            await connection.execute(_UPDATE, parameters)

        await self._writes.write(run)
