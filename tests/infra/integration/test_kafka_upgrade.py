"""A data folder formatted and used before Kafka required authentication keeps working.

The node first runs with the configuration it had then (plaintext listeners, no
authorizer) and gets a record; then it starts with today's: the admin authenticates from
the static list, sets the services' users and ACLs, and the old record is read by
kitchen's principal while an anonymous client is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from pizza_common.contracts import KITCHEN_GROUP, ORDER_PLACED
from pizza_common.kafka import connection_config, consumer_config
from pizza_infra.admin import topics
from pizza_infra.admin.access import apply_access
from pizza_infra.admin.topics import apply_topics, load_topics
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import service_settings
from pizza_infra.servers import kafka
from pizza_infra.servers.kafka import start_kafka, stop_kafka

pytestmark = pytest.mark.integration

SECURITY_KEYS = ("listener.name.", "sasl.", "authorizer.", "allow.everyone", "super.users")


def before_authentication(properties: str) -> str:
    """A node's configuration as it was before: one PLAINTEXT listener, no authorizer."""
    kept = [line for line in properties.splitlines() if not line.startswith(SECURITY_KEYS)]
    text = "\n".join(kept).replace(
        "listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    )
    return text.replace("BROKER://", "PLAINTEXT://").replace("=BROKER", "=PLAINTEXT")


@pytest.fixture
def settings() -> Iterator[InfraSettings]:
    offset = int(os.environ.get("PIZZA_TEST_PORT_OFFSET", "10000")) + 700
    var_dir = Path(tempfile.mkdtemp(prefix="pizza-upgrade-"))
    try:
        yield InfraSettings(
            kafka_port=9092 + offset,
            kafka_controller_port=9093 + offset,
            var_dir=var_dir,
            cache_override=InfraSettings().cache_dir,
            kafka_bootstrap_servers=None,
        )
    finally:
        stop_kafka(InfraSettings(var_dir=var_dir))
        shutil.rmtree(var_dir, ignore_errors=True)


def plain(settings: InfraSettings, **overrides: Any) -> dict[str, Any]:
    """What the tooling connected with before: no credentials."""
    return {"bootstrap.servers": settings.bootstrap_servers, **overrides}


def run_as_before(settings: InfraSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Format the node, run it as it ran before, write one record, stop it."""
    with monkeypatch.context() as before:
        original = kafka.server_properties
        before.setattr(
            kafka, "server_properties", lambda s, n: before_authentication(original(s, n))
        )
        before.setattr(kafka, "admin_config", plain)
        before.setattr(topics, "admin_config", plain)
        start_kafka(settings)
        apply_topics(settings, load_topics(settings))
        producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
        producer.produce(ORDER_PLACED, key=b"from-before", value=b"x")
        assert producer.flush(30) == 0
        stop_kafka(settings)
    config = (settings.run_dir / "kafka-server.properties").read_text()
    assert "PLAINTEXT://" in config
    assert "authorizer" not in config


def test_a_data_folder_from_before_takes_authentication(
    settings: InfraSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as_before(settings, monkeypatch)

    start_kafka(settings)  # the same data folder, not formatted again
    apply_topics(settings, load_topics(settings))
    apply_access(settings)

    kitchen = Consumer(
        consumer_config(
            service_settings(settings, "kitchen"), group_id=KITCHEN_GROUP, client_id="t"
        )
    )
    kitchen.subscribe([ORDER_PLACED])
    keys: set[bytes | None] = set()
    deadline = time.monotonic() + 60
    while b"from-before" not in keys and time.monotonic() < deadline:
        message = kitchen.poll(0.5)
        if message is not None and message.error() is None:
            keys.add(message.key())
    kitchen.close()
    assert b"from-before" in keys

    order = Producer(connection_config(service_settings(settings, "order")))
    order.produce(ORDER_PLACED, key=b"from-after", value=b"x")
    assert order.flush(30) == 0
    anonymous = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    with pytest.raises(KafkaException):
        anonymous.list_topics(timeout=5)
