"""Charging an order through payment_svc, resilient to every way payment can fail.

- The charge ends by a deadline the caller gives: the customer's budget starts when the
  request arrives, so time spent before the charge is not granted again. Each attempt
  may take ``attempt_timeout_s`` (less if the deadline is nearer).
- stamina retries only transient faults (connection errors, timeouts, 502/503/504, a
  409 "same key in progress"), always with the same idempotency key: payment charges
  at most once however often we ask.
- A circuit breaker opens after consecutive failures *of payment*, so while payment is
  down orders fail fast instead of each waiting for timeouts. Waiting for a connection
  of our own pool, an attempt cut short by our own deadline, or payment saying it is
  busy with our key are not payment's failures and do not count.
- For the saga, payment is asked what a key charged, and to void it.
- With a token source, every call carries an access token (docs/security.md); no token
  to be had, or one payment refuses, is payment unavailable too: the same 503 to the
  customer, never a 500.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import httpx
import stamina
import structlog
from pydantic import BaseModel, ValidationError

from order_svc.breaker import CircuitBreaker, CircuitOpen, State, Verdict
from order_svc.domain import ChargeState, ChargeStatus
from pizza_common.oauth import ClientCredentials, TokenUnavailable

log = structlog.get_logger(__name__)
TRANSIENT_STATUS = frozenset({409, 502, 503, 504})

UnavailableCause = Literal[
    "circuit_open", "timeout", "unreachable", "server_error", "no_token", "token_refused"
]


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
    """Payment did not give an answer in time: the charge may or may not have happened."""

    def __init__(self, cause: UnavailableCause, retry_after_s: int) -> None:
        super().__init__(f"payment unavailable: {cause}")
        self.cause = cause
        self.retry_after_s = retry_after_s


class PaymentRefused(Exception):
    """Payment answered that the request itself is wrong (4xx): retrying cannot help.

    410 means the key was voided: nothing is (or ever will be) charged under it.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"payment refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


class _TransientAnswer(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"payment answered {status}")
        self.status = status


class _CutShort(Exception):
    """An attempt ran out of the caller's deadline, not of its own timeout."""


class _PaymentAnswer(BaseModel):
    payment_id: str
    status: Literal["approved", "declined"]
    reason: str | None = None


class _KeyPayment(BaseModel):
    payment_id: str
    reason: str | None = None


class _KeyStatusAnswer(BaseModel):
    state: ChargeState
    payment: _KeyPayment | None = None


def is_transient(exc: Exception) -> bool:
    """Worth another attempt with the same idempotency key."""
    return isinstance(exc, httpx.TransportError | _TransientAnswer | _CutShort)


