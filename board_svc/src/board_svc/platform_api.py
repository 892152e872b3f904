"""Every call the board makes to order_svc and delivery_svc, in one place: the menu,
placing an order, an order as each service knows it, and delivery's status stream.

The board reads only their public APIs. Whatever a call needs to carry is added here,
once: a customer's reads carry the order's tracking token (``X-Tracking-Token``), an
operator's the board's own ``orders:read`` token when it has a token source. Neither is
ever logged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from pizza_common.oauth import ClientCredentials, TokenUnavailable
from pizza_common.web import TRACKING_TOKEN_HEADER

log = structlog.get_logger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=2.0)


@dataclass(frozen=True, slots=True)
class Answer:
    """An upstream answer passed on: status, JSON body (or None) and what the board uses
    from its headers."""

    status: int
    body: Any
    content_type: str
    trace_id: str | None = None


def trace_id_of(traceresponse: str | None) -> str | None:
    """The trace id of a W3C ``traceresponse`` (``00-<trace id>-<span id>-<flags>``)."""
    parts = (traceresponse or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def _answer(response: httpx.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(
        response.status_code,
        body,
        response.headers.get("content-type", "application/json"),
        trace_id_of(response.headers.get("traceresponse")),
    )


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a read of an order is for: a customer, with the order's tracking token if their
    browser has it (never the board's own token: a customer's page shows only what their
    token opens), or an operator (the board's orders:read token, if it has one)."""

    tracking_token: str | None = None
    operator: bool = False

    def __repr__(self) -> str:  # never the token itself, in a log line or a traceback
        return "Reader(operator)" if self.operator else "Reader(customer)"


OPERATOR = Reader(operator=True)


class OperatorTokenMissing(Exception):
    """An operator's read, but the board has no orders:read token now: no token source
    configured, or the identity provider gives none."""


class PlatformApi:
    def __init__(
        self, order_url: str, delivery_url: str, tokens: ClientCredentials | None = None
    ) -> None:
        self._order = httpx.AsyncClient(base_url=order_url, timeout=TIMEOUT)
        self._delivery = httpx.AsyncClient(base_url=delivery_url, timeout=TIMEOUT)
        self.tokens = tokens

    async def aclose(self) -> None:
        await self._order.aclose()
        await self._delivery.aclose()

    async def _read_headers(self, reader: Reader) -> dict[str, str]:
        """The customer's tracking token, or the operator's bearer token (none without a
        token source: the services then answer 401, which the pages explain)."""
        if not reader.operator:
            return {TRACKING_TOKEN_HEADER: reader.tracking_token} if reader.tracking_token else {}
        if self.tokens is None:
            return {}
        try:
            return {"Authorization": f"Bearer {await self.tokens.token()}"}
        except TokenUnavailable as exc:
            log.warning("no orders:read token", error=type(exc).__name__)
            raise OperatorTokenMissing(str(exc)) from exc

    async def _get(self, client: httpx.AsyncClient, path: str, reader: Reader) -> Answer:
        headers = await self._read_headers(reader)
        response = await client.get(path, headers=headers)
        if response.status_code == 401 and "Authorization" in headers and self.tokens:
            # Refused (a new signing key, say): never send it again, and try once anew.
            self.tokens.invalidate(headers["Authorization"].removeprefix("Bearer "))
            response = await client.get(path, headers=await self._read_headers(reader))
        return _answer(response)

    async def menu(self) -> Answer:
        return _answer(await self._order.get("/menu"))

    async def place_order(
        self, order: Mapping[str, Any], *, language: str, idempotency_key: str | None
    ) -> Answer:
        headers = {"Accept-Language": language}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return _answer(await self._order.post("/orders", json=order, headers=headers))

    async def order(self, order_id: str, reader: Reader = OPERATOR) -> Answer:
        return await self._get(self._order, f"/orders/{order_id}", reader)

    async def tracking(self, order_id: str, reader: Reader = OPERATOR) -> Answer:
        return await self._get(self._delivery, f"/orders/{order_id}", reader)

    async def status_changes(
        self, order_id: str, reader: Reader = OPERATOR
    ) -> AsyncIterator[dict[str, Any]]:
        """delivery's server-sent status events of the order, until it ends the stream."""
        async with self._delivery.stream(
            "GET",
            f"/orders/{order_id}/events",
            headers=await self._read_headers(reader),
            timeout=httpx.Timeout(10.0, read=None),
        ) as response:
            if response.status_code != 200:
                return
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield json.loads(line[5:].strip())
