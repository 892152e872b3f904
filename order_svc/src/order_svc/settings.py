"""order_svc settings, from ``ORDER_*`` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from pizza_common.service import ServiceSettings


class OrderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    service_name: str = "order_svc"
    port: int = 8001

    payment_url: str = "http://127.0.0.1:8002"
    # One attempt may take this long before it counts as a timeout and is retried ...
    payment_attempt_timeout_s: float = 1.0
    # ... and the customer has an answer within this, whatever payment does.
    payment_deadline_s: float = 3.0
    # Consecutive failed attempts that open the circuit, and how long it stays open.
    breaker_threshold: int = 5
    breaker_open_s: float = 5.0
    # Retry-After for a 503 when the circuit is not open (payment slow or refusing).
    retry_after_s: int = 5

    currency: str = "CHF"
    max_body_bytes: int = 64 * 1024

    # The outbox relay: how many events it sends at once, and how long librdkafka may
    # try to deliver one before the relay takes it back and tries again later.
    relay_enabled: bool = True  # false pauses publishing (events wait in the outbox)
    relay_batch: int = 200
    relay_delivery_timeout_ms: int = 30_000
