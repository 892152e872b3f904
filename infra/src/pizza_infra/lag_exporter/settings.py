"""The exporter's own settings: where it listens and how it logs. Where Kafka is comes
from the platform's shared Kafka settings (``KAFKA_BOOTSTRAP_SERVERS``), as for every
service: the exporter is deployed beside them, not run by the dev tooling."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_infra.config import HOST
from pizza_infra.ports import DEFAULT_PORTS


class LagExporterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAG_EXPORTER_", extra="ignore")

    # 127.0.0.1 like everything of the platform; in a container 0.0.0.0 (docker-compose).
    host: str = HOST
    port: int = DEFAULT_PORTS["LAG_EXPORTER_PORT"]
    instance: str = "lag-exporter"
    log_level: str = "INFO"
