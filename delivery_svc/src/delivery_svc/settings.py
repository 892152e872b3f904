"""delivery_svc's settings: ``DELIVERY_*`` from the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from pizza_common.contracts import DELIVERY_GROUP
from pizza_common.runtime import PORTS, SecondsRange, ServiceSettings
from pizza_common.web import TokenCheckSettings

CONSUMER_GROUP = DELIVERY_GROUP


class DeliverySettings(ServiceSettings, TokenCheckSettings):
    model_config = SettingsConfigDict(env_prefix="DELIVERY_", extra="ignore")

    service_name: str = "delivery_svc"
    port: int = PORTS.delivery
    # The list of orders needs a bearer token with orders:read of auth_issuer once that is
    # set (DELIVERY_AUTH_*); one order, its tracking token or such a token (docs/security.md).
    auth_audience: str = "delivery-svc"  # the realm's name for delivery_svc
    drivers: int = Field(default=3, ge=1, le=100)
    # How many events are applied at once; those done together share one transaction.
    events_in_flight: int = Field(default=16, ge=1, le=256)
    drive_seconds: str = "5-10"
    """How long a drive takes: ``"7"`` or a range ``"5-10"`` drawn per order; ``"0"`` in tests."""

    @field_validator("drive_seconds")
    @classmethod
    def _valid_drive_seconds(cls, value: str) -> str:
        SecondsRange.parse(value)
        return value

    @property
    def drive_time(self) -> SecondsRange:
        return SecondsRange.parse(self.drive_seconds)

    @property
    def driver_names(self) -> list[str]:
        return [f"driver-{number}" for number in range(1, self.drivers + 1)]
