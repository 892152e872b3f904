"""delivery_svc's database: each order's way to the door, the events already applied,
and the notifications sent (at most one per order and step)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, UniqueConstraint

from pizza_common.runtime import UtcDateTime

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("status", String(20), nullable=False, index=True),
    Column("customer_name", String(200)),
    Column("phone", String(50)),
    Column("street", String(200)),
    Column("postal_code", String(20)),
    Column("city", String(100)),
    Column("instructions", String(500)),
    Column("pizza_count", Integer),
    Column("kitchen_instance", String(64)),
    Column("driver", String(64)),
    Column("received_at", UtcDateTime()),
    Column("ready_at", UtcDateTime()),
    Column("driver_assigned_at", UtcDateTime()),
    Column("on_the_way_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("due_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    # W3C trace context of the last event applied: the fleet's later steps (driver
    # assigned, on the way, delivered) join the order's trace from it.
    Column("trace_context", Text),
    # SHA-256 (hex) of the customer's tracking token, from order.placed: a customer's read
    # is checked against it.
    Column("tracking_token_sha256", String(64)),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("topic", String(100), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("message_de", String(200), nullable=False),
    Column("message_en", String(200), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    UniqueConstraint("order_id", "kind", name="uq_notifications_order_kind"),
)
