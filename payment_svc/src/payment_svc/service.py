"""The use cases of payment_svc: taking a payment (the simulation, the idempotency key and
the ledger, in that order), looking payments and keys up, and voiding a key.

Every use case takes domain values and returns one; the HTTP layer turns it into a
response.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from payment_svc.domain import (
    Claimed,
    Completed,
    Hang,
    InProgress,
    KeyReused,
    KeyStatus,
    KeyVoided,
    Outage,
    Payment,
    PaymentRequest,
    RandomSource,
    SimulationConfig,
    StoredResponse,
    decide,
    format_amount,
    simulate,
)
from payment_svc.metrics import PAYMENTS, SIMULATED_HANGS, SIMULATED_OUTAGES, VOIDS
from payment_svc.shared_simulation import SharedSimulation
from payment_svc.store import PaymentStore
from pizza_common.contracts import utc_now

log = structlog.get_logger(__name__)

CREATED = 201

# How a payment is shown to the client that asked for it (the API's view): stored with its
# key as the first answer, and given again as it was on every retry.
AnswerBody = Callable[[Payment], Mapping[str, Any]]


def new_payment_id() -> str:
    return f"pay_{secrets.token_hex(12)}"


@dataclass(frozen=True, slots=True)
class Charged:
    """A new payment was decided (approved or declined) and recorded."""

    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Replayed:
    """The key was used before for the same request: its first answer, again."""

    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Simulated outage: nothing was charged."""


@dataclass(frozen=True, slots=True)
class Hanging:
    """Simulated hang: the caller must not answer at all."""


PayResult = Charged | Replayed | Unavailable | Hanging | InProgress | KeyReused | KeyVoided


class PaymentService:
    def __init__(
        self,
        store: PaymentStore,
        simulation: SharedSimulation,
        rng: RandomSource,
        *,
        stale_claim: timedelta,
        answer_body: AnswerBody,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._simulation = simulation
        self._rng = rng
        self._stale_claim = stale_claim
        self._answer_body = answer_body
        self._clock = clock
        self._sleep = sleep

    async def pay(self, key: str, request: PaymentRequest) -> PayResult:
        # Replaced whole, never changed in place: this request sees one consistent config.
        config = await self._simulation.current()
        outcome = simulate(config, self._rng)
        if isinstance(outcome, Hang):
            log.warning("simulated hang: the request will not be answered")
            SIMULATED_HANGS.inc()
            return Hanging()
        if isinstance(outcome, Outage):
            await self._sleep(outcome.delay_s)
            log.warning("simulated outage: answering 503, nothing charged")
            SIMULATED_OUTAGES.inc()
            return Unavailable()

        now = self._clock()
        claim = await self._store.claim(
            key, request.fingerprint(), now=now, stale_before=now - self._stale_claim
        )
        if isinstance(claim, Completed):
            log.info("idempotent replay", idempotency_key=key)
            return Replayed(claim.response)
        if not isinstance(claim, Claimed):
            log.info("idempotency key refused", idempotency_key=key, why=type(claim).__name__)
            return claim
        try:
            await self._sleep(outcome.delay_s)
            return await self._charge(claim, request, config)
        except BaseException:
            # Nothing was recorded: free the key so that a retry is not refused.
            await asyncio.shield(self._store.release(claim))
            raise

    async def _charge(
        self, claim: Claimed, request: PaymentRequest, config: SimulationConfig
    ) -> PayResult:
        decision = decide(request, config.rules)
        payment = Payment.decided(new_payment_id(), request, decision, at=self._clock())
        response = StoredResponse(CREATED, dict(self._answer_body(payment)))
        answer = await self._store.record(claim, payment, response)
        if isinstance(answer, KeyVoided):
            log.warning("the key was voided while this request ran: nothing charged")
            return answer
        if answer is not response:
            return Replayed(answer)
        PAYMENTS.labels(decision.status.value, decision.reason or "none").inc()
        with structlog.contextvars.bound_contextvars(payment_id=payment.payment_id):
            log.info(
                "payment decided",
                status=decision.status.value,
                reason=decision.reason.value if decision.reason else None,
                amount=format_amount(payment.amount),
                currency=payment.currency,
                card_last4=payment.card_last4,
            )
        return Charged(response)

    async def payment(self, payment_id: str) -> Payment | None:
        return await self._store.payment(payment_id)

    async def key_status(self, key: str) -> KeyStatus:
        return await self._store.key_status(key)

    async def void(self, key: str, reason: str) -> KeyStatus | InProgress:
        """Take back what ``key`` charged, or make sure it never charges; idempotent."""
        now = self._clock()
        result = await self._store.void(key, reason, now=now, stale_before=now - self._stale_claim)
        if isinstance(result, KeyStatus):
            payment = result.payment
            VOIDS.labels(result.state.value, "yes" if payment is not None else "no").inc()
            log.info(
                "payment key voided",
                idempotency_key=key,
                state=result.state.value,
                payment_id=payment.payment_id if payment else None,
                reason=reason,
            )
        return result
