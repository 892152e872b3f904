"""The tracking token a customer reads their order with. No I/O here.

The token is derived, not drawn at random: HMAC-SHA256 of the order id under order_svc's
tracking secret, base64url (43 characters, as ``secrets.token_urlsafe(32)``). Only its
SHA-256 is stored (and sent to delivery in order.placed), so a copy of a database lets
nobody read orders; yet an idempotent replay of ``POST /orders`` whose first answer was
lost can hand out the very same token again, by deriving it once more. Storing the token
encrypted would do that too, but would keep something decryptable next to the data; the
derivation keeps nothing but the digest.

Without the secret the token cannot be guessed. Rotating the secret (after a leak) leaves
the tokens already handed out working (their digests are stored), but a replay of an
earlier order can then no longer derive its token: it answers without one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pizza_common.web import tracking_token_matches, tracking_token_sha256


class TrackingTokens:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the tracking secret is empty")
        self._key = secret.encode()

    def token_for(self, order_id: str) -> str:
        mac = hmac.new(self._key, f"tracking-token:{order_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def sha256_for(self, order_id: str) -> str:
        """The digest stored with a new order."""
        return tracking_token_sha256(self.token_for(order_id))

    def handed_out(self, order_id: str, stored_sha256: str | None) -> str | None:
        """The order's token for its 201, again on a replay; None if it cannot be derived
        any more (no digest stored, or the secret changed since)."""
        token = self.token_for(order_id)
        return token if tracking_token_matches(token, stored_sha256) else None
