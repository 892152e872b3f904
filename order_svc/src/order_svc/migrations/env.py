"""Alembic environment of order_svc (see pizza_common.migrations_env)."""

from order_svc.tables import metadata
from pizza_common.migrations_env import run_migrations

run_migrations(metadata)
