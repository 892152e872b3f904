"""Who may read a customer's order (pizza_common.web's read grant), in process: the
tracking token, a bearer token with orders:read, and every refusal, with and without
a token check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, HeaderParameter
from litestar.testing import AsyncTestClient

from pizza_common.web import (
    TRACKING_TOKEN_HEADER,
    TokenCheck,
    TokenSettings,
    order_read_grant,
    service_app,
    tracking_token_matches,
    tracking_token_sha256,
)
from tests.oauth_server import AUDIENCE, Issuer

TOKEN = "the-customers-tracking-token"
STORED = {"o-1": tracking_token_sha256(TOKEN), "o-old": None}


@get("/orders/{order_id:str}")
async def read_order(
    request: Request[Any, Any, Any],
    order_id: FromPath[str],
    token: Annotated[str | None, HeaderParameter(name=TRACKING_TOKEN_HEADER, required=False)],
) -> dict[str, str]:
    grant = await order_read_grant(request, token)
    if order_id not in STORED or not grant.allows(STORED[order_id]):
        raise NotFoundException(detail=f"there is no order {order_id}")
    return {"order_id": order_id}


def _app(check: TokenCheck | None) -> Litestar:
    return service_app(
        title="t", description="d", route_handlers=[read_order], ready_checks={}, token_check=check
    )


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def with_tokens(issuer: Issuer) -> AsyncIterator[AsyncTestClient[Litestar]]:
    http = httpx.AsyncClient(transport=issuer.transport())
    settings = TokenSettings(issuer=issuer.url, audience=AUDIENCE, jwks_url=issuer.jwks_url)
    async with AsyncTestClient(_app(TokenCheck(settings, http=http))) as client:
        yield client
    await http.aclose()


@pytest.fixture
async def without_tokens() -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(_app(None)) as client:
        yield client


def _tracking(token: str) -> dict[str, str]:
    return {TRACKING_TOKEN_HEADER: token}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_matches_only_its_own_digest() -> None:
    assert tracking_token_matches(TOKEN, tracking_token_sha256(TOKEN))
    assert not tracking_token_matches(TOKEN + "x", tracking_token_sha256(TOKEN))
    assert not tracking_token_matches(TOKEN, None)
    assert len(tracking_token_sha256(TOKEN)) == 64


async def test_no_credential_is_401_with_both_challenges(
    with_tokens: AsyncTestClient[Litestar],
) -> None:
    for order_id in ("o-1", "unknown"):  # the same for an unknown order: nothing to probe
        answer = await with_tokens.get(f"/orders/{order_id}")
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["WWW-Authenticate"] == (
            'Tracking-Token realm="pizza", Bearer realm="pizza", scope="orders:read"'
        )


async def test_the_right_tracking_token_reads_its_order(
    with_tokens: AsyncTestClient[Litestar],
) -> None:
    answer = await with_tokens.get("/orders/o-1", headers=_tracking(TOKEN))
    assert answer.status_code == 200
    assert answer.json() == {"order_id": "o-1"}


async def test_a_wrong_tracking_token_is_answered_like_an_unknown_order(
    with_tokens: AsyncTestClient[Litestar],
) -> None:
    wrong = await with_tokens.get("/orders/o-1", headers=_tracking("guessed"))
    unknown = await with_tokens.get("/orders/unknown", headers=_tracking("guessed"))
    no_digest = await with_tokens.get("/orders/o-old", headers=_tracking(TOKEN))
    assert wrong.status_code == unknown.status_code == no_digest.status_code == 404
    assert wrong.json()["detail"] == "there is no order o-1"
    assert unknown.json()["detail"] == "there is no order unknown"


async def test_a_bearer_token_with_the_scope_reads_any_order(
    with_tokens: AsyncTestClient[Litestar], issuer: Issuer
) -> None:
    token = issuer.mint(scope="orders:read")
    for order_id in ("o-1", "o-old"):
        answer = await with_tokens.get(f"/orders/{order_id}", headers=_bearer(token))
        assert answer.status_code == 200, answer.text
    assert (await with_tokens.get("/orders/unknown", headers=_bearer(token))).status_code == 404


async def test_a_bearer_token_without_the_scope_is_403(
    with_tokens: AsyncTestClient[Litestar], issuer: Issuer
) -> None:
    answer = await with_tokens.get(
        "/orders/o-1", headers=_bearer(issuer.mint(scope="payments:read"))
    )
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert 'scope="orders:read"' in answer.headers["WWW-Authenticate"]


async def test_a_bearer_token_that_does_not_pass_is_401(
    with_tokens: AsyncTestClient[Litestar], issuer: Issuer
) -> None:
    answer = await with_tokens.get(
        "/orders/o-1", headers=_bearer(issuer.mint(scope="orders:read", aud="someone-else"))
    )
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


async def test_without_a_token_check_only_the_tracking_token_opens_an_order(
    without_tokens: AsyncTestClient[Litestar], issuer: Issuer
) -> None:
    # A bearer token cannot be verified here: it opens nothing.
    bearer = await without_tokens.get(
        "/orders/o-1", headers=_bearer(issuer.mint(scope="orders:read"))
    )
    assert bearer.status_code == 401
    assert bearer.headers["WWW-Authenticate"] == 'Tracking-Token realm="pizza"'
    assert (await without_tokens.get("/orders/o-1")).status_code == 401
    assert (
        await without_tokens.get("/orders/o-1", headers=_tracking("guessed"))
    ).status_code == 404
    assert (await without_tokens.get("/orders/o-1", headers=_tracking(TOKEN))).status_code == 200
