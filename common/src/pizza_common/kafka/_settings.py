"""Connection settings every service reads from the environment.

Defaults point at the local infra started by ``just infra-up`` (loopback only).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_common.runtime._ports import PORTS


class KafkaSettings(BaseSettings):
    """Where the broker and the schema registry are.

    ``KAFKA_BOOTSTRAP_SERVERS`` and ``SCHEMA_REGISTRY_URL`` override the defaults.
    """

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = f"127.0.0.1:{PORTS.kafka}"
    # Apicurio Registry serves the Confluent-compatible API under this path.
    schema_registry_url: str = f"http://127.0.0.1:{PORTS.schema_registry}/apis/ccompat/v7"
    # A member that stops heartbeating loses its partitions after this long (the broker's
    # minimum is 6 s): a killed kitchen's orders move on within seconds, not 45.
    kafka_session_timeout_s: float = Field(default=6.0, ge=1.0, le=300.0)
    # The timeout given to each blocking client call (commit, transaction steps).
    kafka_call_timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)
    # A call still running this long past its own timeout is stuck for good: the
    # watchdog exits the process so that its supervisor starts it anew.
    kafka_stuck_grace_s: float = Field(default=30.0, gt=0.0, le=600.0)
    # A record whose processing failed this many times in a row (I/O each time) makes
    # the consumer recreate its clients and report itself not ready until it passes.
    kafka_max_record_attempts: int = Field(default=10, ge=1, le=1000)
