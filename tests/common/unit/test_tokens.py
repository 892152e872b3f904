"""The bearer-token check of pizza_common.web: every rejection, scopes, leeway, key
rotation and the refetch limit, against the test issuer in process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient, TestClient

from pizza_common.web import (
    KeysUnavailable,
    TokenCheck,
    TokenRejected,
    TokenSettings,
    require_scope,
    service_app,
)
from tests.oauth_server import AUDIENCE, Issuer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@get("/thing", guards=[require_scope("things:read")], sync_to_thread=False)
def thing() -> dict[str, str]:
    return {"thing": "yes"}


def settings(issuer: Issuer, **changes: Any) -> TokenSettings:
    return TokenSettings(
        **{"issuer": issuer.url, "audience": AUDIENCE, "jwks_url": issuer.jwks_url, **changes}
    )


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def check(issuer: Issuer, clock: Clock) -> AsyncIterator[TokenCheck]:
    http = httpx.AsyncClient(transport=issuer.transport())
    yield TokenCheck(settings(issuer), http=http, clock=clock)
    await http.aclose()


async def rejection(check: TokenCheck, header: str | None) -> tuple[str, str]:
    with pytest.raises(TokenRejected) as caught:
        await check.claims(header)
    assert caught.value.status_code == 401
    return caught.value.detail, caught.value.headers["WWW-Authenticate"]  # type: ignore[index]


async def test_a_valid_token_gives_its_claims(check: TokenCheck, issuer: Issuer) -> None:
    claims = await check.claims("Bearer " + issuer.mint(scope="a b"))
    assert claims.scopes == {"a", "b"}
    assert claims.client_id == "order_svc"
    assert claims.subject == "service-account-order_svc"


async def test_the_scheme_is_case_insensitive(check: TokenCheck, issuer: Issuer) -> None:
    assert (await check.claims("bearer " + issuer.mint())).client_id == "order_svc"
    assert (await check.claims("BEARER " + issuer.mint())).client_id == "order_svc"


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_no_bearer_token_is_a_challenge_without_error(
    check: TokenCheck, header: str | None
) -> None:
    detail, challenge = await rejection(check, header)
    assert challenge == 'Bearer realm="pizza"'
    assert detail == "a bearer token is required"


def _tampered(token: str) -> str:
    head, body, signature = token.split(".")
    return f"{head}.{body}.{signature[:-4]}AAAA"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda i: "Bearer", "the Authorization header must be: Bearer <token>"),
        (lambda i: "Bearer a b", "the Authorization header must be: Bearer <token>"),
        (lambda i: "Bearer not-a-jwt", "the token is not a well-formed JWT"),
        (lambda i: "Bearer " + i.mint(lifetime_s=-60), "the token has expired"),
        (lambda i: "Bearer " + i.mint(nbf=int(time.time()) + 60), "the token is not valid yet"),
        (lambda i: "Bearer " + i.mint(iss="http://x"), "the token's issuer is not accepted"),
        (lambda i: "Bearer " + i.mint(aud="kitchen"), "the token is not meant for this service"),
        (lambda i: "Bearer " + i.mint(aud=None), "the token lacks a required claim"),
        (lambda i: "Bearer " + i.mint(exp=None), "the token lacks a required claim"),
        (lambda i: "Bearer " + _tampered(i.mint()), "the token's signature does not verify"),
        (
            lambda i: "Bearer " + i.mint(headers={"kid": "nobody"}),
            "the token is signed by a key the issuer does not publish",
        ),
        (
            lambda i: "Bearer " + i.mint(headers={"kid": None}),
            "the token names no signing key (kid)",
        ),
    ],
    ids=[
        "no-token", "two-tokens", "not-a-jwt", "expired", "not-yet-valid", "wrong-issuer",
        "wrong-audience", "no-audience", "no-expiry", "bad-signature", "unknown-kid", "no-kid",
    ],
)  # fmt: skip
async def test_every_bad_token_is_invalid_token(
    check: TokenCheck, issuer: Issuer, make: Any, why: str
) -> None:
    detail, challenge = await rejection(check, make(issuer))
    assert detail == why
    assert challenge == f'Bearer realm="pizza", error="invalid_token", error_description="{why}"'


async def test_a_symmetric_algorithm_is_refused(check: TokenCheck, issuer: Issuer) -> None:
    # The classic confusion: an HS256 token "signed" with the public key as a secret.
    forged = jwt.encode({"sub": "x"}, "s" * 32, algorithm="HS256", headers={"kid": "k"})
    detail, _ = await rejection(check, "Bearer " + forged)
    assert detail == "the token's algorithm is not accepted"


async def test_the_leeway_allows_small_clock_differences(check: TokenCheck, issuer: Issuer) -> None:
    now = int(time.time())
    assert await check.claims("Bearer " + issuer.mint(exp=now - 5))  # leeway 10 s
    assert await check.claims("Bearer " + issuer.mint(nbf=now + 5, iat=now + 5))
    await rejection(check, "Bearer " + issuer.mint(exp=now - 15))


async def test_keys_are_cached(check: TokenCheck, issuer: Issuer) -> None:
    for _ in range(20):
        await check.claims("Bearer " + issuer.mint())
    assert issuer.requests["jwks"] == 1


async def test_a_new_key_is_taken_without_restart_and_a_retired_one_refused(
    check: TokenCheck, issuer: Issuer, clock: Clock
) -> None:
    old_token = issuer.mint()
    await check.claims("Bearer " + old_token)
    old = issuer.signing_kid
    issuer.rotate()
    issuer.retire(old)
    clock.now += 5  # the refetch limit has passed since the first fetch
    assert await check.claims("Bearer " + issuer.mint())  # unknown kid: refetched
    assert issuer.requests["jwks"] == 2
    detail, _ = await rejection(check, "Bearer " + issuer.mint(kid=old))
    assert detail == "the token is signed by a key the issuer does not publish"
    # A token that passed before its key was withdrawn passes no longer.
    detail, _ = await rejection(check, "Bearer " + old_token)
    assert detail == "the token is signed by a key the issuer does not publish"


async def test_a_token_that_passed_is_not_verified_again(
    check: TokenCheck, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    token = issuer.mint(scope="things:read")
    for _ in range(3):
        assert (await check.claims("Bearer " + token)).scopes == {"things:read"}
    assert decoded == [token]


async def test_a_token_that_passed_is_refused_once_it_expires(issuer: Issuer, clock: Clock) -> None:
    http = httpx.AsyncClient(transport=issuer.transport())
    check = TokenCheck(settings(issuer, leeway_s=0), http=http, clock=clock)
    token = issuer.mint(exp=int(time.time()) + 1)
    assert await check.claims("Bearer " + token)
    await asyncio.sleep(1.5)
    detail, _ = await rejection(check, "Bearer " + token)
    assert detail == "the token has expired"
    await http.aclose()


async def test_unknown_kids_refetch_at_most_once_per_interval(
    check: TokenCheck, issuer: Issuer, clock: Clock
) -> None:
    await check.claims("Bearer " + issuer.mint())
    flood = [issuer.mint(headers={"kid": f"made-up-{n}"}) for n in range(50)]
    clock.now += 5
    for token in flood:
        await rejection(check, "Bearer " + token)
    assert issuer.requests["jwks"] == 2  # one refetch for the whole flood
    clock.now += 5
    await rejection(check, "Bearer " + flood[0])
    assert issuer.requests["jwks"] == 3


async def test_concurrent_requests_share_one_fetch(check: TokenCheck, issuer: Issuer) -> None:
    tokens = [issuer.mint() for _ in range(20)]
    await asyncio.gather(*(check.claims("Bearer " + t) for t in tokens))
    assert issuer.requests["jwks"] == 1


async def test_old_keys_serve_while_the_issuer_is_down(
    check: TokenCheck, issuer: Issuer, clock: Clock
) -> None:
    await check.claims("Bearer " + issuer.mint())
    issuer.down = True
    clock.now += 3600  # long past the cache's lifetime
    assert await check.claims("Bearer " + issuer.mint())
    issuer.down = False
    clock.now += 5
    assert await check.claims("Bearer " + issuer.mint())
    assert issuer.requests["jwks"] == 2  # refreshed once it was back


async def test_no_keys_and_the_issuer_down_is_503(check: TokenCheck, issuer: Issuer) -> None:
    issuer.down = True
    with pytest.raises(KeysUnavailable) as caught:
        await check.claims("Bearer " + issuer.mint())
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "5"}


async def test_the_keys_url_comes_from_discovery(issuer: Issuer) -> None:
    async with httpx.AsyncClient(transport=issuer.transport()) as http:
        check = TokenCheck(settings(issuer, jwks_url=None), http=http)
        assert await check.claims("Bearer " + issuer.mint())


# The guard in an app, over HTTP (in process).


@pytest.fixture
async def client(check: TokenCheck) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = service_app(
        title="t", description="d", route_handlers=[thing], ready_checks={}, token_check=check
    )
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def test_the_guard_answers_problems(
    client: AsyncTestClient[Litestar], issuer: Issuer
) -> None:
    answer = await client.get("/thing", headers={"Authorization": "Bearer " + issuer.mint()})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["title"] == "Forbidden"
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="pizza", error="insufficient_scope", '
        'error_description="the token lacks the scope things:read", scope="things:read"'
    )

    answer = await client.get("/thing")
    assert answer.status_code == 401
    assert answer.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "a bearer token is required",
    }

    token = issuer.mint(scope="things:read")
    answer = await client.get("/thing", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json() == {"thing": "yes"}


async def test_the_document_declares_the_bearer_scheme(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/thing"]["get"]["security"] == [{"bearerAuth": ["things:read"]}]


def test_without_a_token_check_the_guard_lets_everything_by() -> None:
    app = service_app(title="t", description="d", route_handlers=[thing], ready_checks={})
    with TestClient(app) as test_client:
        assert test_client.get("/thing").status_code == 200
        document = test_client.get("/schema/openapi.json").json()
    assert "security" not in document["paths"]["/thing"]["get"]
