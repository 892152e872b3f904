"""Kafka for the services: client settings, an awaitable producer, the consumer loop
(transactions, dead letters, watchdog, truthful readiness) and the Avro codec that frames
events through the schema registry. Needs ``pizza-common[kafka]`` (confluent-kafka).

Services name confluent-kafka's types only through here (``SchemaRegistryClient``, what
:func:`registry_client` returns and a codec takes)."""

from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.kafka._codec import (
    MAGIC_BYTE,
    AvroEventCodec,
    DecodeFailure,
    EventDecodeError,
    EventEncodeError,
    registry_client,
)
from pizza_common.kafka._config import (
    admin_config,
    connection_config,
    consumer_config,
    producer_config,
)
from pizza_common.kafka._consumer import (
    AfterCommit,
    ConsumedEvent,
    ConsumerOptions,
    EventConsumer,
    GiveBack,
    Handler,
    Outbox,
    RejectedEvent,
    consumer_problem,
)
from pizza_common.kafka._producer import AsyncProducer, PublishError
from pizza_common.kafka._settings import KafkaSettings

__all__ = [
    "MAGIC_BYTE",
    "AfterCommit",
    "AsyncProducer",
    "AvroEventCodec",
    "ConsumedEvent",
    "ConsumerOptions",
    "DecodeFailure",
    "EventConsumer",
    "EventDecodeError",
    "EventEncodeError",
    "GiveBack",
    "Handler",
    "KafkaSettings",
    "Outbox",
    "PublishError",
    "RejectedEvent",
    "SchemaRegistryClient",
    "admin_config",
    "connection_config",
    "consumer_config",
    "consumer_problem",
    "producer_config",
    "registry_client",
]
