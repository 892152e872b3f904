"""The board against the real broker: the administrator's clients, and the board's own
Kafka identity put in the environment as `just up` gives it."""

from __future__ import annotations

from typing import Any

import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config, service_kafka_env


@pytest.fixture(scope="module")
def admin(infra: InfraSettings) -> dict[str, Any]:
    """The test's own clients: the administrator's, taken before the board's identity is
    put in the environment (which the tooling's admin_config would read)."""
    return admin_config(infra)


@pytest.fixture
def board_principal(
    infra: InfraSettings, admin: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board's Kafka identity, as just up gives it."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", infra.schema_registry_url)
    for name, value in service_kafka_env(infra, "board").items():
        monkeypatch.setenv(name, value)
