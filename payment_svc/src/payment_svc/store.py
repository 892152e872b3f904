"""The service's database: the ledger (payments and their idempotency keys) and the shared
simulation's row.

A request first *claims* its key (an insert that only one request can win), then
records its payment and stored answer in one transaction, but only while it still holds
the claim. The unique key on ``payments.idempotency_key`` is the last guard: even a
request that took over a stale claim cannot charge a second time. A void closes the key
for good: a request still running under it records nothing.

What to do about a key already in the ledger is decided by the rules of
:mod:`payment_svc.domain` (:func:`~payment_svc.domain.claim_step`,
:func:`~payment_svc.domain.void_step`); this module reads and writes the rows.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_svc.domain import (
    VOIDABLE,
    Claimed,
    ClaimResult,
    ClaimStep,
    Completed,
    DeclineReason,
    DeclineRules,
    InProgress,
    KeyRecord,
    KeyRecordState,
    KeyReused,
    KeyState,
    KeyStatus,
    KeyVoided,
    Latency,
    Payment,
    PaymentStatus,
    SimulationConfig,
    StoredResponse,
    VoidStep,
    claim_step,
    key_status,
    void_step,
)
from payment_svc.tables import idempotency_keys, payments, simulation
from pizza_common.contracts import utc_now

PROCESSING = KeyRecordState.PROCESSING.value
COMPLETED = KeyRecordState.COMPLETED.value
VOIDED = KeyRecordState.VOIDED.value
# Enough for a key to change hands a few times between two of our own reads.
_CLAIM_ATTEMPTS = 5
# The simulation's one row.
SIMULATION_ROW_ID = 1


# The statements of every charge, built once (values bound at execution): building one
# per call cost more than running it.
_CLAIM_KEY = insert(idempotency_keys)
_COMPLETE_KEY = update(idempotency_keys).where(
    idempotency_keys.c.key == bindparam("b_key"),
    idempotency_keys.c.state == PROCESSING,
    idempotency_keys.c.claim_token == bindparam("b_claim_token"),
)
_ADD_PAYMENT = insert(payments)


class _ClaimLost(Exception):
    """Our claim on a key was taken over or voided meanwhile: roll back, record nothing."""


async def _key_row(connection: AsyncConnection, key: str) -> Any:
    """The idempotency key's row, or None."""
    query = select(idempotency_keys).where(idempotency_keys.c.key == key)
    return (await connection.execute(query)).one_or_none()


def _key_record(row: Any) -> KeyRecord:
    return KeyRecord(KeyRecordState(row.state), row.fingerprint, row.claimed_at)


async def _take_over(connection: AsyncConnection, row: Any, **values: Any) -> bool:
    """Compare-and-set on a stale claim: True if ``row``'s claim was still the one there."""
    taken = await connection.execute(
        update(idempotency_keys)
        .where(
            idempotency_keys.c.key == row.key,
            idempotency_keys.c.state == PROCESSING,
            idempotency_keys.c.claim_token == row.claim_token,
        )
        .values(**values)
    )
    return bool(taken.rowcount == 1)


def _stored(row: Any) -> StoredResponse:
    return StoredResponse(int(row.response_status), json.loads(row.response_body))


def _payment(row: Any) -> Payment:
    return Payment(
        payment_id=row.payment_id,
        order_id=row.order_id,
        status=PaymentStatus(row.status),
        reason=DeclineReason(row.reason) if row.reason else None,
        amount=Decimal(row.amount),
        currency=row.currency,
        card_last4=row.card_last4,
        created_at=row.created_at,
        voided_at=row.voided_at,
        void_reason=row.void_reason,
    )


