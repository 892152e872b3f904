"""The soak's client retries like a careful customer: the same key, within a bound."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from pizza_infra.scenarios.chaos.load import ClientSettings, Load, place_order, run_load
from pizza_infra.scenarios.chaos.model import ClientOrder

ORDER_ID = "5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11"
SETTINGS = ClientSettings(
    order_url="http://order.test", rate=1000, max_attempts=4, retry_pause_s=0.01
)
Answer = Callable[[httpx.Request], httpx.Response]


def _answers(*scripted: Answer) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return scripted[min(len(seen), len(scripted)) - 1](request)

    return httpx.MockTransport(handler), seen


def status(code: int, **headers: str) -> Answer:
    return lambda _: httpx.Response(code, json={"order_id": ORDER_ID}, headers=headers)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _place(transport: httpx.MockTransport) -> ClientOrder:
    async def go() -> ClientOrder:
        async with httpx.AsyncClient(transport=transport) as client:
            return await place_order(client, SETTINGS, "key-1", {"items": []})

    return asyncio.run(go())


def test_a_503_is_retried_with_the_same_key_until_201() -> None:
    transport, seen = _answers(status(503, **{"Retry-After": "0"}), status(201))
    order = _place(transport)
    assert order == _order("accepted", ("503", "201"))
    assert [r.headers["Idempotency-Key"] for r in seen] == ["key-1", "key-1"]


def test_still_in_progress_is_retried_but_a_reused_key_is_not() -> None:
    transport, _ = _answers(status(409, **{"Retry-After": "0"}), status(201))
    assert _place(transport) == _order("accepted", ("409", "201"))
    transport, seen = _answers(status(409))
    assert _place(transport) == _order("conflict", ("409",))
    assert len(seen) == 1


def test_a_refused_connection_is_retried() -> None:
    transport, _ = _answers(refused, status(201))
    order = _place(transport)
    assert order == _order("accepted", ("unreachable", "201"))


def test_unanswered_attempts_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    transport, _ = _answers(refused)
    settings = replace(SETTINGS, retry_pause_s=1.0, max_attempts=6, give_up_after_s=1000)

    async def go() -> ClientOrder:
        async with httpx.AsyncClient(transport=transport) as client:
            return await place_order(client, settings, "key-1", {})

    assert asyncio.run(go()).attempts == 6
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_the_client_gives_up_after_its_attempts() -> None:
    transport, seen = _answers(status(503, **{"Retry-After": "0"}))
    assert _place(transport) == _order("unavailable", ("503",) * 4)
    assert len(seen) == SETTINGS.max_attempts
    transport, _ = _answers(refused)
    order = _place(transport)
    assert order == _order("unreachable", ("unreachable",) * 4, order_id=None)


def test_a_decline_is_final() -> None:
    transport, seen = _answers(status(402))
    assert _place(transport) == _order("declined", ("402",))
    assert len(seen) == 1


def test_the_load_places_orders_with_a_key_each_until_stopped() -> None:
    stop = asyncio.Event()
    load = Load(run_id="test")
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if len(keys) >= 20:
            stop.set()
        keys.append(request.headers["Idempotency-Key"])
        return httpx.Response(201, json={"order_id": request.headers["Idempotency-Key"]})

    asyncio.run(run_load(SETTINGS, load, stop, random.Random(1), httpx.MockTransport(handler)))
    assert len(load.orders) == len(keys) >= 20
    assert len(set(keys)) == len(keys)
    assert load.outcomes() == {"accepted": len(keys)}
    assert load.in_flight == 0


def _order(outcome: str, statuses: tuple[str, ...], order_id: str | None = ORDER_ID) -> ClientOrder:
    return ClientOrder("key-1", outcome, order_id, len(statuses), statuses)
