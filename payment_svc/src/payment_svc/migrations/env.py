"""Alembic environment of payment_svc: migrations run on the connection the service hands over."""

from payment_svc.tables import metadata
from pizza_common.runtime import run_migrations

run_migrations(metadata)
