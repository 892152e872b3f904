"""The simulation as the service's shared state: one row that every instance applies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("latency_min_ms", sa.Integer(), nullable=False),
        sa.Column("latency_max_ms", sa.Integer(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("hang", sa.Boolean(), nullable=False),
        sa.Column("amount_limit", sa.Numeric(9, 2), nullable=False),
        sa.Column("declined_cards", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_simulation"),
        sa.CheckConstraint("id = 1", name="ck_simulation_one_row"),
    )


def downgrade() -> None:
    op.drop_table("simulation")
