"""Several payment instances on one SQLite file: they start together (each migrates) and
write at the same time, as separate processes, without "database is locked" or a table
created twice."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from payment_svc.app import MIGRATIONS

PROCESSES = 3
WRITES = 50

# One instance: migrate the shared file, then insert WRITES rows, one transaction each.
INSTANCE = """
import asyncio, sys, time
from sqlalchemy import text
from pizza_common.runtime import make_engine, migrate

async def main(path: str, name: str, writes: int) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    time.sleep(max(0.0, float(sys.argv[5]) - time.time()))  # all migrate at the same moment
    await migrate(engine, sys.argv[4])
    async with engine.begin() as db:
        await db.execute(text("CREATE TABLE IF NOT EXISTS probe (writer TEXT, n INTEGER)"))
    for n in range(writes):
        async with engine.begin() as db:
            await db.execute(text("INSERT INTO probe VALUES (:w, :n)"), {"w": name, "n": n})
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def test_instances_migrate_and_write_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "payment_svc.db"
    start_at = str(time.time() + 5)  # time enough for every interpreter to import
    started = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE, str(path), f"w{i}", str(WRITES), MIGRATIONS, start_at],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    for process in started:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
    with sqlite3.connect(path) as db:
        [(rows,)] = db.execute("SELECT count(*) FROM probe").fetchall()
        [(versions,)] = db.execute("SELECT count(*) FROM alembic_version").fetchall()
    assert rows == PROCESSES * WRITES
    assert versions == 1
