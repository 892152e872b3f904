"""SQLite's statements run on the event loop's thread; only a wait for another
connection's lock moves to a worker thread, and the loop keeps running meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from pizza_common.runtime import _sqlite, make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE items (name TEXT PRIMARY KEY)"))
    yield engine
    await engine.dispose()


def _holding_the_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection (as another instance would be) in a write transaction."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO items VALUES ('holder')")
    return holder


async def test_statements_run_on_the_loops_thread(engine: AsyncEngine) -> None:
    threads: list[int] = []

    def thread_id() -> int:
        threads.append(threading.get_ident())
        return threads[-1]

    @event.listens_for(engine.sync_engine, "connect")
    def _record_thread(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.create_function("thread_id", 0, thread_id)  # type: ignore[attr-defined]

    await engine.dispose()  # new connections, with the function
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items VALUES ('a')"))
        await connection.execute(text("SELECT thread_id()"))
    assert threads == [threading.get_ident()]


async def test_a_locked_database_is_waited_for_off_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    holder = _holding_the_write_lock(tmp_path / "inline.db")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    asyncio.get_running_loop().call_later(0.3, holder.commit)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO items VALUES ('waited')"))
    finally:
        ticker.cancel()
        holder.close()
    # The loop ran while the write waited for the lock: it was not blocked in SQLite.
    assert ticks >= 10
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM items ORDER BY name"))).all()
    assert [name for (name,) in names] == ["holder", "waited"]


async def test_a_lock_held_past_the_busy_timeout_fails_the_statement(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_MS", 100)
    holder = _holding_the_write_lock(tmp_path / "inline.db")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO items VALUES ('late')"))
    finally:
        holder.rollback()
        holder.close()
    # The connection is usable again, with the loop's busy timeout of 0 restored.
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items VALUES ('later')"))
        timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    assert timeout == 0


async def test_other_errors_are_raised_at_once(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items VALUES ('x')"))
    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO items VALUES ('x')"))
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM missing"))


async def test_a_cancelled_wait_ends_with_its_statement(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_MS", 300)
    holder = _holding_the_write_lock(tmp_path / "inline.db")

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO items VALUES ('cancelled')"))

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.05)  # waiting for the lock, in its thread
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    holder.rollback()
    holder.close()
    # Its connection went back to the pool in one piece: the next write succeeds.
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items VALUES ('next')"))
        names = (await connection.execute(text("SELECT name FROM items"))).all()
    assert names == [("next",)]
