"""The shared client-credentials token source (pizza_common.oauth) against the test
identity provider on 127.0.0.1 (a thread of this test), and order_svc's payment client's
use of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from order_svc.payment_client import PaymentClient, PaymentUnavailable
from pizza_common.oauth import ClientCredentials, TokenUnavailable, client_credentials
from tests.oauth_server import ORDER_CLIENT, OAuthServer
from tests.order_svc.unit.test_payment_client import CHARGE, Payment, ok, status


@pytest.fixture
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


def source(idp: OAuthServer, secret: str = ORDER_CLIENT[1]) -> ClientCredentials:
    return client_credentials(
        idp.issuer.token_url,
        ORDER_CLIENT[0],
        secret,
        "payments:write payments:read",
        timeout_s=1.0,
        refresh_ahead_s=60,
    )


def short_lived(idp: OAuthServer) -> ClientCredentials:
    """For 2 s tokens: usable until 0.2 s before they expire."""
    oauth = AsyncOAuth2Client(
        client_id=ORDER_CLIENT[0], client_secret=ORDER_CLIENT[1], scope="payments:write"
    )
    return ClientCredentials(oauth, idp.issuer.token_url, min_left_s=0.2)


@pytest.fixture
async def tokens(idp: OAuthServer) -> AsyncIterator[ClientCredentials]:
    tokens = source(idp)
    yield tokens
    await tokens.aclose()


async def test_a_token_is_fetched_once_and_cached(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    first = await tokens.token()
    assert [await tokens.token() for _ in range(10)] == [first] * 10
    assert idp.issuer.requests["token"] == 1
    assert tokens.fetches == 1


async def test_concurrent_callers_share_one_fetch(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    got = await asyncio.gather(*(tokens.token() for _ in range(20)))
    assert len(set(got)) == 1
    assert idp.issuer.requests["token"] == 1


async def test_the_token_is_refreshed_ahead_of_expiry(idp: OAuthServer) -> None:
    idp.issuer.lifetime_s = 2  # refreshed at half its life: after 1 s
    tokens = short_lived(idp)
    runner = asyncio.create_task(tokens.run())
    try:
        await asyncio.sleep(0.3)
        first = await tokens.token()
        assert idp.issuer.requests["token"] == 1
        await asyncio.sleep(1.0)
        assert idp.issuer.requests["token"] == 2
        assert await tokens.token() != first
    finally:
        runner.cancel()
        await tokens.aclose()


async def test_the_cached_token_serves_while_the_provider_is_down(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    idp.issuer.lifetime_s = 20  # refresh due after 10 s; usable for 15 s
    first = await tokens.token()
    with idp.down():
        assert await tokens.token() == first


async def test_the_refresher_backs_off_while_down_and_recovers(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    idp.stop()
    runner = asyncio.create_task(tokens.run())
    try:
        await asyncio.sleep(1.2)  # tries at 0 s and 1 s
        assert tokens.fetches == 2
        idp.start()
        await asyncio.sleep(2.2)  # the next try, 2 s later, succeeds
        assert tokens.fetches == 3
        assert await tokens.token()
        assert idp.issuer.requests["token"] == 1
    finally:
        runner.cancel()


async def test_no_token_and_the_provider_down_is_unavailable_fast(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    with idp.down():
        with pytest.raises(TokenUnavailable):
            await tokens.token()
        # Within retry_s the next callers fail at once, without asking again.
        for _ in range(10):
            with pytest.raises(TokenUnavailable):
                await tokens.token()
        assert tokens.fetches == 1


async def test_a_wrong_secret_gives_no_token(idp: OAuthServer) -> None:
    tokens = source(idp, secret="wrong")
    with pytest.raises(TokenUnavailable):
        await tokens.token()
    await tokens.aclose()


async def test_an_invalidated_token_is_replaced(
    tokens: ClientCredentials, idp: OAuthServer
) -> None:
    first = await tokens.token()
    tokens.invalidate(first)
    assert await tokens.token() != first
    assert idp.issuer.requests["token"] == 2


# The payment client with a token source (payment itself replaced by MockTransport).


def client(payment: Payment, tokens: ClientCredentials) -> PaymentClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(payment), base_url="http://payment.test")
    return PaymentClient(
        http,
        attempt_timeout_s=0.2,
        deadline_s=1.0,
        breaker_threshold=5,
        breaker_open_s=30,
        retry_after_s=5,
        tokens=tokens,
    )


async def test_every_call_carries_the_token(tokens: ClientCredentials) -> None:
    payment = Payment(ok)
    await client(payment, tokens).charge(CHARGE)
    token = await tokens.token()
    assert payment.requests[0].headers["Authorization"] == f"Bearer {token}"


async def test_no_token_is_payment_unavailable(tokens: ClientCredentials, idp: OAuthServer) -> None:
    payment = Payment(ok)
    payments = client(payment, tokens)
    with idp.down(), pytest.raises(PaymentUnavailable) as caught:
        await payments.charge(CHARGE)
    assert (caught.value.cause, caught.value.retry_after_s) == ("no_token", 5)
    assert payment.requests == []  # nothing sent without a token
    assert payments.breaker.state == "closed"  # not payment's fault


@pytest.mark.parametrize("code", [401, 403])
async def test_a_refused_token_is_unavailable_and_dropped(
    tokens: ClientCredentials, code: int
) -> None:
    payment = Payment(status(code))
    with pytest.raises(PaymentUnavailable) as caught:
        await client(payment, tokens).charge(CHARGE)
    assert caught.value.cause == "token_refused"
    assert len(payment.requests) == 1
    assert tokens.fetches == 1
    await tokens.token()
    assert tokens.fetches == 2  # the refused token is never sent again
