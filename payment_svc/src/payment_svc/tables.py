"""The service's tables: every payment decided, the idempotency key each came with, and the
simulation in force.

A payment's ``status`` is ``approved`` while it is a live charge, ``declined`` (nothing
charged) or ``voided`` (approved, then taken back; ``voided_at`` and ``void_reason`` say
when and why). So "every live charge" is ``WHERE status = 'approved'``.

The Alembic migrations in ``migrations/`` create these; this metadata is what the
store queries and what autogenerate compares against.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

from pizza_common.runtime import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(40), primary_key=True),
    # Unique: whatever races happen, one key never charges twice.
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("order_id", String(36), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("reason", String(32), nullable=True),
    Column("amount", Numeric(9, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    # Never the whole card number: the last four digits are enough to recognise it.
    Column("card_last4", String(4), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("voided_at", UtcDateTime(), nullable=True),
    Column("void_reason", String(64), nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    # "processing" while a request holds the key, "completed" once its answer is stored,
    # "voided" once its charge was voided or the key closed before any charge: no request
    # charges under a voided key, ever (a void with no payment stores an empty fingerprint).
    Column("state", String(16), nullable=False),
    Column("claim_token", String(32), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("payment_id", String(40), nullable=True),
)

# The simulation every instance applies: one row (id 1), written by PUT /admin/simulation,
# or by the first start from the PAYMENT_* environment (see payment_svc.shared_simulation
# and payment_svc.store.SimulationStore).
simulation = Table(
    "simulation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("latency_min_ms", Integer, nullable=False),
    Column("latency_max_ms", Integer, nullable=False),
    Column("error_rate", Float, nullable=False),
    Column("hang", Boolean, nullable=False),
    Column("amount_limit", Numeric(9, 2), nullable=False),
    # Card number -> decline reason, as a JSON object.
    Column("declined_cards", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)
