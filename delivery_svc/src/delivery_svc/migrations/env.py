from delivery_svc.tables import metadata
from pizza_common.migrations_env import run_migrations

run_migrations(metadata)
