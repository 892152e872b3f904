"""Who the board's reads of an order are for: a customer's carry the order's tracking
token (from its cookie, scoped to that order's pages), an operator's the board's
orders:read token, and a customer's never the board's own token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from board_svc.live import place_order, tracking_cookies
from board_svc.pages import _operator_access
from board_svc.platform_api import OPERATOR, Answer, OperatorTokenMissing, PlatformApi, Reader
from board_svc.runtime import Board
from pizza_common.oauth import TokenUnavailable


class Tokens:
    """A stand-in for the shared client-credentials cache."""

    def __init__(self, value: str | None = "operator-jwt") -> None:
        self.value = value
        self.invalidated: list[str] = []

    async def token(self) -> str:
        if self.value is None:
            raise TokenUnavailable("provider down")
        return self.value

    def invalidate(self, value: str) -> None:
        self.invalidated.append(value)


def api(seen: list[httpx.Request], tokens: Any = None, status: int = 200) -> PlatformApi:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"order_id": "o-1", "status": "received"})

    platform = PlatformApi("http://order", "http://delivery", tokens)
    transport = httpx.MockTransport(answer)
    platform._order = httpx.AsyncClient(base_url="http://order", transport=transport)
    platform._delivery = httpx.AsyncClient(base_url="http://delivery", transport=transport)
    return platform


def test_a_customer_reads_with_the_orders_tracking_token_and_never_the_boards() -> None:
    seen: list[httpx.Request] = []
    platform = api(seen, Tokens())
    asyncio.run(platform.tracking("o-1", Reader(tracking_token="t0ken")))
    asyncio.run(platform.tracking("o-1", Reader()))  # a browser without the cookie
    assert seen[0].headers["X-Tracking-Token"] == "t0ken"
    assert "authorization" not in seen[0].headers
    assert "x-tracking-token" not in seen[1].headers
    assert "authorization" not in seen[1].headers
    assert "t0ken" not in repr(Reader(tracking_token="t0ken"))


def test_an_operator_reads_with_the_boards_orders_read_token() -> None:
    seen: list[httpx.Request] = []
    asyncio.run(api(seen, Tokens()).order("o-1", OPERATOR))
    assert seen[0].headers["Authorization"] == "Bearer operator-jwt"


def test_a_refused_operator_token_is_dropped_and_the_read_tried_once_more() -> None:
    seen: list[httpx.Request] = []
    tokens = Tokens()
    answer = asyncio.run(api(seen, tokens, status=401).order("o-1"))
    assert answer.status == 401
    assert len(seen) == 2
    assert tokens.invalidated == ["operator-jwt"]


def test_without_a_token_source_an_operator_reads_without_a_token() -> None:
    seen: list[httpx.Request] = []
    asyncio.run(api(seen).order("o-1"))
    assert "authorization" not in seen[0].headers


def test_no_token_from_the_provider_is_said_not_hidden() -> None:
    with pytest.raises(OperatorTokenMissing):
        asyncio.run(api([], Tokens(value=None)).order("o-1"))


def test_the_follow_page_explains_a_refusal() -> None:
    class Board:
        def __init__(self, tokens: Any) -> None:
            self.api = PlatformApi("http://order", "http://delivery", tokens)

    refused = Answer(401, None, "application/problem+json")
    shown = Answer(200, {}, "application/json")
    message = _operator_access(Board(None), None, refused, shown)  # type: ignore[arg-type]
    assert message is not None
    assert "BOARD_OAUTH_TOKEN_URL" in message
    assert _operator_access(Board(None), None, shown, shown) is None  # type: ignore[arg-type]
    assert "refused" in (_operator_access(Board(Tokens()), None, refused) or "")  # type: ignore[arg-type]
    down = _operator_access(Board(Tokens()), "provider down", None)  # type: ignore[arg-type]
    assert down is not None
    assert "no orders:read token" in down


def test_the_tracking_cookie_goes_only_to_that_orders_pages() -> None:
    cookies = tracking_cookies("0b6f-42", "t0ken")
    assert {c.path for c in cookies} == {"/track/0b6f-42", "/api/orders/0b6f-42/events"}
    assert all(c.httponly and c.samesite == "strict" and c.value == "t0ken" for c in cookies)
    assert tracking_cookies("../x;", "t0ken") == []


def test_placing_an_order_puts_its_tracking_token_in_cookies_not_in_the_page() -> None:
    class Api:
        async def place_order(self, *_: Any, **__: Any) -> Answer:
            body = {"order_id": "o-1", "status": "PAID", "tracking_token": "t0ken"}
            return Answer(201, body, "application/json", trace_id="a" * 32)

    class FakeBoard(Board):
        def __init__(self) -> None:  # no Kafka, no registry: only the API is used
            self.api = Api()  # type: ignore[assignment]

    async def board() -> Board:
        return FakeBoard()

    app = Litestar([place_order], dependencies={"board": Provide(board)})
    with TestClient(app) as client:
        answer = client.post("/api/orders", json={})
    assert answer.status_code == 201
    assert "tracking_token" not in answer.json()
    assert answer.json()["order_id"] == "o-1"
    cookies = answer.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert all("t0ken" in c and "HttpOnly" in c for c in cookies)
    assert any("Path=/track/o-1" in c for c in cookies)
