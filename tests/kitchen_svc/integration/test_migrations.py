"""Kitchen instances share one database and start together: each migrates it at start-up,
at the same moment, and all of them succeed (``migrate`` lets one upgrade at a time, so
the service needs no retry of its own)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect

from kitchen_svc.app import MIGRATIONS
from pizza_common.runtime import make_engine, migrate
from tests.postgres import PostgresServer

INSTANCES = 4


async def _migrate_at_once(url: str) -> set[str]:
    engines = [make_engine(url) for _ in range(INSTANCES)]
    try:
        await asyncio.gather(*(migrate(engine, MIGRATIONS) for engine in engines))
        async with engines[0].connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        for engine in engines:
            await engine.dispose()


async def test_instances_migrate_one_sqlite_file_at_once(tmp_path: Path) -> None:
    tables = await _migrate_at_once(f"sqlite+aiosqlite:///{tmp_path / 'kitchen.db'}")
    assert {"alembic_version", "tickets"} <= tables


async def test_instances_migrate_one_postgres_database_at_once(postgres: PostgresServer) -> None:
    tables = await _migrate_at_once(postgres.create_database("kitchen_migrate_at_once"))
    assert {"alembic_version", "tickets"} <= tables
