"""Each service's own database: an async SQLAlchemy engine and Alembic migrations.

Migrations run at start-up inside the running event loop (Alembic is handed an open
connection), so a service never needs a separate migrate step.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, DateTime, Dialect, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from pizza_common.runtime._group_commit import GroupCommit
from pizza_common.runtime._sqlite import InlineConnection, connect_inline


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine on ``url``; SQLite's connections run on the event loop's thread
    (:mod:`pizza_common.runtime._sqlite`)."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, **kwargs)

    async def connect() -> InlineConnection:
        args, options = engine.dialect.create_connect_args(engine.url)
        return await connect_inline(*args, **options)

    engine = create_async_engine(url, async_creator=connect, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


WAL_SWITCH_ATTEMPTS = 100  # 5 s, like the busy timeout


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer. Switching a new file to WAL does not wait on
    # the busy timeout: instances opening it at the same moment retry here for a while
    # (once the file is in WAL this is a no-op).
    cursor = dbapi_connection.cursor()
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except Exception as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


MIGRATION_LOCK = 0x7069_7A7A_615F_6462  # PostgreSQL's advisory lock of the upgrade: "pizza_db"


async def migrate(engine: AsyncEngine, script_location: str) -> None:
    """Upgrade the database to the newest revision in ``script_location`` (``pkg:folder``)."""

    def upgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", script_location)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        # Instances of a service start together on one database: the first takes a lock for
        # the whole upgrade, the others wait for it and then find the tables there, instead
        # of all creating them at once (so no service needs to retry its migration).
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to busy_timeout
        elif connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await connection.run_sync(upgrade)


async def open_database(stack: AsyncExitStack, url: str, script_location: str) -> AsyncEngine:
    """A service's engine on ``url``, migrated, and disposed when ``stack`` closes
    (whatever fails after this, the app's lifespan leaks no connection)."""
    engine = make_engine(url)
    stack.push_async_callback(engine.dispose)
    await migrate(engine, script_location)
    return engine


class Pingable(Protocol):
    async def ping(self) -> None: ...


async def database_problem(store: Pingable | None) -> str | None:
    """A service's database readiness: why it is not ready (``store`` is None until the
    app has started), or None. It reports and never raises."""
    if store is None:
        return "not started"
    try:
        await store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said why
        return f"unreachable: {type(exc).__name__}"
    return None


Write = Callable[[AsyncConnection], Awaitable[Any]]
"""One caller's write: statements on the shared connection, inside its transaction."""


class SharedTransactions:
    """Writes submitted at the same time share one transaction of ``engine`` (a group
    commit, :class:`GroupCommit`): under load, a commit (and with aiosqlite, the crossings
    to its thread) per write is most of a write's cost. A batch that fails is run again
    one write at a time, so only a write that fails alone gets its error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._group: GroupCommit[Write, Any] = GroupCommit(self._run)

    @property
    def batches(self) -> int:
        """How many transactions ran so far."""
        return self._group.batches

    async def _run(self, writes: Sequence[Write]) -> list[Any]:
        async with self._engine.begin() as connection:
            return [await write(connection) for write in writes]

    async def write(self, write: Write) -> Any:
        """``write``'s result, once the transaction it shared is committed."""
        return await self._group.submit(write)
