"""payment_svc's store on a real SQLite database, migrated as the service migrates it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from payment_svc.app import MIGRATIONS
from payment_svc.domain import DeclineReason, DeclineRules, Latency, SimulationConfig
from payment_svc.store import SimulationStore
from pizza_common.db import make_engine, migrate

ENVIRONMENT = SimulationConfig(latency=Latency(0, 0), error_rate=0.0)
OUTAGE = SimulationConfig(latency=Latency(0, 0), error_rate=1.0)


async def test_the_simulation_store_keeps_one_row_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'payment_svc.db'}")
    try:
        await migrate(engine, MIGRATIONS)
        store = SimulationStore(engine)
        assert await store.load() is None
        assert await store.seed(ENVIRONMENT) is True
        assert await store.seed(OUTAGE) is False
        assert await store.load() == ENVIRONMENT

        custom = SimulationConfig(
            latency=Latency(5, 60_000),
            error_rate=0.125,
            hang=True,
            rules=DeclineRules(
                amount_limit=Decimal("9999999.99"),
                declined_cards={"4242424242424242": DeclineReason.INSUFFICIENT_FUNDS},
            ),
        )
        await store.save(custom)
        assert await store.load() == custom
    finally:
        await engine.dispose()
