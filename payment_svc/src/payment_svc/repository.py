"""The ledger in a database: claiming idempotency keys, recording payments, reading them.

A request first *claims* its key (an insert that only one request can win), then
records its payment and stored answer in one transaction. The unique key on
``payments.idempotency_key`` is the last guard: even a request that took over a
stale claim cannot charge a second time.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_svc.domain import DeclineReason, PaymentStatus
from payment_svc.ledger import idempotency_keys, payments

PROCESSING = "processing"
COMPLETED = "completed"
# Enough for a key to change hands a few times between two of our own reads.
_CLAIM_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Payment:
    """One row of the ledger."""

    payment_id: str
    order_id: str
    status: PaymentStatus
    reason: DeclineReason | None
    amount: Decimal
    currency: str
    card_last4: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer given the first time a key was used, to give again on a retry."""

    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    key: str
    token: str


@dataclass(frozen=True, slots=True)
class Completed:
    response: StoredResponse


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request holds the key right now."""


@dataclass(frozen=True, slots=True)
class KeyReused:
    """The key was first used for a different request."""


ClaimResult = Claimed | Completed | InProgress | KeyReused


def _stored(row: Any) -> StoredResponse:
    return StoredResponse(int(row.response_status), json.loads(row.response_body))


class LedgerRepository:
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
                        insert(idempotency_keys).values(
                            key=key,
                            fingerprint=fingerprint,
                            state=PROCESSING,
                            claim_token=token,
                            claimed_at=now,
                        )
                    )
                return Claimed(key, token)
            except IntegrityError:
                pass
            async with self._engine.begin() as connection:
                row = (
                    await connection.execute(
                        select(idempotency_keys).where(idempotency_keys.c.key == key)
                    )
                ).one_or_none()
                if row is None:  # released between our insert and this read: try again
                    continue
                if row.fingerprint != fingerprint:
                    return KeyReused()
                if row.state == COMPLETED:
                    return Completed(_stored(row))
                if row.claimed_at >= stale_before:
                    return InProgress()
                taken = await connection.execute(
                    update(idempotency_keys)
                    .where(
                        idempotency_keys.c.key == key,
                        idempotency_keys.c.state == PROCESSING,
                        idempotency_keys.c.claim_token == row.claim_token,
                    )
                    .values(claim_token=token, claimed_at=now)
                )
                if taken.rowcount == 1:
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
    ) -> StoredResponse:
        """Write the payment and the answer for its key at once; return the answer to give.

        If the key was completed meanwhile by a request that took over our claim, that
        request's answer is returned and nothing more is written.
        """
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    insert(payments).values(
                        payment_id=payment.payment_id,
                        idempotency_key=claim.key,
                        order_id=payment.order_id,
                        status=payment.status.value,
                        reason=payment.reason.value if payment.reason else None,
                        amount=payment.amount,
                        currency=payment.currency,
                        card_last4=payment.card_last4,
                        created_at=payment.created_at,
                    )
                )
                await connection.execute(
                    update(idempotency_keys)
                    .where(idempotency_keys.c.key == claim.key)
                    .values(
                        state=COMPLETED,
                        response_status=response.status_code,
                        response_body=json.dumps(response.body),
                        payment_id=payment.payment_id,
                    )
                )
            return response
        except IntegrityError:
            async with self._engine.connect() as connection:
                winner = await self._completed(connection, claim.key)
            if winner is None:
                raise
            return winner

    async def _completed(self, connection: AsyncConnection, key: str) -> StoredResponse | None:
        row = (
            await connection.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.key == key, idempotency_keys.c.state == COMPLETED
                )
            )
        ).one_or_none()
        return _stored(row) if row is not None else None

    async def payment(self, payment_id: str) -> Payment | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(payments).where(payments.c.payment_id == payment_id)
                )
            ).one_or_none()
        if row is None:
            return None
        return Payment(
            payment_id=row.payment_id,
            order_id=row.order_id,
            status=PaymentStatus(row.status),
            reason=DeclineReason(row.reason) if row.reason else None,
            amount=Decimal(row.amount),
            currency=row.currency,
            card_last4=row.card_last4,
            created_at=row.created_at,
        )
