"""Connection settings every service reads from the environment.

Defaults point at the local infra started by ``just infra-up`` (loopback only).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_common.runtime._ports import PORTS


class KafkaSettings(BaseSettings):
    """Where the broker and the schema registry are, and who the client is to the broker.

    ``KAFKA_BOOTSTRAP_SERVERS`` and ``SCHEMA_REGISTRY_URL`` override the defaults. With
    ``KAFKA_SASL_USERNAME`` set the client authenticates (SCRAM-SHA-512 unless
    ``KAFKA_SASL_MECHANISM`` says otherwise); without it, it connects unauthenticated,
    which only a broker of one's own without ACLs accepts.
    """

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = f"127.0.0.1:{PORTS.kafka}"
    # Apicurio Registry serves the Confluent-compatible API under this path.
    schema_registry_url: str = f"http://127.0.0.1:{PORTS.schema_registry}/apis/ccompat/v7"
    # None: SASL_PLAINTEXT when a username is set, else PLAINTEXT. SASL_SSL for a broker
    # off this machine (its CA: librdkafka's default trust store).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr = SecretStr("")
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
