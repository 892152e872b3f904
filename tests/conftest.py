"""Shared fixtures.

Integration tests run against a real Kafka broker and a real schema registry of their
own: other ports than the platform's defaults and a fresh data folder, so a running
platform is never touched and every session starts clean. Set ``PIZZA_TEST_VAR_DIR``
to keep that infra between runs (it is then reused and left running).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.kafka import KafkaSettings, registry_client
from pizza_common.runtime import PORTS
from pizza_infra.admin.schemas import register_all
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_settings, service_kafka_env
from pizza_infra.servers import stack
from tests import REPO_ROOT
from tests.postgres import postgres  # noqa: F401 - a fixture for every test that needs it

if TYPE_CHECKING:
    from tests.kitchen_svc.helpers import OrderFeed, Processes


def _test_settings(var_dir: Path) -> InfraSettings:
    offset = int(os.environ.get("PIZZA_TEST_PORT_OFFSET", "10000"))
    return InfraSettings(
        kafka_port=9092 + offset,
        kafka_controller_port=9093 + offset,
        schema_registry_port=8081 + offset,
        schema_registry_management_port=8091 + offset,
        zipkin_port=9411 + offset,
        # Started only by the tests that need it (tests/infra/integration/test_keycloak.py).
        keycloak_enabled=False,
        keycloak_port=PORTS.keycloak + offset,
        keycloak_management_port=PORTS.keycloak_management + offset,
        var_dir=var_dir,
        # The downloads are shared with the platform: only the data is the tests' own.
        cache_override=InfraSettings().cache_dir,
        # Never a broker or registry from the developer's environment.
        kafka_bootstrap_servers=None,
        schema_registry_url_override=None,
    )


def infra_env(settings: InfraSettings, service: str | None = None) -> dict[str, str]:
    """Environment that points `just` recipes and services at the test infra; with
    ``service`` (order, kitchen, delivery, monitor), that service's Kafka credentials.
    Without, the tooling finds the admin's in the data folder, as on a developer's."""
    return {
        **os.environ,
        "KAFKA_PORT": str(settings.kafka_port),
        "KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "SCHEMA_REGISTRY_PORT": str(settings.schema_registry_port),
        "SCHEMA_REGISTRY_MANAGEMENT_PORT": str(settings.schema_registry_management_port),
        "ZIPKIN_PORT": str(settings.zipkin_port),
        "KEYCLOAK_ENABLED": str(settings.keycloak_enabled).lower(),
        "KEYCLOAK_PORT": str(settings.keycloak_port),
        "KEYCLOAK_MANAGEMENT_PORT": str(settings.keycloak_management_port),
        "PIZZA_VAR_DIR": str(settings.var_dir),
        "PIZZA_CACHE_DIR": str(settings.cache_dir),
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        **(service_kafka_env(settings, service) if service else {}),
    }


@pytest.fixture(scope="session")
def infra() -> Iterator[InfraSettings]:
    """The test Kafka and registry, up with topics applied and schemas registered."""
    kept = os.environ.get("PIZZA_TEST_VAR_DIR")
    var_dir = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="pizza-test-"))
    settings = _test_settings(var_dir)
    stack.up(settings)  # with the services' Kafka users and ACLs
    register_all(registry_client(settings.schema_registry_url))
    try:
        yield settings
    finally:
        if not kept:  # a kept folder is for fast reruns: its servers stay up
            stack.down(settings)
            shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def kafka_settings(infra: InfraSettings) -> KafkaSettings:
    """The administrator's: a test's own clients stand in for any service."""
    return admin_settings(infra)


@pytest.fixture
def registry(infra: InfraSettings) -> SchemaRegistryClient:
    return registry_client(infra.schema_registry_url)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


# The asynchronous path's tests (kitchen and delivery): their processes and an order feed.
# Imported inside: tests.kitchen_svc.helpers itself imports this module.
@pytest.fixture
def run(infra: InfraSettings, tmp_path: Path) -> Iterator[Processes]:
    from tests.kitchen_svc.helpers import processes

    with processes(infra, tmp_path) as running:
        yield running


@pytest.fixture
def feed(kafka_settings: KafkaSettings, registry: SchemaRegistryClient) -> OrderFeed:
    from tests.kitchen_svc.helpers import OrderFeed

    return OrderFeed(kafka_settings, registry)
