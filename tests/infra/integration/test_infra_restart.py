"""The infra survives a restart: records and registered schemas are still there."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import AvroEventCodec, KafkaSettings, producer_config, registry_client
from pizza_common.testing import order_placed
from pizza_infra.config import InfraSettings
from pizza_infra.servers.zipkin import zipkin_answers, zipkin_process
from tests.conftest import infra_env
from tests.kafka_helpers import consume_until, with_key

pytestmark = pytest.mark.integration


def _just(infra: InfraSettings, recipe: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["just", recipe],
        env={**infra_env(infra), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_restart_keeps_records_and_schemas(
    infra: InfraSettings, kafka_settings: KafkaSettings, registry: SchemaRegistryClient
) -> None:
    codec = AvroEventCodec(registry, OrderPlaced)
    event = order_placed()
    producer = Producer(producer_config(kafka_settings, client_id="test-producer"))
    producer.produce(OrderPlaced.TOPIC, key=event.order_id.encode(), value=codec.encode(event))
    assert producer.flush(10) == 0
    schema_id = registry.get_latest_version("order.placed-value").schema_id

    down = _just(infra, "infra-down")
    assert down.returncode == 0, down.stderr
    assert _just(infra, "infra-status").returncode == 1
    up = _just(infra, "infra-up")
    assert up.returncode == 0, up.stderr
    assert "topics up to date" in up.stdout

    messages = consume_until(kafka_settings, OrderPlaced.TOPIC, with_key(event.order_id))
    fresh = registry_client(infra.schema_registry_url)
    assert fresh.get_latest_version("order.placed-value").schema_id == schema_id
    found = [m for m in messages if m.key() == event.order_id.encode()]
    assert AvroEventCodec(fresh, OrderPlaced).decode(found[0].value()) == event


def test_up_is_idempotent(infra: InfraSettings) -> None:
    again = _just(infra, "infra-up")
    assert again.returncode == 0, again.stderr
    assert "Kafka already running" in again.stdout
    assert "schema registry already running" in again.stdout
    assert _just(infra, "infra-status").returncode == 0


def test_topics_lists_partitions_and_end_offsets(infra: InfraSettings) -> None:
    result = _just(infra, "topics")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["order.placed"][1:4] == ["6", "1", "1"]  # partitions, replicas, in sync
    assert len(rows["order.placed"][5:]) == 6
    assert rows["order.ready.dlq"][1] == "1"


def test_up_replaces_a_server_that_runs_but_does_not_answer(infra: InfraSettings) -> None:
    zipkin = zipkin_process(infra)
    hung = zipkin.pid()
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)  # alive, port open, answering nothing
    try:
        assert _just(infra, "infra-status").returncode == 1
        up = _just(infra, "infra-up", ANSWER_TIMEOUT_S="5")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "replaced a hung Zipkin" in up.stdout
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(hung, signal.SIGCONT)  # so that nothing is left stopped if it failed
    assert zipkin.pid() not in (None, hung)
    assert _gone(hung)
    assert zipkin_answers(infra)
    assert _just(infra, "infra-status").returncode == 0


def _gone(pid: int) -> bool:
    """Exited: no such process, or only a zombie left for its parent (the test session
    started the server) to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
