"""payment_svc's settings, from ``PAYMENT_*`` environment variables."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from payment_svc.domain import (
    DEFAULT_AMOUNT_LIMIT,
    DeclineRules,
    Latency,
    SimulationConfig,
    parse_amount,
)
from payment_svc.shared_simulation import DEFAULT_REFRESH_S
from pizza_common.runtime import PORTS, ServiceSettings
from pizza_common.web import TokenSettings

# A default for local runs only: any deployment sets PAYMENT_ADMIN_TOKEN to a secret.
LOCAL_ADMIN_TOKEN = "pizza-admin"  # noqa: S105


class PaymentSettings(ServiceSettings):
    """``PAYMENT_PORT``, ``PAYMENT_DATABASE_URL``, ``PAYMENT_LATENCY_MS``, … override these."""

    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore")

    service_name: str = "payment_svc"
    port: int = PORTS.payment
    # The admin API's static token, used only while auth_issuer is unset.
    admin_token: str = Field(default=LOCAL_ADMIN_TOKEN, min_length=1)
    # Bearer tokens of the identity provider on every route (docs/security.md): on once
    # auth_issuer is set (the issuer URL, as in the tokens' iss).
    auth_issuer: str | None = None
    # The realm's name for payment (infra/keycloak/pizza-realm.json).
    auth_audience: str = "payment-svc"
    # Unset: the JWKS URL is read from the issuer's discovery document.
    auth_jwks_url: str | None = None
    auth_leeway_s: float = Field(default=10.0, ge=0)
    auth_jwks_cache_s: float = Field(default=300.0, gt=0)
    # A token naming a key not seen yet refetches the keys at most once per this.
    auth_jwks_refetch_s: float = Field(default=5.0, ge=0)
    # The simulation a database starts with (kept there for every instance, and replaced
    # by PUT /admin/simulation): these seed only a database that has none yet.
    latency_ms: str = "20-80"
    error_rate: float = Field(default=0.03, ge=0.0, le=1.0)
    hang: bool = False
    amount_limit: Decimal = DEFAULT_AMOUNT_LIMIT
    # How old an instance's copy of the stored simulation may get: every instance follows a
    # change within this time (the one that took the PUT at once). Each refresh is a read.
    simulation_refresh_s: float = Field(default=DEFAULT_REFRESH_S, gt=0)
    # A claim on an idempotency key older than this is taken to be left by a crash; keep it
    # above the longest latency the simulation allows (domain's MAX_LATENCY_MS) so live requests
    # keep theirs.
    stale_claim_s: float = Field(default=120.0, gt=0)

    @field_validator("latency_ms")
    @classmethod
    def _latency_parses(cls, value: str) -> str:
        Latency.parse(value)
        return value

    @field_validator("amount_limit", mode="before")
    @classmethod
    def _limit_is_money(cls, value: object) -> Decimal:
        return parse_amount(value)

    def tokens(self) -> TokenSettings | None:
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
            realm="payment_svc",
        )

    def simulation(self) -> SimulationConfig:
        return SimulationConfig(
            latency=Latency.parse(self.latency_ms),
            error_rate=self.error_rate,
            hang=self.hang,
            rules=DeclineRules(amount_limit=self.amount_limit),
        )
