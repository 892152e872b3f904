"""Charging an order through payment_svc, resilient to every way payment can fail.

- Each attempt has its own timeout; the whole charge has a deadline, so the customer
  gets an answer in about ``payment_deadline_s`` whatever payment does.
- stamina retries only transient faults (connection errors, timeouts, 502/503/504, a
  409 "same key in progress"), always with the same idempotency key: payment charges
  at most once however often we ask.
- A circuit breaker (purgatory) opens after consecutive failed attempts, so while
  payment is down orders fail fast instead of each waiting for timeouts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import httpx
import stamina
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import BaseModel, ValidationError

log = structlog.get_logger("order_svc.payment")
CIRCUIT = "payment_svc"
TRANSIENT_STATUS = frozenset({409, 502, 503, 504})

UnavailableCause = Literal["circuit_open", "timeout", "unreachable", "server_error"]


@dataclass(frozen=True, slots=True)
class Charge:
    order_id: str
    amount: Decimal
    currency: str
    card_number: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment_id: str
    approved: bool
    reason: str | None


class PaymentUnavailable(Exception):
    """Payment did not give an answer in time; nothing is known to be charged."""

    def __init__(self, cause: UnavailableCause, retry_after_s: int) -> None:
        super().__init__(f"payment unavailable: {cause}")
        self.cause = cause
        self.retry_after_s = retry_after_s


class PaymentRefused(Exception):
    """Payment answered that the request itself is wrong (4xx): retrying cannot help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"payment refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


class _TransientAnswer(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"payment answered {status}")
        self.status = status


class _PaymentAnswer(BaseModel):
    payment_id: str
    status: Literal["approved", "declined"]
    reason: str | None = None


def is_transient(exc: Exception) -> bool:
    """Worth another attempt with the same idempotency key."""
    return isinstance(exc, httpx.TransportError | _TransientAnswer)


class PaymentClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        attempt_timeout_s: float,
        deadline_s: float,
        breaker_threshold: int,
        breaker_open_s: float,
        retry_after_s: int,
    ) -> None:
        self._http = http
        self._attempt_timeout = attempt_timeout_s
        self._deadline = deadline_s
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold, default_ttl=breaker_open_s
        )
        self._open_s = breaker_open_s
        self._retry_after = retry_after_s

    @property
    def breakers(self) -> AsyncCircuitBreakerFactory:
        return self._breakers

    async def charge(self, charge: Charge) -> PaymentResult:
        breaker = await self._breakers.get_breaker(CIRCUIT)
        try:
            async with asyncio.timeout(self._deadline):
                async for attempt in stamina.retry_context(
                    on=is_transient,
                    attempts=None,
                    timeout=None,  # asyncio.timeout above is the one deadline
                    wait_initial=0.05,
                    wait_max=0.5,
                    wait_jitter=0.05,
                ):
                    with attempt:
                        async with breaker:
                            response = await self._post(charge)
        except OpenedState as exc:
            raise PaymentUnavailable("circuit_open", _ceil(self._open_s)) from exc
        except TimeoutError as exc:
            raise PaymentUnavailable("timeout", self._retry_after) from exc
        except httpx.TimeoutException as exc:
            raise PaymentUnavailable("timeout", self._retry_after) from exc
        except httpx.TransportError as exc:
            raise PaymentUnavailable("unreachable", self._retry_after) from exc
        except _TransientAnswer as exc:
            raise PaymentUnavailable("server_error", self._retry_after) from exc
        return self._result(response)

    async def _post(self, charge: Charge) -> httpx.Response:
        response = await self._http.post(
            "/pay",
            json={
                "order_id": charge.order_id,
                "amount": str(charge.amount),
                "currency": charge.currency,
                "card_number": charge.card_number,
            },
            headers={"Idempotency-Key": charge.idempotency_key},
            timeout=self._attempt_timeout,
        )
        if response.status_code in TRANSIENT_STATUS or response.status_code >= 500:
            log.warning("payment attempt failed", status=response.status_code)
            raise _TransientAnswer(response.status_code)
        return response

    def _result(self, response: httpx.Response) -> PaymentResult:
        if response.status_code >= 400:
            raise PaymentRefused(response.status_code, _detail(response))
        try:
            answer = _PaymentAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            log.error("payment answered something unexpected", body=response.text[:500])
            raise PaymentUnavailable("server_error", self._retry_after) from exc
        return PaymentResult(answer.payment_id, answer.status == "approved", answer.reason)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:500]
    return str(body)[:500]


def _ceil(seconds: float) -> int:
    return max(1, int(-(-seconds // 1)))
