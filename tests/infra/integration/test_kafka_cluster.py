"""A 3-node KRaft cluster on this machine loses nothing when one broker dies.

The cluster runs on ports of its own (the test ports plus 500) with a fresh data folder.
Records are written with acks=all, plainly (as order_svc, with its own SCRAM principal)
and in a transaction (as kitchen does), before, while and after node 2 is down; every one
is consumed by a group, and the log holds each exactly once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from pizza_common.kafka import connection_config
from pizza_infra.admin.access import apply_access
from pizza_infra.admin.topics import apply_topics, describe_topics, load_topics
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config, service_settings
from pizza_infra.servers.kafka import kafka_node, start_broker, start_kafka, stop_broker, stop_kafka

pytestmark = pytest.mark.integration

TOPIC = "order.placed"  # a platform topic: its replication follows the cluster's size
VICTIM = 2
BATCH = 100


@pytest.fixture(scope="module")
def cluster() -> Iterator[InfraSettings]:
    offset = int(os.environ.get("PIZZA_TEST_PORT_OFFSET", "10000")) + 500
    var_dir = Path(tempfile.mkdtemp(prefix="pizza-cluster-"))
    settings = InfraSettings(
        kafka_nodes=3,
        kafka_port=9092 + offset,
        kafka_controller_port=9093 + offset,
        var_dir=var_dir,
        cache_override=InfraSettings().cache_dir,
        kafka_bootstrap_servers=None,
    )
    try:
        start_kafka(settings)
        apply_topics(settings, load_topics(settings))
        apply_access(settings)
        yield settings
    finally:
        stop_kafka(settings)
        shutil.rmtree(var_dir, ignore_errors=True)


def _until(what: str, probe: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def _in_sync(settings: InfraSettings) -> int:
    [state] = describe_topics(settings, [TOPIC])
    return state.in_sync


class Writer:
    """Produces keyed records with acks=all and remembers which were acknowledged."""

    def __init__(self, client: dict[str, Any], transactional: bool = False) -> None:
        config: dict[str, Any] = {
            **client,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": 120_000,
        }
        if transactional:
            config["transactional.id"] = "cluster-test-tx"
            config["transaction.timeout.ms"] = 120_000
        self.producer = Producer(config)
        self.acked: set[str] = set()
        self.failed: list[str] = []
        if transactional:
            self.producer.init_transactions(60)

    def _report(self, error: KafkaError | None, message: Message) -> None:
        key = (message.key() or b"").decode()
        if error is None:
            self.acked.add(key)
        else:
            self.failed.append(f"{key}: {error}")

    def write(self, prefix: str, count: int = BATCH) -> set[str]:
        keys = {f"{prefix}-{n}" for n in range(count)}
        for key in sorted(keys):
            self.producer.produce(TOPIC, key=key.encode(), value=b"x", on_delivery=self._report)
            self.producer.poll(0)
        assert self.producer.flush(150) == 0, "records still unacknowledged"
        return keys

    def write_transaction(self, prefix: str, count: int = BATCH) -> set[str]:
        self.producer.begin_transaction()
        keys = {f"{prefix}-{n}" for n in range(count)}
        for key in sorted(keys):
            self.producer.produce(TOPIC, key=key.encode(), value=b"x")
        self.producer.commit_transaction(120)
        self.acked |= keys
        return keys


class Reader:
    """One consumer group member reading TOPIC, committing as it goes."""

    def __init__(self, settings: InfraSettings) -> None:
        self.consumer = Consumer(
            admin_config(
                settings,
                **{
                    "group.id": "cluster-test",
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                },
            )
        )
        self.consumer.subscribe([TOPIC])
        self.seen: set[str] = set()

    def read_until(self, keys: set[str], timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not keys <= self.seen and time.monotonic() < deadline:
            message = self.consumer.poll(0.5)
            if message is not None and message.error() is None:
                self.seen.add((message.key() or b"").decode())
        missing = keys - self.seen
        assert not missing, f"{len(missing)} records never consumed, e.g. {sorted(missing)[:3]}"


def test_one_broker_down_loses_nothing(cluster: InfraSettings) -> None:
    [state] = describe_topics(cluster, [TOPIC])
    assert (state.replication_factor, state.in_sync) == (3, 3)

    order = connection_config(service_settings(cluster, "order"))
    plain, transactional = Writer(order), Writer(admin_config(cluster), transactional=True)
    reader = Reader(cluster)
    written = plain.write("before") | transactional.write_transaction("before-tx")
    reader.read_until(written)

    assert stop_broker(cluster, VICTIM, kill=True)
    assert kafka_node(cluster, VICTIM).process.pid() is None
    written |= plain.write("while-down") | transactional.write_transaction("while-down-tx")
    _until("node 2 to leave the in-sync replicas", lambda: _in_sync(cluster) == 2)
    written |= plain.write("while-down-2")
    reader.read_until(written)

    assert start_broker(cluster, VICTIM)
    _until("node 2 to catch up", lambda: _in_sync(cluster) == 3)
    written |= plain.write("after") | transactional.write_transaction("after-tx")
    reader.read_until(written)
    reader.consumer.close()

    assert plain.failed == []
    assert written == plain.acked | transactional.acked
    # Idempotent producers: nothing written twice despite the retries. Transactions add one
    # commit marker per partition they touched, so count records by reading, not offsets.
    [state] = describe_topics(cluster, [TOPIC])
    assert state.in_sync == 3
    assert _count_records(cluster) == len(written)


def _count_records(settings: InfraSettings) -> int:
    consumer = Consumer(
        admin_config(
            settings,
            **{
                "group.id": "cluster-test-count",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )
    consumer.subscribe([TOPIC])
    partitions_at_end: set[int] = set()
    count = 0
    deadline = time.monotonic() + 60
    while len(partitions_at_end) < 6 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if (error := message.error()) is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                partitions_at_end.add(message.partition() or 0)
            continue
        count += 1
    consumer.close()
    assert len(partitions_at_end) == 6
    return count
