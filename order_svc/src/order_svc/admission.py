"""Admission for order placements: the budget starts when a request arrives, and a
saturated order_svc sheds load at once instead of queueing requests past that budget.

An ASGI middleware on ``POST /orders`` only: at most ``limit`` placements run at once;
one more is answered 503 with ``Retry-After`` before its body is even read. An admitted
request's deadline (the event loop's clock) is set in a context variable that the
placement reads, so time spent waiting for the database or the CPU before the charge
is taken from the same budget.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from order_svc.i18n import pick_language, text
from order_svc.metrics import ORDERS, PLACEMENTS_IN_FLIGHT

_DEADLINE: ContextVar[float | None] = ContextVar("order_deadline", default=None)


def request_deadline() -> float | None:
    """When the current request's budget ends (``loop.time()``), if it came through here."""
    return _DEADLINE.get()


class Admission:
    def __init__(self, *, limit: int, budget_s: float, retry_after_s: int) -> None:
        self.limit = limit
        self._budget = budget_s
        self._retry_after = retry_after_s
        self.in_flight = 0

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def admit(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            if self.in_flight >= self.limit:
                ORDERS.labels("shed").inc()
                await self._shed(scope, send)
                return
            self.in_flight += 1
            PLACEMENTS_IN_FLIGHT.set(self.in_flight)
            token = _DEADLINE.set(asyncio.get_running_loop().time() + self._budget)
            try:
                await app(scope, receive, send)
            finally:
                _DEADLINE.reset(token)
                self.in_flight -= 1
                PLACEMENTS_IN_FLIGHT.set(self.in_flight)

        return admit

    async def _shed(self, scope: Scope, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        language = pick_language(headers.get(b"accept-language", b"").decode("latin-1"))
        body = json.dumps(
            {
                "type": "about:blank",
                "title": text("overloaded_title", language),
                "status": 503,
                "detail": text("overloaded", language),
            }
        ).encode()
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(self._retry_after).encode()),
                (b"content-language", language.encode()),
            ],
        }
        end: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": False,
        }
        await send(start)
        await send(end)
