"""Who may read one customer's order: the customer, with the order's tracking token, or
an operator, with a bearer token that carries ``orders:read``.

The tracking token is the customer's only credential: order_svc hands it out with the
201 and keeps only its SHA-256, and so does delivery (from order.placed). A token that
does not match is answered exactly like an unknown order (404), so order ids cannot be
probed. No credential at all is a 401 with a challenge; a bearer token that does not
pass is a 401, and one without the scope a 403 (:mod:`pizza_common.web._tokens`).

Without a token check (no issuer configured: development without the identity
provider) a bearer token cannot be verified, so it opens nothing here: a customer's
order is still read only with its tracking token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Final

from litestar.connection import ASGIConnection

from pizza_common.web._tokens import ScopeGuard, TokenRejected, token_check_of

TRACKING_TOKEN_HEADER: Final = "X-Tracking-Token"  # noqa: S105 - a header name
ORDERS_READ: Final = "orders:read"
# What a token is compared with when the order has no digest (an order from before
# tracking tokens): the comparison costs the same either way.
_NO_DIGEST: Final = "0" * 64


def tracking_token_sha256(token: str) -> str:
    """The digest kept of a tracking token (hex): the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def tracking_token_matches(token: str, stored_sha256: str | None) -> bool:
    """Whether ``token`` is the one whose digest is stored, in constant time."""
    same = hmac.compare_digest(tracking_token_sha256(token), stored_sha256 or _NO_DIGEST)
    return same and stored_sha256 is not None


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """What a caller may read: the order of ``tracking_token``, or (None) any order."""

    tracking_token: str | None

    def allows(self, stored_sha256: str | None) -> bool:
        """Whether the order with this stored digest may be read."""
        if self.tracking_token is None:
            return True
        return tracking_token_matches(self.tracking_token, stored_sha256)


async def order_read_grant(
    connection: ASGIConnection[Any, Any, Any, Any], tracking_token: str | None
) -> ReadGrant:
    """The caller's grant to read an order; 401 without a credential, 401 or 403 for a
    bearer token that does not pass or lacks ``orders:read``."""
    if tracking_token:
        return ReadGrant(tracking_token)  # checked against the order, once it is found
    check = token_check_of(connection)
    if check is not None and connection.headers.get("Authorization") is not None:
        await ScopeGuard(ORDERS_READ).authorize(connection, check)
        return ReadGrant(None)
    realm = check.settings.realm if check is not None else "pizza"
    challenges = [f'Tracking-Token realm="{realm}"']
    if check is not None:
        challenges.append(f'Bearer realm="{realm}", scope="{ORDERS_READ}"')
    raise TokenRejected(
        detail=f"send the order's tracking token in {TRACKING_TOKEN_HEADER}"
        + (f", or a bearer token with the scope {ORDERS_READ}" if check is not None else ""),
        headers={"WWW-Authenticate": ", ".join(challenges)},
    )
