"""order_svc's own tables: orders and the transactional outbox."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

from pizza_common.runtime import UtcDateTime

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(36), primary_key=True),
    # The client's Idempotency-Key; a retry with it finds this order instead of a new one.
    Column("idempotency_key", String(128), unique=True, nullable=True),
    Column("request_fingerprint", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("customer", JSON, nullable=False),
    Column("delivery_address", JSON, nullable=False),
    Column("items", JSON, nullable=False),
    Column("total", Numeric(9, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_last4", String(4), nullable=False),  # never the whole card number
    Column("payment_id", String(64), nullable=True),
    Column("payment_outcome", String(16), nullable=True),
    Column("payment_reason", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Bumped by every change of status: a change applies only to the version it was
    # decided on, so a request and the recovery worker never both settle one order.
    Column("version", Integer, nullable=False, server_default="0"),
    # SHA-256 (hex) of the customer's tracking token; the token itself is never stored.
    Column("tracking_token_sha256", String(64), nullable=True),
    Index("ix_orders_status_updated_at", "status", "updated_at"),
)

# Written in the same transaction as the order it belongs to; the relay publishes
# what has no published_at yet. The payload is the event in Avro's JSON encoding.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), unique=True, nullable=False),
    Column("topic", String(100), nullable=False),
    Column("message_key", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    # W3C trace context of the request that placed the order, as JSON headers: the
    # relay's publish span continues that trace.
    Column("trace_context", Text, nullable=True),
    Index("ix_outbox_pending", "published_at", "id"),
)
