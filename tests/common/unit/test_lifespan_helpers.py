"""The pieces every service's Runtime is built from: its database opened and closed with
the app, readiness that reports and never raises, essential tasks stopped together."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import inspect

from pizza_common.kafka import consumer_problem
from pizza_common.runtime import database_problem, make_engine, open_database, stop_tasks


class Store:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def ping(self) -> None:
        if self.error is not None:
            raise self.error


async def test_database_readiness_says_why_and_never_raises() -> None:
    assert await database_problem(None) == "not started"
    assert await database_problem(Store()) is None
    assert await database_problem(Store(OSError("gone"))) == "unreachable: OSError"
    assert await database_problem(Store(RuntimeError())) == "unreachable: RuntimeError"


def test_consumer_readiness_before_start() -> None:
    assert consumer_problem(None) == "consumer not started"


async def test_the_database_is_migrated_and_closed_with_the_app(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kitchen.db'}"
    async with AsyncExitStack() as stack:
        engine = await open_database(stack, url, "kitchen_svc:migrations")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "tickets" in tables
    # Disposed with the stack: a new engine still finds the migrated file.
    again = make_engine(url)
    async with again.connect() as connection:
        assert "tickets" in await connection.run_sync(lambda c: inspect(c).get_table_names())
    await again.dispose()


async def test_a_failed_start_still_closes_what_it_opened(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(Exception, match="No module named"):
        async with AsyncExitStack() as stack:
            await open_database(stack, url, "no_such_package:migrations")


async def test_stopping_waits_for_every_task_and_keeps_going_past_errors() -> None:
    stopping = asyncio.Event()
    finished: list[str] = []

    async def worker(name: str) -> None:
        await stopping.wait()
        finished.append(name)

    async def failing() -> None:
        await stopping.wait()
        raise RuntimeError("broke while stopping")

    tasks = [asyncio.create_task(worker("a")), asyncio.create_task(failing())]
    tasks.append(asyncio.create_task(worker("b")))
    await stop_tasks(stopping, tasks)
    assert stopping.is_set()
    assert sorted(finished) == ["a", "b"]
    assert all(task.done() for task in tasks)
