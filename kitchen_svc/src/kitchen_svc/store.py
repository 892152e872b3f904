"""Reading and writing tickets. Only the instance that owns an order's partition touches
its ticket, so there are no concurrent writers per order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from kitchen_svc.domain import Ticket, TicketStatus
from kitchen_svc.tables import tickets


class TicketStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, order_id: str) -> Ticket | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(tickets).where(tickets.c.order_id == order_id))
            ).first()
        if row is None:
            return None
        return Ticket(
            order_id=row.order_id,
            placed_event_id=row.placed_event_id,
            status=TicketStatus(row.status),
            instance=row.instance,
            pizza_count=row.pizza_count,
            cook_started_at=row.cook_started_at,
            ready_at=row.ready_at,
            ready_event_id=row.ready_event_id,
        )

    async def start_cooking(
        self,
        *,
        order_id: str,
        placed_event_id: str,
        instance: str,
        pizza_count: int,
        partition: int,
        offset: int,
        started_at: datetime,
    ) -> None:
        """Open the ticket, or take over one left by an instance that stopped mid-cook."""
        values = {
            "placed_event_id": placed_event_id,
            "status": TicketStatus.COOKING.value,
            "instance": instance,
            "pizza_count": pizza_count,
            "source_partition": partition,
            "source_offset": offset,
            "cook_started_at": started_at,
        }
        async with self._engine.begin() as connection:
            updated = await connection.execute(
                update(tickets).where(tickets.c.order_id == order_id).values(**values)
            )
            if updated.rowcount == 0:
                await connection.execute(insert(tickets).values(order_id=order_id, **values))

    async def mark_ready(self, order_id: str, *, ready_at: datetime, ready_event_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(tickets)
                .where(tickets.c.order_id == order_id)
                .values(
                    status=TicketStatus.READY.value,
                    ready_at=ready_at,
                    ready_event_id=ready_event_id,
                )
            )

    async def mark_published(self, order_id: str, *, at: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(tickets)
                .where(tickets.c.order_id == order_id)
                .values(status=TicketStatus.PUBLISHED.value, published_at=at)
            )

    async def count_by_status(self) -> dict[str, int]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(tickets.c.status, func.count()).group_by(tickets.c.status)
            )
            return {status: count for status, count in rows}
