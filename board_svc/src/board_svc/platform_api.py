"""Every call the board makes to order_svc and delivery_svc, in one place: the menu,
placing an order, an order as each service knows it, and delivery's status stream.

The board reads only their public APIs. Whatever a call needs to carry (a token, a
header) is added here, once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

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


class PlatformApi:
    def __init__(self, order_url: str, delivery_url: str) -> None:
        self._order = httpx.AsyncClient(base_url=order_url, timeout=TIMEOUT)
        self._delivery = httpx.AsyncClient(base_url=delivery_url, timeout=TIMEOUT)

    async def aclose(self) -> None:
        await self._order.aclose()
        await self._delivery.aclose()

    async def menu(self) -> Answer:
        return _answer(await self._order.get("/menu"))

    async def place_order(
        self, order: Mapping[str, Any], *, language: str, idempotency_key: str | None
    ) -> Answer:
        headers = {"Accept-Language": language}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return _answer(await self._order.post("/orders", json=order, headers=headers))

    async def order(self, order_id: str) -> Answer:
        return _answer(await self._order.get(f"/orders/{order_id}"))

    async def tracking(self, order_id: str) -> Answer:
        return _answer(await self._delivery.get(f"/orders/{order_id}"))

    async def status_changes(self, order_id: str) -> AsyncIterator[dict[str, Any]]:
        """delivery's server-sent status events of the order, until it ends the stream."""
        async with self._delivery.stream(
            "GET",
            f"/orders/{order_id}/events",
            timeout=httpx.Timeout(10.0, read=None),
        ) as response:
            if response.status_code != 200:
                return
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield json.loads(line[5:].strip())
