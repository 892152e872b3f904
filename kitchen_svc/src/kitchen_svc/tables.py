"""The kitchen's database: one ticket per order, saying what was cooked, where and when."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from pizza_common.runtime import UtcDateTime

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("placed_event_id", String(36), nullable=False),
    # cooking → ready (order.ready built) → published (its transaction committed)
    Column("status", String(16), nullable=False),
    Column("instance", String(64), nullable=False),
    Column("pizza_count", Integer, nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", Integer, nullable=False),
    Column("cook_started_at", UtcDateTime(), nullable=False),
    Column("ready_at", UtcDateTime()),
    Column("ready_event_id", String(36)),
    Column("published_at", UtcDateTime()),
)
