"""Alembic environment of order_svc (see pizza_common.runtime.run_migrations)."""

from order_svc.tables import metadata
from pizza_common.runtime import run_migrations

run_migrations(metadata)
