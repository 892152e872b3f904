"""Events go through the real broker and registry and come back equal."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import OrderPlaced, OrderReady
from pizza_common.kafka import (
    AvroEventCodec,
    DecodeFailure,
    EventDecodeError,
    KafkaSettings,
    producer_config,
)
from pizza_common.testing import order_placed, order_ready
from tests.kafka_helpers import consume_until, with_key

pytestmark = pytest.mark.integration


def _produce(settings: KafkaSettings, topic: str, key: str, value: bytes) -> None:
    producer = Producer(producer_config(settings, client_id="test-producer"))
    producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(10) == 0


def test_order_placed_round_trip(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient
) -> None:
    codec = AvroEventCodec(registry, OrderPlaced)
    event = order_placed()
    _produce(kafka_settings, OrderPlaced.TOPIC, event.order_id, codec.encode(event))

    messages = consume_until(kafka_settings, OrderPlaced.TOPIC, with_key(event.order_id))

    ours = [m for m in messages if m.key() == event.order_id.encode()]
    assert len(ours) == 1
    assert codec.decode(ours[0].value()) == event


def test_order_ready_round_trip(
    kafka_settings: KafkaSettings, registry: SchemaRegistryClient
) -> None:
    codec = AvroEventCodec(registry, OrderReady)
    event = order_ready(order_placed())
    _produce(kafka_settings, OrderReady.TOPIC, event.order_id, codec.encode(event))

    messages = consume_until(kafka_settings, OrderReady.TOPIC, with_key(event.order_id))

    decoded = [codec.decode(m.value()) for m in messages if m.key() == event.order_id.encode()]
    assert decoded == [event]


def test_values_carry_the_registered_schema_id(registry: SchemaRegistryClient) -> None:
    data = AvroEventCodec(registry, OrderPlaced).encode(order_placed())
    registered = registry.get_latest_version("order.placed-value")
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == registered.schema_id


async def test_only_a_schemas_first_use_leaves_the_event_loop(
    registry: SchemaRegistryClient,
) -> None:
    """The first encode and the first decode of a schema id may ask the registry, so they
    run off the loop; once the client has the schema cached, the codec runs in place."""
    codec = AvroEventCodec(registry, OrderPlaced)
    crossings: list[str] = []

    async def off_loop(function: Any, *args: Any) -> Any:
        crossings.append(function.__name__)
        return function(*args)

    events = [order_placed(), order_placed()]
    framed = [await codec.encode_async(event, off_loop) for event in events]
    assert [await codec.decode_async(data, off_loop) for data in framed] == events
    assert crossings == ["encode", "decode"]

    # An id that never decoded goes off the loop each time (the registry is asked again).
    unknown = b"\x00" + (987_654).to_bytes(4, "big") + framed[0][5:]
    for _ in range(2):
        with pytest.raises(EventDecodeError) as caught:
            await codec.decode_async(unknown, off_loop)
        assert caught.value.failure is DecodeFailure.UNKNOWN_SCHEMA
    assert crossings == ["encode", "decode", "decode", "decode"]
