"""Reading and writing tracked orders, applied events and notifications."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from delivery_svc.domain import DeliveryStatus, Destination, Message, SentNotification, TrackedOrder
from delivery_svc.tables import notifications, orders, processed_events
from pizza_common.runtime import inject_headers


class DeliveryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        """Raises if the database does not answer (readiness)."""
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def apply_event(
        self,
        *,
        event_id: str,
        topic: str,
        order_id: str,
        change: Callable[[TrackedOrder | None], TrackedOrder],
        now: datetime,
    ) -> TrackedOrder | None:
        """Apply ``change`` once per ``event_id``; returns the order if it changed."""
        async with self._engine.begin() as connection:
            first_time = await _insert_ignoring_duplicates(
                connection,
                processed_events,
                {"event_id": event_id, "topic": topic, "order_id": order_id, "processed_at": now},
            )
            if not first_time:
                return None
            current = await _load(connection, order_id)
            changed = change(current)
            if changed == current:
                return None
            # Applied inside the event's process span: the fleet's steps continue its trace.
            trace_context = json.dumps(inject_headers())
            values = {**_columns(changed), "updated_at": now, "trace_context": trace_context}
            if current is None:
                await connection.execute(insert(orders).values(**values))
            else:
                await connection.execute(
                    update(orders).where(orders.c.order_id == order_id).values(**values)
                )
            return changed

    async def save_move(self, order: TrackedOrder, now: datetime, message: Message | None) -> bool:
        """Store a fleet move and its notification; True if the notification is new."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(orders)
                .where(orders.c.order_id == order.order_id)
                .values(**_columns(order), updated_at=now)
            )
            if message is None:
                return False
            return await _insert_ignoring_duplicates(
                connection,
                notifications,
                {
                    "order_id": order.order_id,
                    "kind": message.kind.value,
                    "message_de": message.de,
                    "message_en": message.en,
                    "sent_at": now,
                },
            )

    async def trace_context(self, order_id: str) -> dict[str, str]:
        """The W3C headers of the order's trace, as stored by :meth:`apply_event`."""
        async with self._engine.connect() as connection:
            stored = await connection.scalar(
                select(orders.c.trace_context).where(orders.c.order_id == order_id)
            )
        loaded: dict[str, str] = json.loads(stored) if stored else {}
        return loaded

    async def get(self, order_id: str) -> TrackedOrder | None:
        async with self._engine.connect() as connection:
            return await _load(connection, order_id)

    async def find(self, status: DeliveryStatus | None, limit: int) -> list[TrackedOrder]:
        query = select(orders).order_by(orders.c.updated_at.desc()).limit(limit)
        if status is not None:
            query = query.where(orders.c.status == status.value)
        async with self._engine.connect() as connection:
            return [_order(row) for row in await connection.execute(query)]

    async def in_fleet_hands(self) -> list[TrackedOrder]:
        """Orders the fleet works on: cooked, with an address, not yet delivered."""
        query = select(orders).where(
            orders.c.delivered_at.is_(None),
            orders.c.received_at.is_not(None),
            orders.c.ready_at.is_not(None),
        )
        async with self._engine.connect() as connection:
            return [_order(row) for row in await connection.execute(query)]

    async def notifications_of(self, order_id: str) -> list[SentNotification]:
        query = (
            select(notifications)
            .where(notifications.c.order_id == order_id)
            .order_by(notifications.c.sent_at, notifications.c.id)
        )
        async with self._engine.connect() as connection:
            return [
                SentNotification(
                    DeliveryStatus(row.kind), row.message_de, row.message_en, row.sent_at
                )
                for row in await connection.execute(query)
            ]


async def _insert_ignoring_duplicates(
    connection: AsyncConnection, table: Any, values: dict[str, Any]
) -> bool:
    """Insert unless a unique key already holds the row; True if inserted."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"no insert-if-absent for {dialect}")
    result = await connection.execute(statement)
    return bool(result.rowcount == 1)


async def _load(connection: AsyncConnection, order_id: str) -> TrackedOrder | None:
    row = (await connection.execute(select(orders).where(orders.c.order_id == order_id))).first()
    return None if row is None else _order(row)


def _columns(order: TrackedOrder) -> dict[str, Any]:
    place = order.destination
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "customer_name": place.customer_name if place else None,
        "phone": place.phone if place else None,
        "street": place.street if place else None,
        "postal_code": place.postal_code if place else None,
        "city": place.city if place else None,
        "instructions": place.instructions if place else None,
        "pizza_count": order.pizza_count,
        "kitchen_instance": order.kitchen_instance,
        "driver": order.driver,
        "received_at": order.received_at,
        "ready_at": order.ready_at,
        "driver_assigned_at": order.driver_assigned_at,
        "on_the_way_at": order.on_the_way_at,
        "delivered_at": order.delivered_at,
        "due_at": order.due_at,
        "tracking_token_sha256": order.tracking_token_sha256,
    }


def _order(row: Row[Any]) -> TrackedOrder:
    destination = None
    if row.street is not None:
        destination = Destination(
            customer_name=row.customer_name,
            phone=row.phone,
            street=row.street,
            postal_code=row.postal_code,
            city=row.city,
            instructions=row.instructions,
        )
    return TrackedOrder(
        order_id=row.order_id,
        destination=destination,
        pizza_count=row.pizza_count,
        kitchen_instance=row.kitchen_instance,
        received_at=row.received_at,
        ready_at=row.ready_at,
        driver_assigned_at=row.driver_assigned_at,
        on_the_way_at=row.on_the_way_at,
        delivered_at=row.delivered_at,
        driver=row.driver,
        due_at=row.due_at,
        tracking_token_sha256=row.tracking_token_sha256,
    )
