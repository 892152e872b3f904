"""kitchen_svc's settings: ``KITCHEN_*`` from the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from pizza_common.contracts import KITCHEN_GROUP, KITCHEN_TRANSACTIONAL_ID_PREFIX
from pizza_common.runtime import PORTS, SecondsRange, ServiceSettings

CONSUMER_GROUP = KITCHEN_GROUP


class KitchenSettings(ServiceSettings):
    """One process is one kitchen instance; give each its own ``KITCHEN_INSTANCE`` and port.

    All instances share the one database of the service (``db_url``), so a duplicate order
    is recognised whichever instance cooked it first.
    """

    model_config = SettingsConfigDict(env_prefix="KITCHEN_", extra="ignore")

    service_name: str = "kitchen_svc"
    port: int = PORTS.kitchen
    cook_seconds: str = "5-10"
    """How long cooking takes: ``"7"`` or a range ``"5-10"`` drawn at random; ``"0"`` in tests."""
    ovens: int = Field(default=4, ge=1)
    """How many orders this instance cooks at once (records in flight of its consumer)."""

    @field_validator("cook_seconds")
    @classmethod
    def _valid_cook_seconds(cls, value: str) -> str:
        SecondsRange.parse(value)
        return value

    @property
    def cook_time(self) -> SecondsRange:
        return SecondsRange.parse(self.cook_seconds)

    @property
    def transactional_id(self) -> str:
        # Unique per instance: a restarted instance fences its own earlier incarnation.
        # The prefix is what kitchen's principal may use (pizza_common.contracts.ACLS).
        return f"{KITCHEN_TRANSACTIONAL_ID_PREFIX}{self.instance_id}"
