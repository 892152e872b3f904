"""orders, processed events, notifications

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("customer_name", sa.String(200)),
        sa.Column("phone", sa.String(50)),
        sa.Column("street", sa.String(200)),
        sa.Column("postal_code", sa.String(20)),
        sa.Column("city", sa.String(100)),
        sa.Column("instructions", sa.String(500)),
        sa.Column("pizza_count", sa.Integer),
        sa.Column("kitchen_instance", sa.String(64)),
        sa.Column("driver", sa.String(64)),
        _time("received_at"),
        _time("ready_at"),
        _time("driver_assigned_at"),
        _time("on_the_way_at"),
        _time("delivered_at"),
        _time("due_at"),
        _time("updated_at", nullable=False),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        _time("processed_at", nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message_de", sa.String(200), nullable=False),
        sa.Column("message_en", sa.String(200), nullable=False),
        _time("sent_at", nullable=False),
        sa.UniqueConstraint("order_id", "kind", name="uq_notifications_order_kind"),
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("processed_events")
    op.drop_index("ix_orders_status", "orders")
    op.drop_table("orders")
