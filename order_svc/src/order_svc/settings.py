"""order_svc settings, from ``ORDER_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from pizza_common.runtime import PORTS, ServiceSettings, local_secret
from pizza_common.web import TokenCheckSettings

# The largest request body taken by default (an order is a few hundred bytes).
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class OrderSettings(ServiceSettings, TokenCheckSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    service_name: str = "order_svc"
    port: int = PORTS.order

    # Reading an order takes its tracking token, or a bearer token with orders:read of
    # auth_issuer once that is set (ORDER_AUTH_*; docs/security.md, "Customer data").
    auth_audience: str = "order-svc"  # the realm's name for order_svc
    # The key the tracking tokens are derived with (order_svc.tracking). Unset: one
    # generated into var/secrets/order-tracking.secret on first start and kept there.
    tracking_secret: SecretStr | None = None

    payment_url: str = f"http://127.0.0.1:{PORTS.payment}"
    # One attempt may take this long before it counts as a timeout and is retried ...
    payment_attempt_timeout_s: float = 1.0
    # ... and the customer has an answer within this, counted from the request's arrival,
    # whatever payment does ...
    payment_deadline_s: float = 3.0
    # ... of which this much is kept back from the charge for saving the outcome and
    # answering.
    payment_answer_reserve_s: float = 0.5
    # At most this many order placements run at once; one more is answered 503 with
    # Retry-After at once instead of queueing past the deadline. The connection pool to
    # payment is sized for it, so no attempt waits for a connection.
    admission_limit: int = 64
    shed_retry_after_s: int = 1
    # Consecutive failed attempts that open the circuit, and how long it stays open.
    breaker_threshold: int = 5
    breaker_open_s: float = 5.0
    # Retry-After for a 503 when the circuit is not open (payment slow or refusing).
    retry_after_s: int = 5

    # Calls to payment carry an access token of the identity provider (client
    # credentials, docs/security.md) once oauth_token_url is set; unset, none.
    oauth_token_url: str | None = None
    oauth_client_id: str = "order-svc"
    oauth_client_secret: SecretStr = SecretStr("")
    oauth_scope: str = "payments:write payments:read"
    # A new token is fetched when this much of the current one's life is left (at most
    # half of it): the provider may be down this long without any charge noticing.
    oauth_refresh_ahead_s: float = Field(default=60.0, ge=0)
    oauth_timeout_s: float = Field(default=2.0, gt=0)

    # The recovery worker: every interval it settles orders left in payment_pending or
    # payment_unavailable for longer than recovery_after_s, by asking payment what the
    # order's key charged. An approved charge found later than recovery_accept_within_s
    # after the order was placed is voided instead: nobody waits for that pizza any more.
    recovery_enabled: bool = True
    recovery_interval_s: float = 5.0
    recovery_after_s: float = 30.0
    recovery_accept_within_s: float = 900.0
    recovery_batch: int = 100

    currency: str = "CHF"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    # The outbox relay: how many events it sends at once, and how long librdkafka may
    # try to deliver one before the relay takes it back and tries again later.
    relay_enabled: bool = True  # false pauses publishing (events wait in the outbox)
    relay_batch: int = 200
    relay_delivery_timeout_ms: int = 30_000

    def tracking_key(self) -> str:
        if self.tracking_secret is not None and self.tracking_secret.get_secret_value():
            return self.tracking_secret.get_secret_value()
        return local_secret("order-tracking")
