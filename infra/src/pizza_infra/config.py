"""Infra settings: versions, ports and folders, each overridable from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_common.paths import REPO_ROOT

INFRA_DIR = REPO_ROOT / "infra"
HOST = "127.0.0.1"


class InfraSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_version: str = "4.4.0"
    registry_version: str = "3.3.3"
    zipkin_version: str = "3.6.1"

    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    schema_registry_port: int = 8081
    # Quarkus' management interface (health); kept on loopback like everything else.
    schema_registry_management_port: int = 8091
    zipkin_port: int = 9411  # the trace UI and the spans' endpoint

    kafka_heap: str = "512m"
    registry_heap: str = "384m"
    zipkin_heap: str = "256m"
    # How long `up` waits for each server to answer.
    start_timeout_s: float = 120.0

    var_dir: Path = Field(default=REPO_ROOT / "var", validation_alias="PIZZA_VAR_DIR")
    cache_override: Path | None = Field(default=None, validation_alias="PIZZA_CACHE_DIR")
    topic_replication_factor: int | None = None
    # Set to work on a broker and registry that run elsewhere (e.g. in Docker Compose):
    # topics-apply, topics, schemas-register and schemas-check then use them.
    kafka_bootstrap_servers: str | None = None
    schema_registry_url_override: str | None = Field(
        default=None, validation_alias="SCHEMA_REGISTRY_URL"
    )

    @property
    def cache_dir(self) -> Path:
        """Downloads; shared by every data folder (tests use their own data, not their own jars)."""
        return self.cache_override or self.var_dir / "cache"

    @property
    def data_dir(self) -> Path:
        return self.var_dir / "data"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def zipkin_url(self) -> str:
        return f"http://{HOST}:{self.zipkin_port}"

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"{HOST}:{self.kafka_port}"

    @property
    def registry_base_url(self) -> str:
        return f"http://{HOST}:{self.schema_registry_port}"

    @property
    def schema_registry_url(self) -> str:
        """The Confluent-compatible API that confluent-kafka's client speaks."""
        return self.schema_registry_url_override or f"{self.registry_base_url}/apis/ccompat/v7"


class InfraError(Exception):
    """Something the user has to act on; the CLI prints it as one clear sentence."""
