"""What delivery's tests share: how an operator of the test identity provider asks."""

from __future__ import annotations

from tests.oauth_server import OAuthServer

DELIVERY_AUDIENCE = "delivery-svc"


def operator_headers(idp: OAuthServer, scope: str = "orders:read") -> dict[str, str]:
    """An operator's bearer token for delivery, with ``scope``."""
    return {"Authorization": f"Bearer {idp.issuer.mint(scope=scope, aud=DELIVERY_AUDIENCE)}"}
