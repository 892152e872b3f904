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


async def claim_for_payment(
    conn: AsyncConnection, order_id: str, *, stale_before: datetime, now: datetime
) -> bool:
    """Move a retryable order back to payment_pending; False if another request has it.

    A payment_pending order older than ``stale_before`` belonged to a process that died
    mid-payment: it may be claimed again (payment's idempotency key prevents a second charge).
    """
    result = await conn.execute(
        update(orders)
        .where(orders.c.order_id == order_id)
        .where(
            (orders.c.status == OrderStatus.PAYMENT_UNAVAILABLE.value)
            | (
                (orders.c.status == OrderStatus.PAYMENT_PENDING.value)
                & (orders.c.updated_at < stale_before)
            )
        )
        .values(status=OrderStatus.PAYMENT_PENDING.value, updated_at=now)
    )
    return result.rowcount == 1


async def set_payment_result(
    conn: AsyncConnection,
    order_id: str,
    *,
    status: OrderStatus,
    now: datetime,
    payment_id: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
) -> None:
    await conn.execute(
        update(orders)
        .where(orders.c.order_id == order_id)
        .values(
            status=status.value,
            payment_id=payment_id,
            payment_outcome=outcome,
            payment_reason=reason,
            updated_at=now,
        )
    )


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
