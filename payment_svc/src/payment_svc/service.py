"""Taking a payment: the simulation, the idempotency key and the ledger, in that order.

The outcome is a plain value; the HTTP layer turns it into a response.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import structlog

from payment_svc.domain import (
    Claimed,
    Completed,
    DeclineReason,
    Hang,
    InProgress,
    KeyReused,
    KeyState,
    KeyStatus,
    KeyVoided,
    Outage,
    Payment,
    PaymentRequest,
    PaymentStatus,
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

log = structlog.get_logger("payment_svc.service")

CREATED = 201


def new_payment_id() -> str:
    return f"pay_{secrets.token_hex(12)}"


def utc_now() -> datetime:
    # Millisecond precision, as in the event contracts, so every rendering is the same.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def render_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PaymentJSON(TypedDict):
    """A payment as JSON: the body of 201 from POST /pay and of GET /payments/{id}."""

    payment_id: str
    order_id: str
    status: PaymentStatus
    reason: DeclineReason | None
    amount: str
    currency: str
    created_at: str
    voided_at: str | None
    void_reason: str | None


def payment_view(payment: Payment) -> PaymentJSON:
    """The JSON body that describes a payment (POST /pay and GET /payments/{id})."""
    return {
        "payment_id": payment.payment_id,
        "order_id": payment.order_id,
        "status": payment.status,
        "reason": payment.reason,
        "amount": format_amount(payment.amount),
        "currency": payment.currency,
        "created_at": render_timestamp(payment.created_at),
        "voided_at": render_timestamp(payment.voided_at) if payment.voided_at else None,
        "void_reason": payment.void_reason,
    }


class KeyStatusJSON(TypedDict):
    """What an idempotency key stands for: GET /payments/by-key/{key} and its void."""

    idempotency_key: str
    state: KeyState
    payment: PaymentJSON | None


def key_status_view(status: KeyStatus) -> KeyStatusJSON:
    return {
        "idempotency_key": status.key,
        "state": status.state,
        "payment": payment_view(status.payment) if status.payment is not None else None,
    }


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
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._simulation = simulation
        self._rng = rng
        self._stale_claim = stale_claim
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
        response = StoredResponse(CREATED, dict(payment_view(payment)))
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
