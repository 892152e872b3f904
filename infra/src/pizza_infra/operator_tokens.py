"""The operator's credentials for the protected routes: payment_svc's (its admin API, its
reads) and the orders' (any order at order_svc and delivery_svc, delivery's list).

With Keycloak on, those services take only tokens of the realm, so the tooling (chaos
faults, anything else that sets the simulation, reads a payment or lists orders) asks
for one as the ``pizza-admin`` client: client credentials with the scope the route
needs, reused until shortly before it expires. With Keycloak off, no token is checked:
payment's admin API takes the static ``PAYMENT_ADMIN_TOKEN``, its reads and delivery's
list are open, and one order is read only with its tracking token (what tooling that
placed the order uses anyway).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Final

import httpx

from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.identity import OPERATOR_CLIENT, secret

ADMIN_SCOPE: Final = "payments:admin"
READ_SCOPE: Final = "payments:read"
ORDERS_READ_SCOPE: Final = "orders:read"
# payment_svc's documented local default for its admin API while tokens are off.
LOCAL_ADMIN_TOKEN: Final = "pizza-admin"  # noqa: S105
# A cached token this close to its expiry is replaced: a request must not carry one that
# expires on the way.
MIN_LEFT_S: Final = 30.0

# (token URL, scope) -> (token, monotonic expiry); shared by the threads of one run.
_cache: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def payment_headers(settings: InfraSettings, scope: str = ADMIN_SCOPE) -> dict[str, str]:
    """The ``Authorization`` header a call to payment_svc needs for ``scope``."""
    if not settings.keycloak_enabled:
        if scope != ADMIN_SCOPE:
            return {}
        static = os.environ.get("PAYMENT_ADMIN_TOKEN", LOCAL_ADMIN_TOKEN)
        return {"Authorization": f"Bearer {static}"}
    return {"Authorization": f"Bearer {access_token(settings, scope)}"}


def orders_headers(settings: InfraSettings) -> dict[str, str]:
    """The ``Authorization`` header that reads any order and delivery's list (orders:read)."""
    if not settings.keycloak_enabled:
        return {}
    return {"Authorization": f"Bearer {access_token(settings, ORDERS_READ_SCOPE)}"}


def access_token(settings: InfraSettings, scope: str) -> str:
    """A token of the operator's client with ``scope``, from the cache while it is fresh."""
    key = (settings.token_url, scope)
    with _lock:  # one fetch, however many threads want it at once
        cached = _cache.get(key)
        if cached is not None and cached[1] - time.monotonic() > MIN_LEFT_S:
            return cached[0]
        try:
            answer = httpx.post(
                settings.token_url,
                data={"grant_type": "client_credentials", "scope": scope},
                auth=(OPERATOR_CLIENT, secret(settings, OPERATOR_CLIENT)),
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise InfraError(
                f"Keycloak gives no token ({exc}); is it up? (just infra-status)"
            ) from exc
        if answer.status_code != 200:
            raise InfraError(
                f"Keycloak refused {OPERATOR_CLIENT} a token for {scope}: "
                f"{answer.status_code} {answer.text[:200]}"
            )
        body = answer.json()
        token = str(body["access_token"])
        _cache[key] = (token, time.monotonic() + float(body.get("expires_in", 60)))
        return token
