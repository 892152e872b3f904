"""Reading and writing tracked orders, applied events and notifications."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from delivery_svc.domain import DeliveryStatus, Destination, Message, SentNotification, TrackedOrder
from delivery_svc.tables import notifications, orders, processed_events
from pizza_common.runtime import GroupCommit, inject_headers

_FLEET_STATUSES = [
    status.value
    for status in (DeliveryStatus.READY, DeliveryStatus.DRIVER_ASSIGNED, DeliveryStatus.ON_THE_WAY)
]
# Statements built once (their values are bound at execution): building one per call
# cost more than running it. A fleet step's moves are one executemany of _SAVE_ORDER.
_ADD_ORDER = insert(orders)
_SAVE_ORDER = update(orders).where(orders.c.order_id == bindparam("b_order_id"))
_LOAD_ORDER = select(orders).where(orders.c.order_id == bindparam("b_order_id"))
_IN_FLEET_HANDS = select(orders).where(
    # By the status index: every delivered order stays in the table, and the fleet looks
    # at every step.
    orders.c.status.in_(_FLEET_STATUSES),
    orders.c.delivered_at.is_(None),
    orders.c.received_at.is_not(None),
    orders.c.ready_at.is_not(None),
)


@dataclass(frozen=True, slots=True)
class _EventToApply:
    event_id: str
    topic: str
    order_id: str
    change: Callable[[TrackedOrder | None], TrackedOrder]
    now: datetime
    trace_context: str  # the W3C headers of the event's span, taken where it is handled


@dataclass(frozen=True, slots=True)
class Fleet:
    """The orders the fleet works on, read in one go with their trace contexts."""

    orders: list[TrackedOrder]
    _traces: dict[str, str | None]

    def trace_of(self, order_id: str) -> dict[str, str]:
        """The W3C headers of the order's trace, as stored by ``apply_event``."""
        stored = self._traces.get(order_id)
        headers: dict[str, str] = json.loads(stored) if stored else {}
        return headers


class DeliveryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Events handled side by side (the consumer's records in flight) share a
        # transaction: one commit for many events instead of one each.
        self._events = GroupCommit(self._apply_events)

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
        # Taken here, inside the event's process span: the fleet's steps continue its trace.
        trace_context = json.dumps(inject_headers())
        return await self._events.submit(
            _EventToApply(event_id, topic, order_id, change, now, trace_context)
        )

    async def _apply_events(self, events: Sequence[_EventToApply]) -> list[TrackedOrder | None]:
        """Apply events in one transaction, in order (a later one sees an earlier one's
        change to the same order)."""
        async with self._engine.begin() as connection:
            return [await _apply(connection, event) for event in events]

    async def save_moves(
        self, moves: Sequence[tuple[TrackedOrder, Message | None]], now: datetime
    ) -> list[bool]:
        """Store one step of the fleet (its moves and their notifications) in one
        transaction; per move, True if its notification is new."""
        if not moves:
            return []
        rows = [{**_columns(order), "updated_at": now} for order, _ in moves]
        for row in rows:
            row["b_order_id"] = row.pop("order_id")
        sent = [
            {
                "order_id": order.order_id,
                "kind": message.kind.value,
                "message_de": message.de,
                "message_en": message.en,
                "sent_at": now,
            }
            for order, message in moves
            if message is not None
        ]
        async with self._engine.begin() as connection:
            await connection.execute(_SAVE_ORDER, rows)
            new: set[tuple[str, str]] = set()
            if sent:
                # One statement for the step's notifications; it returns those it added
                # (a notification sent before is kept, and not sent again).
                added = await connection.execute(
                    _insert_if_absent(connection.dialect.name, notifications).returning(
                        notifications.c.order_id, notifications.c.kind
                    ),
                    sent,
                )
                new = {(order_id, kind) for order_id, kind in added}
        return [
            message is not None and (order.order_id, message.kind.value) in new
            for order, message in moves
        ]

    async def get(self, order_id: str) -> TrackedOrder | None:
        async with self._engine.connect() as connection:
            return await _load(connection, order_id)

    async def find(self, status: DeliveryStatus | None, limit: int) -> list[TrackedOrder]:
        query = select(orders).order_by(orders.c.updated_at.desc()).limit(limit)
        if status is not None:
            query = query.where(orders.c.status == status.value)
        async with self._engine.connect() as connection:
            return [_order(row) for row in await connection.execute(query)]

    async def in_fleet_hands(self) -> Fleet:
        """Orders the fleet works on (cooked, with an address, not yet delivered), and
        where each one's trace goes on."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(_IN_FLEET_HANDS)).all()
        return Fleet(
            [_order(row) for row in rows], {row.order_id: row.trace_context for row in rows}
        )

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


async def _apply(connection: AsyncConnection, event: _EventToApply) -> TrackedOrder | None:
    first_time = await _insert_ignoring_duplicates(
        connection,
        processed_events,
        {
            "event_id": event.event_id,
            "topic": event.topic,
            "order_id": event.order_id,
            "processed_at": event.now,
        },
    )
    if not first_time:
        return None
    current = await _load(connection, event.order_id)
    changed = event.change(current)
    if changed == current:
        return None
    values = {**_columns(changed), "updated_at": event.now, "trace_context": event.trace_context}
    if current is None:
        await connection.execute(_ADD_ORDER, values)
    else:
        values["b_order_id"] = values.pop("order_id")
        await connection.execute(_SAVE_ORDER, values)
    return changed


async def _insert_ignoring_duplicates(
    connection: AsyncConnection, table: Table, values: dict[str, Any]
) -> bool:
    """Insert unless a unique key already holds the row; True if inserted."""
    result = await connection.execute(_insert_if_absent(connection.dialect.name, table), values)
    return bool(result.rowcount == 1)


@functools.cache
def _insert_if_absent(dialect: str, table: Table) -> Any:
    """The dialect's insert-if-absent for ``table``, built once: building a statement per
    call cost more than running it."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no insert-if-absent for {dialect}")


async def _load(connection: AsyncConnection, order_id: str) -> TrackedOrder | None:
    row = (await connection.execute(_LOAD_ORDER, {"b_order_id": order_id})).first()
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
