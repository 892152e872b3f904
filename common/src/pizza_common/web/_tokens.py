"""Checking the bearer tokens one service presents to another (OAuth2 access tokens as
JWTs, RFC 9068), and a guard that demands a scope per route.

A token passes when its signature verifies with a key of the issuer's JWKS, and its
``iss``, ``aud``, ``exp`` and ``nbf`` hold (with a small leeway for clocks). The keys are
cached; a token signed by a key not in the cache refetches the set, at most once per
``jwks_refetch_s``, so a flood of made-up key ids cannot hammer the issuer, and a key the
issuer adds (rotation) is taken without a restart. While the issuer cannot be reached the
cached keys stay in use; with none at all the answer is 503 (the token may be fine).

Answers follow RFC 6750: no credentials → 401 ``WWW-Authenticate: Bearer realm=...``; a
token that does not pass → 401 with ``error="invalid_token"``; a valid token without the
route's scope → 403 with ``error="insufficient_scope"``. The guard does nothing in an app
built without a token check, so a service switches it on by configuration alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
)
from litestar.handlers import BaseRouteHandler

log = structlog.get_logger("pizza.web.tokens")

STATE_KEY = "token_check"  # where service_app keeps the app's TokenCheck
BEARER_SCHEME = "bearerAuth"  # the security scheme's name in the OpenAPI document
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """What a service accepts: tokens of ``issuer`` for ``audience``."""

    issuer: str
    audience: str
    # None: read from the issuer's discovery document (``jwks_uri``).
    jwks_url: str | None = None
    # Clocks of issuer and service may differ this much (exp, nbf, iat).
    leeway_s: float = 10.0
    # Keys are refetched when older than this, even if every kid is known ...
    jwks_cache_s: float = 300.0
    # ... and on an unknown kid, but at most once per this.
    jwks_refetch_s: float = 5.0
    fetch_timeout_s: float = 2.0
    algorithms: tuple[str, ...] = ("RS256",)
    realm: str = "pizza"


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    raw: Mapping[str, Any]


class TokenRejected(NotAuthorizedException):
    """401: no token, or one that does not pass."""


class ScopeMissing(PermissionDeniedException):
    """403: a valid token without the scope the route demands."""


class KeysUnavailable(ServiceUnavailableException):
    """503: no key yet, and the issuer cannot be reached: the token cannot be judged."""


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _challenge(realm: str, **params: str) -> dict[str, str]:
    fields = [f'realm="{_quoted(realm)}"', *(f'{k}="{_quoted(v)}"' for k, v in params.items())]
    return {"WWW-Authenticate": "Bearer " + ", ".join(fields)}


class KeySet:
    """The issuer's signing keys by kid, fetched without blocking the event loop."""

    def __init__(
        self,
        settings: TokenSettings,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._given_http = http
        self._own_http: httpx.AsyncClient | None = None
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._jwks_url = settings.jwks_url
        self._fetched_at: float | None = None  # the last attempt, successful or not
        self._loaded_at: float | None = None  # the last successful fetch
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _http(self) -> httpx.AsyncClient:
        # Made on first use: building an app that never starts must open nothing.
        if self._given_http is not None:
            return self._given_http
        if self._own_http is None:
            self._own_http = httpx.AsyncClient()
        return self._own_http

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid``; None if the issuer does not (or no longer) publish it."""
        if self._stale() or kid not in self._keys:
            async with self._lock:  # one fetch at a time; the others reuse its result
                if self._stale() or (kid not in self._keys and self._may_refetch()):
                    await self._refresh()
        if not self._keys and self._loaded_at is None:
            raise KeysUnavailable(
                detail="the token's issuer cannot be reached to check it; retry",
                headers={"Retry-After": str(max(1, round(self._settings.jwks_refetch_s)))},
            )
        return self._keys.get(kid)

    def holds(self, kid: str) -> bool:
        """``kid`` is among fresh keys: a token verified with it earlier still verifies."""
        return kid in self._keys and not self._stale()

    def _stale(self) -> bool:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._settings.jwks_cache_s:
            # Stale, but while the issuer is down keep the old keys and ask only so often.
            return self._may_refetch()
        return False

    def _may_refetch(self) -> bool:
        last = self._fetched_at
        return last is None or self._clock() - last >= self._settings.jwks_refetch_s

    async def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            self._keys = await self._fetch()
            self._loaded_at = self._clock()
            log.info("token keys fetched", kids=sorted(self._keys))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            log.warning("token keys unavailable", error=f"{type(exc).__name__}: {exc}")

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        timeout = self._settings.fetch_timeout_s
        if self._jwks_url is None:
            url = self._settings.issuer.rstrip("/") + DISCOVERY_PATH
            answer = await self._http().get(url, timeout=timeout)
            answer.raise_for_status()
            self._jwks_url = str(answer.json()["jwks_uri"])
        answer = await self._http().get(self._jwks_url, timeout=timeout)
        answer.raise_for_status()
        keys: dict[str, jwt.PyJWK] = {}
        for data in answer.json()["keys"]:
            # A JWKS may also hold encryption keys (Keycloak's RSA-OAEP): only signing keys.
            if data.get("use", "sig") != "sig" or "kid" not in data:
                continue
            if data.get("alg", self._settings.algorithms[0]) not in self._settings.algorithms:
                continue
            try:
                keys[str(data["kid"])] = jwt.PyJWK(data, algorithm=self._settings.algorithms[0])
            except jwt.PyJWTError as exc:
                log.warning("token key skipped", kid=data.get("kid"), error=str(exc))
        return keys


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list):
        return frozenset(str(item) for item in scope)
    return frozenset()


# What each of PyJWT's refusals tells the caller (error_description).
_WHY: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuerError, "the token's issuer is not accepted"),
    (jwt.InvalidAudienceError, "the token is not meant for this service"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (jwt.DecodeError, "the token is not a well-formed JWT"),
)


MAX_VERIFIED_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: Claims
    kid: str
    expires: float  # the token's exp, seconds since the epoch


class TokenCheck:
    """Validates ``Authorization`` headers for one service; one per app."""

    def __init__(
        self,
        settings: TokenSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.keys = KeySet(settings, http, clock)
        # Tokens that passed, by their text: a client sends the same token for minutes,
        # and checking its RS256 signature again costs ~80 µs of CPU per call.
        self._verified: dict[str, _Verified] = {}

    async def aclose(self) -> None:
        await self.keys.aclose()

    def rejected(self, description: str | None) -> TokenRejected:
        if description is None:  # no credentials: RFC 6750 names no error then
            return TokenRejected(
                detail="a bearer token is required", headers=_challenge(self.settings.realm)
            )
        headers = _challenge(
            self.settings.realm, error="invalid_token", error_description=description
        )
        return TokenRejected(detail=description, headers=headers)

    async def claims(self, authorization: str | None) -> Claims:
        """The claims of a token that passes; :class:`TokenRejected` otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            raise self.rejected(None)
        token = token.strip()
        if not token or " " in token:
            raise self.rejected("the Authorization header must be: Bearer <token>")
        verified = self._verified.get(token)
        if verified is not None:
            # Still unexpired, and its key not withdrawn since (the keys are refetched on
            # the same schedule as for a token seen the first time).
            if time.time() < verified.expires + self.settings.leeway_s and self.keys.holds(
                verified.kid
            ):
                return verified.claims
            del self._verified[token]
        claims, kid = await self._verify(token)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.clear()  # many clients at once: start over rather than grow
        self._verified[token] = _Verified(claims, kid, float(claims.raw["exp"]))
        return claims

    async def _verify(self, token: str) -> tuple[Claims, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise self.rejected("the token is not a well-formed JWT") from exc
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise self.rejected("the token names no signing key (kid)")
        if header.get("alg") not in self.settings.algorithms:
            raise self.rejected("the token's algorithm is not accepted")
        key = await self.keys.key(kid)
        if key is None:
            raise self.rejected("the token is signed by a key the issuer does not publish")
        try:
            decoded: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            why = next((text for kind, text in _WHY if isinstance(exc, kind)), None)
            raise self.rejected(why or "the token is not valid") from exc
        client = decoded.get("azp", decoded.get("client_id"))
        claims = Claims(
            subject=str(decoded["sub"]),
            client_id=str(client) if client is not None else None,
            scopes=_scopes(decoded),
            raw=decoded,
        )
        return claims, kid


@dataclass(frozen=True, slots=True)
class ScopeGuard:
    """A litestar guard: the request's token must pass and carry ``scope``."""

    scope: str

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        check = token_check_of(connection)
        if check is None:
            return  # this app checks no tokens
        await self.authorize(connection, check)

    async def authorize(
        self, connection: ASGIConnection[Any, Any, Any, Any], check: TokenCheck
    ) -> Claims:
        """The claims of the request's token if it passes ``check`` and carries the scope;
        :class:`TokenRejected` (401) or :class:`ScopeMissing` (403) otherwise."""
        try:
            claims = await check.claims(connection.headers.get("Authorization"))
        except TokenRejected as exc:
            log.info("token rejected", path=connection.url.path, reason=exc.detail)
            raise
        if self.scope not in claims.scopes:
            log.info("token lacks scope", client=claims.client_id, scope=self.scope)
            description = f"the token lacks the scope {self.scope}"
            headers = _challenge(
                check.settings.realm,
                error="insufficient_scope",
                error_description=description,
                scope=self.scope,
            )
            raise ScopeMissing(detail=description, headers=headers)
        connection.state.token_client = claims.client_id
        return claims


def token_check_of(connection: ASGIConnection[Any, Any, Any, Any]) -> TokenCheck | None:
    """The app's token check; None in an app that checks no tokens."""
    check: TokenCheck | None = connection.app.state.get(STATE_KEY)
    return check


def require_scope(scope: str) -> ScopeGuard:
    """A route's guard: a valid bearer token with ``scope``, once the app checks tokens
    (``service_app(token_check=...)``); without a token check it lets everything by."""
    return ScopeGuard(scope)
