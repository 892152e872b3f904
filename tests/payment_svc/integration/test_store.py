"""payment_svc's store on a real SQLite database, migrated as the service migrates it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_svc.app import MIGRATIONS
from payment_svc.domain import (
    APPROVED,
    Claimed,
    Completed,
    DeclineReason,
    DeclineRules,
    InProgress,
    KeyReused,
    KeyState,
    KeyVoided,
    Latency,
    Payment,
    PaymentRequest,
    PaymentStatus,
    SimulationConfig,
    StoredResponse,
)
from payment_svc.store import PaymentStore, SimulationStore
from pizza_common.runtime import make_engine, migrate
from pizza_common.testing import migrated_sqlite

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


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STALE_BEFORE = NOW - timedelta(seconds=120)
REQUEST = PaymentRequest(
    "5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11", Decimal("49.00"), "CHF", "4242424242424242"
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite(tmp_path / "payment_svc.db", MIGRATIONS) as engine:
        yield engine


async def _claim(store: PaymentStore, key: str, *, now: datetime = NOW) -> Claimed:
    claim = await store.claim(key, REQUEST.fingerprint(), now=now, stale_before=STALE_BEFORE)
    assert isinstance(claim, Claimed)
    return claim


async def _charge(store: PaymentStore, claim: Claimed, payment_id: str) -> StoredResponse:
    payment = Payment.decided(payment_id, REQUEST, APPROVED, at=NOW)
    response = StoredResponse(201, {"payment_id": payment_id})
    answer = await store.record(claim, payment, response)
    assert answer == response
    return response


async def test_a_recorded_key_replays_and_stays_bound_to_its_request(engine: AsyncEngine) -> None:
    store = PaymentStore(engine)
    response = await _charge(store, await _claim(store, "k"), "pay_1")

    again = await store.claim("k", REQUEST.fingerprint(), now=NOW, stale_before=STALE_BEFORE)
    assert again == Completed(response)
    other = await store.claim("k", "another", now=NOW, stale_before=STALE_BEFORE)
    assert other == KeyReused()
    status = await store.key_status("k")
    assert status.state is KeyState.APPROVED
    assert status.payment is not None
    assert (status.payment.payment_id, status.payment.card_last4) == ("pay_1", "4242")


async def test_a_live_claim_waits_and_a_stale_one_is_taken_over(engine: AsyncEngine) -> None:
    store = PaymentStore(engine)
    fresh = await _claim(store, "live", now=NOW)
    assert (
        await store.claim("live", REQUEST.fingerprint(), now=NOW, stale_before=STALE_BEFORE)
        == InProgress()
    )
    assert (await store.key_status("live")).state is KeyState.IN_PROGRESS

    dead = await _claim(store, "dead", now=STALE_BEFORE - timedelta(seconds=1))
    taken = await _claim(store, "dead")
    assert taken.token != dead.token
    taker = await _charge(store, taken, "pay_taker")
    # Had the first request lived on, it records nothing and gives the taker's answer.
    late = Payment.decided("pay_late", REQUEST, APPROVED, at=NOW)
    assert await store.record(dead, late, StoredResponse(201, {})) == taker
    assert await store.payment("pay_late") is None
    assert fresh.token != taken.token


async def test_a_void_takes_the_charge_back_and_closes_the_key(engine: AsyncEngine) -> None:
    store = PaymentStore(engine)
    await _charge(store, await _claim(store, "k"), "pay_1")

    voided = await store.void("k", "payment_unconfirmed", now=NOW, stale_before=STALE_BEFORE)
    assert not isinstance(voided, InProgress)
    assert voided.state is KeyState.VOIDED
    assert voided.payment is not None
    assert voided.payment.status is PaymentStatus.VOIDED
    assert voided.payment.void_reason == "payment_unconfirmed"
    assert voided.payment.voided_at == NOW
    again = await store.void("k", "other", now=NOW, stale_before=STALE_BEFORE)
    assert again == voided  # idempotent: the first reason stays
    refused = await store.claim("k", REQUEST.fingerprint(), now=NOW, stale_before=STALE_BEFORE)
    assert refused == KeyVoided()


async def test_a_void_closes_an_unused_key_and_waits_for_a_live_claim(engine: AsyncEngine) -> None:
    store = PaymentStore(engine)
    closed = await store.void("unused", "payment_unconfirmed", now=NOW, stale_before=STALE_BEFORE)
    assert not isinstance(closed, InProgress)
    assert (closed.state, closed.payment) == (KeyState.VOIDED, None)
    refused = await store.claim("unused", REQUEST.fingerprint(), now=NOW, stale_before=STALE_BEFORE)
    assert refused == KeyVoided()

    claim = await _claim(store, "held")
    assert await store.void("held", "x", now=NOW, stale_before=STALE_BEFORE) == InProgress()
    later = NOW + timedelta(hours=1)
    taken = await store.void("held", "x", now=later, stale_before=later - timedelta(seconds=120))
    assert not isinstance(taken, InProgress)
    assert taken.state is KeyState.VOIDED
    payment = Payment.decided("pay_late", REQUEST, APPROVED, at=NOW)
    assert await store.record(claim, payment, StoredResponse(201, {})) == KeyVoided()