def breaker_verdict(exc: BaseException) -> Verdict:
    """What an attempt that raised ``exc`` says about payment's health."""
    if isinstance(exc, _TransientAnswer) and exc.status == 409:
        return "success"  # payment is alive and busy with our key
    if isinstance(exc, httpx.PoolTimeout | _CutShort | asyncio.CancelledError):
        return "neutral"  # our own queue or deadline: nothing learnt about payment
    if isinstance(exc, httpx.TransportError | _TransientAnswer):
        return "failure"
    return "neutral"


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
        on_breaker_change: Callable[[State], None] = lambda _: None,
        tokens: ClientCredentials | None = None,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._attempt_timeout = attempt_timeout_s
        self._deadline = deadline_s
        self.breaker = CircuitBreaker(
            threshold=breaker_threshold,
            open_s=breaker_open_s,
            classify=breaker_verdict,
            on_change=on_breaker_change,
        )
        self._retry_after = retry_after_s

    async def charge(self, charge: Charge, *, deadline: float | None = None) -> PaymentResult:
        """Charge once under the charge's key; give up at ``deadline`` (the loop's clock).

        Without a deadline the charge may take ``deadline_s`` from now.
        """
        loop = asyncio.get_running_loop()
        end = deadline if deadline is not None else loop.time() + self._deadline
        try:
            # The hard stop; each attempt's own timeout is capped to end before it.
            async with asyncio.timeout_at(end + 0.05):
                async for attempt in stamina.retry_context(
                    on=is_transient,
                    attempts=None,
                    timeout=None,  # the deadline above and the check below end it
                    wait_initial=0.05,
                    wait_max=0.5,
                    wait_jitter=0.05,
                ):
                    with attempt:
                        remaining = end - loop.time()
                        if remaining <= 0:
                            raise TimeoutError
                        auth = await self._authorization()  # not payment's: no breaker
                        with self.breaker.call():
                            response = await self._post(charge, remaining, auth)
        except CircuitOpen as exc:
            raise PaymentUnavailable("circuit_open", math.ceil(exc.retry_after_s)) from exc
        except (TimeoutError, httpx.TimeoutException, _CutShort) as exc:
            raise PaymentUnavailable("timeout", self._retry_after) from exc
        except httpx.TransportError as exc:
            raise PaymentUnavailable("unreachable", self._retry_after) from exc
        except _TransientAnswer as exc:
            raise PaymentUnavailable("server_error", self._retry_after) from exc
        return self._result(response)

    async def _authorization(self) -> dict[str, str]:
        if self._tokens is None:
            return {}
        try:
            return {"Authorization": f"Bearer {await self._tokens.token()}"}
        except TokenUnavailable as exc:
            raise PaymentUnavailable("no_token", self._retry_after) from exc

    def _check_token_taken(self, response: httpx.Response, auth: dict[str, str]) -> None:
        """401 or 403: payment refused our token; nothing was done. Never send it again."""
        if response.status_code not in (401, 403):
            return
        log.error(
            "payment refused our token",
            status=response.status_code,
            challenge=response.headers.get("WWW-Authenticate"),
        )
        if self._tokens is not None and auth:
            self._tokens.invalidate(auth["Authorization"].removeprefix("Bearer "))
        raise PaymentUnavailable("token_refused", self._retry_after)

    async def _post(self, charge: Charge, remaining: float, auth: dict[str, str]) -> httpx.Response:
        cut_short = remaining < self._attempt_timeout
        seconds = min(self._attempt_timeout, remaining)
        try:
            response = await self._http.post(
                "/pay",
                json={
                    "order_id": charge.order_id,
                    "amount": str(charge.amount),
                    "currency": charge.currency,
                    "card_number": charge.card_number,
                },
                headers={"Idempotency-Key": charge.idempotency_key, **auth},
                # Waiting for a connection of our own pool is not payment's time.
                timeout=httpx.Timeout(seconds, pool=remaining),
            )
        except httpx.TimeoutException as exc:
            if cut_short and not isinstance(exc, httpx.PoolTimeout):
                raise _CutShort from exc
            raise
        self._check_token_taken(response, auth)
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

    async def charge_status(self, key: str) -> ChargeStatus:
        """What payment charged under ``key``; PaymentUnavailable if it cannot say now."""
        return await self._key_call("GET", f"/payments/by-key/{key}")

    async def void(self, key: str, reason: str) -> ChargeStatus:
        """Void what ``key`` charged, or close it so it never charges (idempotent).

        ``in_progress`` while a request under the key is still running: ask again later.
        """
        return await self._key_call("POST", f"/payments/by-key/{key}/void", {"reason": reason})

    async def _key_call(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> ChargeStatus:
        # No breaker: these run in the background, one at a time, and never keep a
        # customer waiting; a failure just means "ask again next round".
        auth = await self._authorization()
        try:
            response = await self._http.request(
                method, path, params=params, headers=auth, timeout=self._attempt_timeout * 2
            )
        except httpx.TimeoutException as exc:
            raise PaymentUnavailable("timeout", self._retry_after) from exc
        except httpx.TransportError as exc:
            raise PaymentUnavailable("unreachable", self._retry_after) from exc
        self._check_token_taken(response, auth)
        if response.status_code == 409:
            return ChargeStatus(ChargeState.IN_PROGRESS)
        if response.status_code != 200:
            log.warning("payment key call failed", path=path, status=response.status_code)
            raise PaymentUnavailable("server_error", self._retry_after)
        try:
            answer = _KeyStatusAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            log.error("payment answered something unexpected", body=response.text[:500])
            raise PaymentUnavailable("server_error", self._retry_after) from exc
        payment = answer.payment
        return ChargeStatus(
            answer.state,
            payment_id=payment.payment_id if payment else None,
            reason=payment.reason if payment else None,
        )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:500]
    return str(body)[:500]
