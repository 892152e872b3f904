"""What the services agree on: events, topics and groups, schemas, shared limits, the clock.

Pure values: nothing here does I/O beyond reading the shipped schema files, so a
service's domain may import it.
"""

from pizza_common.contracts._acls import (
    ACLS,
    BOARD_PRINCIPAL,
    DELIVERY_PRINCIPAL,
    DLQ_REPLAYER_PRINCIPAL,
    KAFKA_CLUSTER,
    KITCHEN_PRINCIPAL,
    KITCHEN_TRANSACTIONAL_ID_PREFIX,
    LAG_EXPORTER_PRINCIPAL,
    ORDER_PRINCIPAL,
    PRINCIPALS,
    Grant,
)
from pizza_common.contracts._avro_json import from_avro_json, to_avro_json
from pizza_common.contracts._events import (
    CONSUMER_GROUPS,
    DELIVERY_GROUP,
    KITCHEN_GROUP,
    ORDER_PLACED,
    ORDER_READY,
    Address,
    Customer,
    Event,
    OrderItem,
    OrderPlaced,
    OrderReady,
    PizzaSize,
    dead_letter_topic,
)
from pizza_common.contracts._limits import (
    CENT,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_MIN_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    IDEMPOTENCY_KEY_RULE,
    MAX_AMOUNT,
    MAX_QUANTITY,
    is_valid_idempotency_key,
)
from pizza_common.contracts._schemas import (
    SchemaFileError,
    load_schema_text,
    schemas_dir,
    subject_for,
    topics_with_schemas,
)
from pizza_common.contracts._time import to_millis, utc_now
from pizza_common.contracts._topics import TOPICS, Topic

__all__ = [
    "ACLS",
    "BOARD_PRINCIPAL",
    "CENT",
    "CONSUMER_GROUPS",
    "DELIVERY_GROUP",
    "DELIVERY_PRINCIPAL",
    "DLQ_REPLAYER_PRINCIPAL",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MIN_LENGTH",
    "IDEMPOTENCY_KEY_PATTERN",
    "IDEMPOTENCY_KEY_RULE",
    "KAFKA_CLUSTER",
    "KITCHEN_GROUP",
    "KITCHEN_PRINCIPAL",
    "KITCHEN_TRANSACTIONAL_ID_PREFIX",
    "LAG_EXPORTER_PRINCIPAL",
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "ORDER_PLACED",
    "ORDER_PRINCIPAL",
    "ORDER_READY",
    "PRINCIPALS",
    "TOPICS",
    "Address",
    "Customer",
    "Event",
    "Grant",
    "OrderItem",
    "OrderPlaced",
    "OrderReady",
    "PizzaSize",
    "SchemaFileError",
    "Topic",
    "dead_letter_topic",
    "from_avro_json",
    "is_valid_idempotency_key",
    "load_schema_text",
    "schemas_dir",
    "subject_for",
    "to_avro_json",
    "to_millis",
    "topics_with_schemas",
    "utc_now",
]
