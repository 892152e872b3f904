"""Access tokens a service sends: OAuth2 client credentials, cached and refreshed ahead of
expiry (needs the ``oauth`` extra: Authlib)."""

from pizza_common.oauth._client_credentials import (
    ClientCredentials,
    TokenUnavailable,
    client_credentials,
)

__all__ = ["ClientCredentials", "TokenUnavailable", "client_credentials"]
