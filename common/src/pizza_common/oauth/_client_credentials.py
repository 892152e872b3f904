"""A service's access token for another's API: OAuth2 client credentials at the identity
provider (Authlib's httpx client), kept ready so that a call never waits for it (order_svc
towards payment_svc, the board towards order_svc and delivery_svc).

- A token is cached until shortly before it expires (``min_left_s``), and a background
  task fetches the next one ahead of time (when ``refresh_ahead_s`` of its life is left,
  or half of it for short-lived tokens).
- While the provider is down the cached token stays in use until it expires; the
  background task keeps trying, backing off.
- With no usable token a call asks once itself; if that fails too it gets
  :class:`TokenUnavailable` at once (for ``retry_s``, so a burst of calls does not
  hammer a provider that is down); order_svc's payment client treats that as payment
  unavailable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import structlog
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

log = structlog.get_logger(__name__)

# What the provider (or the way to it) can fail with: each means "no new token now".
_FAILURES = (httpx2.HTTPError, OAuthError, ValueError, KeyError, TypeError, TimeoutError)


class TokenUnavailable(Exception):
    """No valid token, and the identity provider gives none now."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float
    expires_at: float


class ClientCredentials:
    """Access tokens of one client, fetched with the client-credentials grant."""

    def __init__(
        self,
        oauth: AsyncOAuth2Client,
        token_url: str,
        *,
        refresh_ahead_s: float = 60.0,
        min_left_s: float = 5.0,
        retry_s: float = 1.0,
        retry_max_s: float = 10.0,
        default_lifetime_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._oauth = oauth
        self._url = token_url
        self._ahead = refresh_ahead_s
        self._min_left = min_left_s
        self._retry = retry_s
        self._retry_max = retry_max_s
        self._default_lifetime = default_lifetime_s
        self._clock = clock
        self._token: _Token | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _usable(self) -> _Token | None:
        token = self._token
        if token is not None and self._clock() < token.expires_at - self._min_left:
            return token
        return None

    async def token(self) -> str:
        """A valid access token: the cached one, or a new one if there is none."""
        if (token := self._usable()) is not None:
            return token.value
        async with self._lock:  # one fetch at a time: the others take its token
            if (token := self._usable()) is not None:
                return token.value
            failed = self._failed_at
            if failed is not None and self._clock() - failed < self._retry:
                raise TokenUnavailable("the identity provider failed just now")
            return (await self._fetch()).value

    def invalidate(self, value: str) -> None:
        """The called service refused ``value``: never send it again."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> _Token:
        self.fetches += 1
        started = self._clock()
        try:
            answer: dict[str, Any] = await self._oauth.fetch_token(
                self._url, grant_type="client_credentials"
            )
            value = str(answer["access_token"])
        except _FAILURES as exc:
            self._failed_at = self._clock()
            log.warning("no token from the identity provider", error=f"{type(exc).__name__}")
            raise TokenUnavailable(str(exc) or type(exc).__name__) from exc
        lifetime = float(answer.get("expires_in") or self._default_lifetime)
        self._failed_at = None
        self._token = _Token(
            value,
            refresh_at=started + max(lifetime / 2, lifetime - self._ahead),
            expires_at=started + lifetime,
        )
        log.info("token fetched", expires_in_s=lifetime)
        return self._token

    async def run(self) -> None:
        """Keep a fresh token until cancelled: fetch ahead of expiry, retry with backoff."""
        failures = 0
        while True:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                try:
                    async with self._lock:
                        token = await self._fetch()
                    failures = 0
                except TokenUnavailable:
                    failures += 1
                    await asyncio.sleep(min(self._retry_max, self._retry * 2 ** (failures - 1)))
                    continue
            await asyncio.sleep(max(0.05, token.refresh_at - self._clock()))

    async def aclose(self) -> None:
        await self._oauth.aclose()


def client_credentials(
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str,
    *,
    timeout_s: float,
    refresh_ahead_s: float,
) -> ClientCredentials:
    """A token source for one client at ``token_url``; it connects on first use."""
    oauth = AsyncOAuth2Client(
        client_id=client_id, client_secret=client_secret, scope=scope, timeout=timeout_s
    )
    return ClientCredentials(oauth, token_url, refresh_ahead_s=refresh_ahead_s)
