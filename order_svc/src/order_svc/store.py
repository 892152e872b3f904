"""Reading and writing orders and outbox rows (SQLAlchemy Core, async).

:class:`OrderStore` saves and loads :class:`~order_svc.domain.Order` values; a change of
status is saved only if the order is still at the version the change was decided on.
The functions at the end are the outbox's, used by the relay.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from order_svc.domain import (
    UNSETTLED,
    EventState,
    Order,
    OrderStatus,
    OrderView,
    PaymentOutcome,
)
from order_svc.tables import orders, outbox
from pizza_common.contracts import (
    Address,
    Customer,
    OrderItem,
    OrderPlaced,
    PizzaSize,
    to_avro_json,
)
from pizza_common.runtime import SharedTransactions, inject_headers


class StoreError(Exception):
    """The database failed (unreachable, locked for too long, ...)."""


class KeyTaken(StoreError):
    """Another order holds this Idempotency-Key already."""


# Statements built once: SQLAlchemy then reuses their compiled form, where building one
# per call with .values(...) cost ~160 µs of CPU per insert against ~30 µs (bench note in
# docs/performance.md). Parameters are bound at execute.
_INSERT_ORDER = insert(orders)
_SAVE_STATUS = (
    update(orders)
    .where(orders.c.order_id == bindparam("b_order_id"))
    .where(orders.c.version == bindparam("b_previous_version"))
    .where(orders.c.status.in_([status.value for status in UNSETTLED]))
    .values(
        status=bindparam("b_status"),
        payment_id=bindparam("b_payment_id"),
        payment_outcome=bindparam("b_payment_outcome"),
        payment_reason=bindparam("b_payment_reason"),
        updated_at=bindparam("b_updated_at"),
        version=bindparam("b_version"),
    )
)
_INSERT_EVENT = insert(outbox)
_MARK_PUBLISHED = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(published_at=bindparam("b_now"))
)


class OrderStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Requests writing at the same time share a transaction.
        self._writes = SharedTransactions(engine)

    async def ping(self) -> None:
        async with self._connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def add(self, order: Order) -> None:
        """Save a new order; :class:`KeyTaken` if its Idempotency-Key is used already."""
        row = _row(order)

        async def insert_order(conn: AsyncConnection) -> None:
            await conn.execute(_INSERT_ORDER, row)

        try:
            await self._writes.write(insert_order)
        except IntegrityError as exc:
            raise KeyTaken(str(exc)) from exc
        except SQLAlchemyError as exc:
            raise StoreError(str(exc)) from exc

    async def get(self, order_id: str) -> Order | None:
        async with self._connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).first()
        return _order(row) if row else None

    async def by_idempotency_key(self, key: str) -> Order | None:
        async with self._connect() as conn:
            query = select(orders).where(orders.c.idempotency_key == key)
            row = (await conn.execute(query)).first()
        return _order(row) if row else None

    async def view(self, order_id: str) -> OrderView | None:
        async with self._connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).first()
            event = await event_for_order(conn, order_id)
        if row is None:
            return None
        state = EventState(event.event_id, event.published_at) if event else None
        return OrderView(_order(row), state)

    async def save(self, order: Order, *, event: OrderPlaced | None = None) -> bool:
        """Save a change of ``order``'s status, decided at the version before this one;
        False (nothing saved) if the order changed since. ``event`` goes to the outbox in
        the same transaction: both are saved, or neither.

        Every change starts from an unsettled status, and the version says which one.
        """
        status = {
            "b_order_id": order.order_id,
            "b_previous_version": order.version - 1,
            "b_status": order.status.value,
            "b_payment_id": order.payment_id,
            "b_payment_outcome": _outcome(order),
            "b_payment_reason": order.payment_reason,
            "b_updated_at": order.updated_at,
            "b_version": order.version,
        }
        # Taken here, in the request's span (the batch may run in another's).
        trace_context = json.dumps(inject_headers()) if event is not None else None

        async def save_status(conn: AsyncConnection) -> bool:
            done = (await conn.execute(_SAVE_STATUS, status)).rowcount == 1
            if done and event is not None:
                await add_to_outbox(
                    conn,
                    event_id=event.event_id,
                    topic=event.TOPIC,
                    key=event.order_id,
                    payload=to_avro_json(event),
                    now=order.updated_at,
                    trace_context=trace_context,
                )
            return done

        with _errors():
            return bool(await self._writes.write(save_status))

    async def unsettled(self, *, unchanged_since: datetime, limit: int) -> list[Order]:
        """Orders in payment_pending or payment_unavailable not touched since
        ``unchanged_since``, oldest first."""
        query = (
            select(orders)
            .where(orders.c.status.in_([s.value for s in UNSETTLED]))
            .where(orders.c.updated_at < unchanged_since)
            .order_by(orders.c.updated_at)
            .limit(limit)
        )
        async with self._connect() as conn:
            return [_order(row) for row in await conn.execute(query)]

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        with _errors():
            async with self._engine.connect() as conn:
                yield conn


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(str(exc)) from exc


def _row(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "idempotency_key": order.idempotency_key,
        "request_fingerprint": order.request_fingerprint,
        "status": order.status.value,
        "customer": asdict(order.customer),
        "delivery_address": asdict(order.delivery_address),
        "items": [
            {
                "pizza_id": item.pizza_id,
                "name": item.name,
                "size": item.size.value,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
            for item in order.lines
        ],
        "total": order.total,
        "currency": order.currency,
        "card_last4": order.card_last4,
        "payment_id": order.payment_id,
        "payment_outcome": _outcome(order),
        "payment_reason": order.payment_reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.version,
        "tracking_token_sha256": order.tracking_token_sha256,
    }


def _outcome(order: Order) -> str | None:
    return order.payment_outcome.value if order.payment_outcome else None


def _order(row: Any) -> Order:
    values = row._mapping
    outcome = values["payment_outcome"]
    return Order(
        order_id=values["order_id"],
        customer=Customer(**values["customer"]),
        delivery_address=Address(**values["delivery_address"]),
        lines=tuple(
            OrderItem(
                pizza_id=item["pizza_id"],
                name=item["name"],
                size=PizzaSize(item["size"]),
                quantity=item["quantity"],
                unit_price=Decimal(item["unit_price"]),
            )
            for item in values["items"]
        ),
        currency=values["currency"],
        card_last4=values["card_last4"],
        idempotency_key=values["idempotency_key"],
        request_fingerprint=values["request_fingerprint"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        status=OrderStatus(values["status"]),
        payment_id=values["payment_id"],
        payment_outcome=PaymentOutcome(outcome) if outcome is not None else None,
        payment_reason=values["payment_reason"],
        version=values["version"],
        tracking_token_sha256=values["tracking_token_sha256"],
    )


# The outbox, for the relay (:mod:`order_svc.outbox`).


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    event_id: str
    topic: str
    message_key: str
    payload: str
    attempts: int
    published_at: datetime | None
    trace_context: str | None


async def add_to_outbox(
    conn: AsyncConnection,
    *,
    event_id: str,
    topic: str,
    key: str,
    payload: str,
    now: datetime,
    trace_context: str | None = None,
) -> None:
    await conn.execute(
        _INSERT_EVENT,
        {
            "event_id": event_id,
            "topic": topic,
            "message_key": key,
            "payload": payload,
            "created_at": now,
            "attempts": 0,
            "trace_context": trace_context,
        },
    )


def _outbox(row: Any) -> OutboxRecord:
    return OutboxRecord(**{field: getattr(row, field) for field in OutboxRecord.__slots__})


async def pending_events(conn: AsyncConnection, limit: int) -> list[OutboxRecord]:
    query = select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
    return [_outbox(row) for row in await conn.execute(query)]


async def event_for_order(conn: AsyncConnection, order_id: str) -> OutboxRecord | None:
    row = (await conn.execute(select(outbox).where(outbox.c.message_key == order_id))).first()
    return _outbox(row) if row else None


async def mark_published(conn: AsyncConnection, ids: list[int], now: datetime) -> None:
    if ids:
        await conn.execute(_MARK_PUBLISHED, {"b_ids": ids, "b_now": now})


async def record_publish_failure(conn: AsyncConnection, ids: list[int], error: str) -> None:
    if ids:
        await conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )


async def outbox_backlog(conn: AsyncConnection) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return int((await conn.execute(query)).scalar_one())
