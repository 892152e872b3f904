"""``pizza-ctl dlq-replay`` on the test broker: dead letters are read back whole (committed
ones only), and a replayed one reaches its source topic with its key, value and headers,
its ``dlq.*`` headers replaced by where it was replayed from; the recipe lists and
replays nothing unless told.

Replays go to a pair of topics of this test's own, so the platform's topics and the other
tests' records stay as they are."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pizza_infra.admin.dlq import REPLAYED_FROM, choose, read_dead_letters, replay
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config
from tests import REPO_ROOT
from tests.conftest import infra_env

pytestmark = pytest.mark.integration


def _create(config: dict[str, Any], *names: str) -> None:
    admin = AdminClient(config)
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in names]).values():
        future.result(timeout=30)


def test_a_chosen_dead_letter_goes_back_to_its_source_topic(infra: InfraSettings) -> None:
    config = admin_config(infra)
    source = f"replay-test-{uuid.uuid4().hex[:8]}"
    dead = f"{source}.dlq"
    _create(config, source, dead)
    producer = Producer({**config, "acks": "all"})
    for n in range(3):
        producer.produce(
            dead,
            key=f"order-{n}".encode(),
            value=f"value-{n}".encode(),
            partition=1,
            headers=[
                ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                ("dlq.reason", b"invalid"),
                ("dlq.source.topic", source.encode()),
            ],
        )
    assert producer.flush(30) == 0

    letters = read_dead_letters(config, dead)
    assert [(d.partition, d.offset, d.key, d.reason) for d in letters] == [
        (1, n, f"order-{n}".encode(), "invalid") for n in range(3)
    ]
    (second,) = choose(letters, {(1, 1)}, everything=False)
    replay(config, [second])

    consumer = Consumer({**config, "group.id": f"{source}-check", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(source, p, 0) for p in (0, 1)])
        message = None
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                break
        assert message is not None
        assert message.error() is None
        assert (message.key(), message.value()) == (b"order-1", b"value-1")
        assert message.headers() == [
            ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            (REPLAYED_FROM, f"{dead}[1]@1".encode()),
        ]
        assert consumer.poll(2.0) is None  # the one chosen, nothing else
    finally:
        consumer.close()
        AdminClient(config).delete_topics([source, dead])


def _just(infra: InfraSettings, *args: str) -> subprocess.CompletedProcess[str]:
    just = shutil.which("just") or str(Path(sys.executable).with_name("just"))
    return subprocess.run(
        [just, "dlq-replay", *args],
        cwd=REPO_ROOT,
        env=infra_env(infra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_recipe_lists_and_replays_only_what_it_is_told(infra: InfraSettings) -> None:
    listed = _just(infra, "order.placed.dlq")
    assert listed.returncode == 0, listed.stderr
    assert "dead letter(s) in order.placed.dlq; nothing replayed" in listed.stdout
    missing = _just(infra, "order.placed.dlq", "--offset", "0:999999")
    assert missing.returncode == 1
    assert "no dead letter at 0:999999" in missing.stderr
    wrong = _just(infra, "order.placed")
    assert (wrong.returncode, "not a dead-letter topic" in wrong.stderr) == (1, True)
