"""Reading back what was produced, for integration tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, Message

from pizza_common.kafka import KafkaSettings, consumer_config


def consume_until(
    settings: KafkaSettings,
    topic: str,
    done: Callable[[list[Message]], bool],
    timeout_s: float = 30.0,
) -> list[Message]:
    """Read ``topic`` from the beginning in a fresh group until ``done(messages)`` holds."""
    consumer = Consumer(
        consumer_config(settings, group_id=f"test-{uuid.uuid4()}", client_id="test-reader")
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not done(messages):
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up reading {topic} after {timeout_s} s")
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    return messages


def with_key(key: str) -> Callable[[list[Message]], bool]:
    return lambda messages: any(m.key() == key.encode() for m in messages)


def read_all(settings: KafkaSettings, topic: str, *, quiet_s: float = 3.0) -> list[Message]:
    """Everything on ``topic`` now: read from the start until nothing new came for ``quiet_s``."""
    last_seen = [0, time.monotonic()]

    def settled(messages: list[Message]) -> bool:
        if len(messages) != last_seen[0]:
            last_seen[:] = [len(messages), time.monotonic()]
        return time.monotonic() - last_seen[1] > quiet_s

    return consume_until(settings, topic, settled, timeout_s=60)
