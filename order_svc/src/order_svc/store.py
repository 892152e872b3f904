"""Reading and writing orders and outbox rows (SQLAlchemy Core, async)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from order_svc.domain import OrderStatus
from order_svc.tables import orders, outbox
from pizza_common.events import Address, Customer, OrderItem, OrderPlaced, PizzaSize

_UNSETTLED = (OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    idempotency_key: str | None
    request_fingerprint: str
    status: OrderStatus
    customer: dict[str, Any]
    delivery_address: dict[str, Any]
    items: list[dict[str, Any]]
    total: Decimal
    currency: str
    card_last4: str
    payment_id: str | None
    payment_outcome: str | None
    payment_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def to_event(self, *, placed_at: datetime) -> OrderPlaced:
        assert self.payment_id is not None, "only a paid order is placed"
        return OrderPlaced(
            order_id=self.order_id,
            customer=Customer(**self.customer),
            delivery_address=Address(**self.delivery_address),
            items=tuple(
                OrderItem(
                    pizza_id=item["pizza_id"],
                    name=item["name"],
                    size=PizzaSize(item["size"]),
                    quantity=item["quantity"],
                    unit_price=Decimal(item["unit_price"]),
                )
                for item in self.items
            ),
            total=self.total,
            currency=self.currency,
            payment_id=self.payment_id,
            placed_at=placed_at,
        )


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


def _order(row: Any) -> OrderRecord:
    values = dict(row._mapping)
    values["status"] = OrderStatus(values["status"])
    values["total"] = Decimal(values["total"]).quantize(Decimal("0.01"))
    return OrderRecord(**values)


async def insert_order(conn: AsyncConnection, record: OrderRecord) -> None:
    values = {field: getattr(record, field) for field in OrderRecord.__slots__}
    values["status"] = record.status.value
    await conn.execute(insert(orders).values(**values))


async def get_order(conn: AsyncConnection, order_id: str) -> OrderRecord | None:
    row = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).first()
    return _order(row) if row else None


async def get_order_by_key(conn: AsyncConnection, key: str) -> OrderRecord | None:
    row = (await conn.execute(select(orders).where(orders.c.idempotency_key == key))).first()
    return _order(row) if row else None


async def claim(
    conn: AsyncConnection,
    order: OrderRecord,
    *,
    now: datetime,
    statuses: frozenset[OrderStatus] = frozenset({OrderStatus.PAYMENT_UNAVAILABLE}),
) -> int | None:
    """Take ``order`` into ``payment_pending`` for this actor: its new version, or None.

    Only from one of ``statuses`` and only if nobody changed the order since it was read
    (same version). A customer's retry takes only ``payment_unavailable`` orders; the
    recovery worker also takes ``payment_pending`` ones left by a request that died.
    """
    result = await conn.execute(
        update(orders)
        .where(orders.c.order_id == order.order_id)
        .where(orders.c.version == order.version)
        .where(orders.c.status.in_([status.value for status in statuses]))
        .values(status=OrderStatus.PAYMENT_PENDING.value, updated_at=now, version=order.version + 1)
    )
    return order.version + 1 if result.rowcount == 1 else None


async def set_payment_result(
    conn: AsyncConnection,
    order_id: str,
    *,
    version: int,
    status: OrderStatus,
    now: datetime,
    payment_id: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
) -> bool:
    """Settle an unsettled order still at ``version``; False if it changed since."""
    result = await conn.execute(
        update(orders)
        .where(orders.c.order_id == order_id)
        .where(orders.c.version == version)
        .where(orders.c.status.in_([s.value for s in _UNSETTLED]))
        .values(
            status=status.value,
            payment_id=payment_id,
            payment_outcome=outcome,
            payment_reason=reason,
            updated_at=now,
            version=version + 1,
        )
    )
    return result.rowcount == 1


async def unsettled_orders(
    conn: AsyncConnection, *, unchanged_since: datetime, limit: int
) -> list[OrderRecord]:
    """Orders in payment_pending or payment_unavailable not touched since ``unchanged_since``,
    oldest first."""
    query = (
        select(orders)
        .where(orders.c.status.in_([s.value for s in _UNSETTLED]))
        .where(orders.c.updated_at < unchanged_since)
        .order_by(orders.c.updated_at)
        .limit(limit)
    )
    return [_order(row) for row in await conn.execute(query)]


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
        insert(outbox).values(
            event_id=event_id,
            topic=topic,
            message_key=key,
            payload=payload,
            created_at=now,
            attempts=0,
            trace_context=trace_context,
        )
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
        await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=now))


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
