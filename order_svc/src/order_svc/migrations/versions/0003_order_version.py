"""Orders get a version for compare-and-set changes of status, and an index that finds
unsettled orders by age (the recovery worker's query).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_orders_status_updated_at", "orders", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_updated_at", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("version")
