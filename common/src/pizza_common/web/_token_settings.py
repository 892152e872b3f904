"""The settings of a service that checks bearer tokens: ``<PREFIX>AUTH_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from pizza_common.web._tokens import TokenSettings


class TokenCheckSettings(BaseSettings):
    """Mixed into a service's settings: tokens are checked once ``auth_issuer`` is set (the
    issuer URL, as in the tokens' ``iss``); the service sets its own ``auth_audience``."""

    auth_issuer: str | None = None
    auth_audience: str = ""
    # Unset: the JWKS URL is read from the issuer's discovery document.
    auth_jwks_url: str | None = None
    auth_leeway_s: float = Field(default=10.0, ge=0)
    auth_jwks_cache_s: float = Field(default=300.0, gt=0)
    # A token naming a key not seen yet refetches the keys at most once per this.
    auth_jwks_refetch_s: float = Field(default=5.0, ge=0)

    def tokens(self, realm: str) -> TokenSettings | None:
        """What a caller's token must be; None while tokens are not checked."""
        if not self.auth_issuer:
            return None
        return TokenSettings(
            issuer=self.auth_issuer,
            audience=self.auth_audience,
            jwks_url=self.auth_jwks_url or None,
            leeway_s=self.auth_leeway_s,
            jwks_cache_s=self.auth_jwks_cache_s,
            jwks_refetch_s=self.auth_jwks_refetch_s,
            realm=realm,
        )