class PaymentStore:
    """The ledger in a database (SQLite or PostgreSQL): payments and their idempotency keys."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def claim(
        self, key: str, fingerprint: str, *, now: datetime, stale_before: datetime
    ) -> ClaimResult:
        """Take ``key`` for this request, or say why not.

        A claim still ``processing`` since before ``stale_before`` was left by a request
        that died (a crash, a kill); it is taken over so the key is not stuck forever.
        """
        for _ in range(_CLAIM_ATTEMPTS):
            token = secrets.token_hex(16)
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        _CLAIM_KEY,
                        {
                            "key": key,
                            "fingerprint": fingerprint,
                            "state": PROCESSING,
                            "claim_token": token,
                            "claimed_at": now,
                        },
                    )
                return Claimed(key, token)
            except IntegrityError:
                pass
            async with self._engine.begin() as connection:
                row = await _key_row(connection, key)
                if row is None:  # released between our insert and this read: try again
                    continue
                match claim_step(_key_record(row), fingerprint, stale_before=stale_before):
                    case ClaimStep.REFUSE_VOIDED:
                        return KeyVoided()
                    case ClaimStep.REFUSE_REUSED:
                        return KeyReused()
                    case ClaimStep.REPLAY:
                        return Completed(_stored(row))
                    case ClaimStep.WAIT:
                        return InProgress()
                    case ClaimStep.TAKE_OVER:
                        if await _take_over(connection, row, claim_token=token, claimed_at=now):
                            return Claimed(key, token)
        return InProgress()

    async def release(self, claim: Claimed) -> None:
        """Give the key up without an answer (nothing was charged), so a retry may proceed."""
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.key == claim.key,
                    idempotency_keys.c.state == PROCESSING,
                    idempotency_keys.c.claim_token == claim.token,
                )
            )

    async def record(
        self, claim: Claimed, payment: Payment, response: StoredResponse
    ) -> StoredResponse | KeyVoided:
        """Write the payment and the answer for its key at once; return the answer to give.

        Only while this request still holds its claim: if the key was completed meanwhile
        by a request that took over our claim, that request's answer is returned; if it
        was voided, nothing is written and :class:`KeyVoided` says so.
        """
        try:
            async with self._engine.begin() as connection:
                held = await connection.execute(
                    _COMPLETE_KEY,
                    {
                        "b_key": claim.key,
                        "b_claim_token": claim.token,
                        "state": COMPLETED,
                        "response_status": response.status_code,
                        "response_body": json.dumps(response.body),
                        "payment_id": payment.payment_id,
                    },
                )
                if held.rowcount != 1:
                    raise _ClaimLost
                await connection.execute(
                    _ADD_PAYMENT,
                    {
                        "payment_id": payment.payment_id,
                        "idempotency_key": claim.key,
                        "order_id": payment.order_id,
                        "status": payment.status.value,
                        "reason": payment.reason.value if payment.reason else None,
                        "amount": payment.amount,
                        "currency": payment.currency,
                        "card_last4": payment.card_last4,
                        "created_at": payment.created_at,
                    },
                )
            return response
        except (IntegrityError, _ClaimLost):
            async with self._engine.connect() as connection:
                row = await _key_row(connection, claim.key)
            if row is not None and row.state == VOIDED:
                return KeyVoided()
            if row is not None and row.state == COMPLETED:
                return _stored(row)
            raise

    async def payment(self, payment_id: str) -> Payment | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(payments).where(payments.c.payment_id == payment_id)
                )
            ).one_or_none()
        return _payment(row) if row is not None else None

    async def key_status(self, key: str) -> KeyStatus:
        """The state of ``key`` and its payment, as a caller reconciling an order asks it."""
        async with self._engine.connect() as connection:
            return await self._key_status(connection, key)

    async def _key_status(self, connection: AsyncConnection, key: str) -> KeyStatus:
        row = await _key_row(connection, key)
        if row is None:
            return key_status(key, None, None)
        state = KeyRecordState(row.state)
        if state is KeyRecordState.PROCESSING:  # no payment yet
            return key_status(key, state, None)
        found = (
            await connection.execute(select(payments).where(payments.c.idempotency_key == key))
        ).one_or_none()
        return key_status(key, state, _payment(found) if found is not None else None)

    async def void(
        self, key: str, reason: str, *, now: datetime, stale_before: datetime
    ) -> KeyStatus | InProgress:
        """Void what ``key`` charged, or close it if it charged nothing; idempotent.

        An approved payment becomes ``voided``; a declined one stays as it is (nothing was
        charged). A key never used is closed: a later request under it charges nothing.
        A key a request holds right now cannot be voided yet (:class:`InProgress`), unless
        the claim is older than ``stale_before`` (left by a request that died).
        """
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        insert(idempotency_keys).values(
                            key=key,
                            fingerprint="",
                            state=VOIDED,
                            claim_token=secrets.token_hex(16),
                            claimed_at=now,
                        )
                    )
                return KeyStatus(key, KeyState.VOIDED)
            except IntegrityError:
                pass
            async with self._engine.begin() as connection:
                row = await _key_row(connection, key)
                if row is None:  # released between our insert and this read: try again
                    continue
                match void_step(_key_record(row), stale_before=stale_before):
                    case VoidStep.WAIT:
                        return InProgress()
                    case VoidStep.CLOSE:
                        if not await _take_over(connection, row, state=VOIDED, claimed_at=now):
                            continue
                    case VoidStep.TAKE_BACK:
                        voided = await connection.execute(
                            update(payments)
                            .where(
                                payments.c.idempotency_key == key,
                                payments.c.status == VOIDABLE.value,
                            )
                            .values(
                                status=PaymentStatus.VOIDED.value,
                                voided_at=now,
                                void_reason=reason,
                            )
                        )
                        if voided.rowcount == 1:
                            await connection.execute(
                                update(idempotency_keys)
                                .where(idempotency_keys.c.key == key)
                                .values(state=VOIDED)
                            )
                    case VoidStep.NOTHING:
                        pass
                return await self._key_status(connection, key)
        return InProgress()


def _simulation_values(config: SimulationConfig) -> dict[str, Any]:
    return {
        "latency_min_ms": config.latency.min_ms,
        "latency_max_ms": config.latency.max_ms,
        "error_rate": config.error_rate,
        "hang": config.hang,
        "amount_limit": config.rules.amount_limit,
        "declined_cards": json.dumps(
            {card: reason.value for card, reason in config.rules.declined_cards.items()}
        ),
        "updated_at": utc_now(),
    }


def _simulation_config(row: Any) -> SimulationConfig:
    cards = json.loads(row.declined_cards)
    return SimulationConfig(
        latency=Latency(int(row.latency_min_ms), int(row.latency_max_ms)),
        error_rate=float(row.error_rate),
        hang=bool(row.hang),
        rules=DeclineRules(
            amount_limit=Decimal(row.amount_limit),
            declined_cards={card: DeclineReason(reason) for card, reason in cards.items()},
        ),
    )


class SimulationStore:
    """The simulation's row in payment's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> SimulationConfig | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(simulation).where(simulation.c.id == SIMULATION_ROW_ID)
                )
            ).one_or_none()
        return _simulation_config(row) if row is not None else None

    async def seed(self, config: SimulationConfig) -> bool:
        """Store ``config`` if there is no simulation yet; False if there was one."""
        try:
            async with self._engine.begin() as connection:
                await self._insert(connection, config)
        except IntegrityError:  # there was one, or another instance seeded it just now
            return False
        return True

    async def save(self, config: SimulationConfig) -> None:
        async with self._engine.begin() as connection:
            replaced = await connection.execute(
                update(simulation)
                .where(simulation.c.id == SIMULATION_ROW_ID)
                .values(**_simulation_values(config))
            )
            if replaced.rowcount == 0:  # only if the row was deleted by hand
                await self._insert(connection, config)

    @staticmethod
    async def _insert(connection: AsyncConnection, config: SimulationConfig) -> None:
        await connection.execute(
            insert(simulation).values(id=SIMULATION_ROW_ID, **_simulation_values(config))
        )
