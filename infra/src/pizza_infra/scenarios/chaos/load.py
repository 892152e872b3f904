"""The soak's customers: orders at a steady rate, each retried as a careful client would.

Every order has its own Idempotency-Key, kept across its retries, so a retry can never
charge twice. 503, 409 with Retry-After (still in progress), 429, other 5xx, timeouts and
refused connections are retried after Retry-After (or a pause that doubles up to 5 s),
within a bound of attempts and time; then the client gives up and records the last answer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from pizza_infra.config import REPO_ROOT
from pizza_infra.scenarios.chaos.model import ACCEPTED, ClientOrder

EXAMPLE: dict[str, Any] = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())
DECLINED_CARD = "4000 0000 0000 0002"
RETRIED = {409, 429, 500, 502, 503, 504}
UNANSWERED = ("timeout", "unreachable")
MAX_PAUSE_S = 5.0
GAVE_UP = {
    "503": "unavailable",
    "409": "in_progress",
    "timeout": "unreachable",
    "unreachable": "unreachable",
}


@dataclass(frozen=True, slots=True)
class ClientSettings:
    order_url: str
    rate: float  # orders per second, started on a fixed schedule whatever the answers
    attempt_timeout_s: float = 10.0
    give_up_after_s: float = 45.0
    max_attempts: int = 10
    max_in_flight: int = 64  # beyond this, new orders wait: the soak stays bounded
    decline_share: float = 0.05  # orders paid with a card that is always declined
    retry_pause_s: float = 1.0  # after a timeout or a refused connection, doubling to 5 s


@dataclass
class Load:
    """Orders placed so far; read while the soak runs, complete once it ended."""

    run_id: str
    orders: list[ClientOrder] = field(default_factory=list)
    in_flight: int = 0

    def outcomes(self) -> Counter[str]:
        return Counter(order.outcome for order in self.orders)


def order_body(rng: random.Random, decline_share: float) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["items"][0]["quantity"] = rng.randint(1, 3)
    if rng.random() < decline_share:
        body["payment"]["card_number"] = DECLINED_CARD
    return body


def outcome_of(status: int) -> str:
    """The outcome of an order whose final answer was ``status``."""
    return {201: ACCEPTED, 402: "declined", 422: "refused", 409: "conflict"}.get(
        status, f"http_{status}"
    )


async def place_order(
    client: httpx.AsyncClient, settings: ClientSettings, key: str, body: dict[str, Any]
) -> ClientOrder:
    statuses: list[str] = []
    order_id: str | None = None
    deadline = time.monotonic() + settings.give_up_after_s
    while True:
        # Unanswered attempts back off; an answer says itself when to come back.
        unanswered = sum(status in UNANSWERED for status in statuses)
        wait_s = min(MAX_PAUSE_S, settings.retry_pause_s * 2**unanswered)
        try:
            answer = await client.post(
                f"{settings.order_url}/orders",
                json=body,
                headers={"Idempotency-Key": key},
                timeout=settings.attempt_timeout_s,
            )
        except httpx.TimeoutException:
            statuses.append("timeout")
        except httpx.TransportError:
            statuses.append("unreachable")
        else:
            statuses.append(str(answer.status_code))
            order_id = _order_id(answer) or order_id
            retryable = answer.status_code in RETRIED and (
                answer.status_code != 409 or "Retry-After" in answer.headers
            )
            if not retryable:
                return ClientOrder(
                    key, outcome_of(answer.status_code), order_id, len(statuses), tuple(statuses)
                )
            wait_s = _retry_after(answer, settings.retry_pause_s)
        if len(statuses) >= settings.max_attempts or time.monotonic() + wait_s > deadline:
            last = statuses[-1]
            outcome = GAVE_UP.get(last, "server_error" if last.startswith("5") else f"http_{last}")
            return ClientOrder(key, outcome, order_id, len(statuses), tuple(statuses))
        await asyncio.sleep(wait_s)


def _order_id(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    order_id = body.get("order_id") if isinstance(body, dict) else None
    return str(order_id) if order_id else None


def _retry_after(answer: httpx.Response, default_s: float) -> float:
    try:
        return min(MAX_PAUSE_S, max(0.1, float(answer.headers["Retry-After"])))
    except (KeyError, ValueError):
        return default_s


async def run_load(
    settings: ClientSettings,
    load: Load,
    stop: asyncio.Event,
    rng: random.Random,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Start an order every 1/rate seconds until ``stop`` is set; wait for those in flight."""
    slots = asyncio.Semaphore(settings.max_in_flight)
    limits = httpx.Limits(max_connections=settings.max_in_flight)
    async with httpx.AsyncClient(limits=limits, transport=transport) as client:

        async def one(number: int, body: dict[str, Any]) -> None:
            try:
                order = await place_order(client, settings, f"chaos-{load.run_id}-{number}", body)
                load.orders.append(order)
            finally:
                load.in_flight -= 1
                slots.release()

        tasks: set[asyncio.Task[None]] = set()
        began = time.monotonic()
        number = 0
        while not stop.is_set():
            delay = began + number / settings.rate - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            await slots.acquire()
            load.in_flight += 1
            task = asyncio.create_task(one(number, order_body(rng, settings.decline_share)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            number += 1
        await asyncio.gather(*tasks)
