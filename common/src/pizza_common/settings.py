"""Connection settings every service reads from the environment.

Defaults point at the local infra started by ``just infra-up`` (loopback only).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the broker and the schema registry are.

    ``KAFKA_BOOTSTRAP_SERVERS`` and ``SCHEMA_REGISTRY_URL`` override the defaults.
    """

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Apicurio Registry serves the Confluent-compatible API under this path.
    schema_registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
