"""SQLite for the async engine without a thread per connection.

aiosqlite runs each call (a cursor, a statement, its rows, a commit, the pool's reset)
in a thread of its own and wakes the event loop for each answer. A service's write is
ten or more such crossings, each waiting for the loop and the GIL: at one order at a
time they were most of a write's 2.5 ms, under load more. SQLite itself answers these
calls in microseconds, so this connection runs them on the loop's thread, with the
interface SQLAlchemy's aiosqlite dialect drives (its exceptions, pool and dialect stay).

Only a wait moves off the loop: the connection's busy timeout is 0, and a statement
that finds the database locked by another process (instances sharing a file) is run
again in a worker thread with the full busy timeout, so the loop never sleeps in
SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's lock (off the loop)."""

_T = TypeVar("_T")


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    # The primary code: SQLITE_BUSY_RECOVERY and the like are a lock held as well.
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class InlineCursor:
    """An aiosqlite-like cursor over a :class:`sqlite3.Cursor`."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._connection.call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        # A statement that failed on a lock did nothing, so it can run again: keep the rows.
        rows = list(parameters)
        await self._connection.call(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """An aiosqlite-like connection whose calls run on the caller's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # SQLAlchemy's dialect reads this to know whether the connection is still open.
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    async def call(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` at once; if the database is locked, again in a thread,
        waiting up to :data:`BUSY_TIMEOUT_MS` for the lock."""
        try:
            return function(*args)
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
        waiting = asyncio.ensure_future(asyncio.to_thread(self._waiting, function, *args))
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # Not before the statement ends (at most the busy timeout): a rollback or close
            # on the loop's thread meanwhile would wait for it while holding the loop.
            await asyncio.wait([waiting])
            if not waiting.cancelled():
                waiting.exception()  # its outcome is moot: the caller was cancelled
            raise

    def _waiting(self, function: Callable[..., _T], *args: Any) -> _T:
        connection = self._open()
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            return function(*args)
        finally:
            connection.execute("PRAGMA busy_timeout=0")

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._open().cursor())

    async def commit(self) -> None:
        await self.call(self._open().commit)

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Close at once (the pool's forced close)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def connect_inline(database: str, **kwargs: Any) -> InlineConnection:
    """Open ``database`` as :func:`sqlite3.connect` does, with a busy timeout of 0."""
    kwargs["check_same_thread"] = False  # a locked statement waits in a worker thread
    connection = sqlite3.connect(database, timeout=0, **kwargs)
    return InlineConnection(connection)
