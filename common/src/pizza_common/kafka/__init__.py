"""Kafka for the services: client settings, an awaitable producer, the consumer loop
(transactions, dead letters, watchdog, truthful readiness), replaying dead letters, and
the Avro codec that frames events through the schema registry. Needs
``pizza-common[kafka]`` (confluent-kafka).

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
from pizza_common.kafka._dlq_replay import (
    DLQ_SUFFIX,
    REPLAYED_FROM,
    DeadLetter,
    NoSuchDeadLetter,
    ReplayError,
    choose_dead_letters,
    dlq_topics,
    read_dead_letters,
    replay_dead_letters,
)
from pizza_common.kafka._producer import AsyncProducer, PublishError
from pizza_common.kafka._settings import KafkaSettings

__all__ = [
    "DLQ_SUFFIX",
    "MAGIC_BYTE",
    "REPLAYED_FROM",
    "AfterCommit",
    "AsyncProducer",
    "AvroEventCodec",
    "ConsumedEvent",
    "ConsumerOptions",
    "DeadLetter",
    "DecodeFailure",
    "EventConsumer",
    "EventDecodeError",
    "EventEncodeError",
    "GiveBack",
    "Handler",
    "KafkaSettings",
    "NoSuchDeadLetter",
    "Outbox",
    "PublishError",
    "RejectedEvent",
    "ReplayError",
    "SchemaRegistryClient",
    "admin_config",
    "choose_dead_letters",
    "connection_config",
    "consumer_config",
    "consumer_problem",
    "dlq_topics",
    "producer_config",
    "read_dead_letters",
    "registry_client",
    "replay_dead_letters",
]
