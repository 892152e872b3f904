from delivery_svc.tables import metadata
from pizza_common.runtime import run_migrations

run_migrations(metadata)
