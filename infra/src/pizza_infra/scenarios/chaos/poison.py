"""Poison records: values no consumer can ever process, planted on purpose.

Each must end in the topic's dead-letter topic, once per consumer group, and must not
hold up a single order behind it.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import fastavro

from pizza_common.contracts import (
    ORDER_PLACED,
    Address,
    Customer,
    OrderItem,
    OrderPlaced,
    OrderReady,
    PizzaSize,
    load_schema_text,
)
from pizza_common.kafka import MAGIC_BYTE

# 10000-01-01T00:00:00Z in ms: valid Avro (a long), but past what datetime can hold.
YEAR_10000_MS = 253_402_300_800_000
# No registry hands out ids this high for this platform's handful of schemas.
UNKNOWN_SCHEMA_ID = 2_000_000_011
PLANTED_HEADER = "chaos.planted"


def framed(schema_id: int, body: bytes) -> bytes:
    """Confluent framing: magic byte, 4-byte big-endian schema id, Avro body."""
    return bytes([MAGIC_BYTE]) + schema_id.to_bytes(4, "big") + body


def _valid_record(topic: str, order_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    if topic == ORDER_PLACED:
        return OrderPlaced(
            order_id=order_id,
            customer=Customer("Chaos Monkey", "+41 79 000 00 00"),
            delivery_address=Address("Nowhere 1", "8000", "Zürich"),
            items=(OrderItem("margherita", "Margherita", PizzaSize.SMALL, 1, Decimal("12.00")),),
            total=Decimal("12.00"),
            currency="CHF",
            payment_id="pay_chaos",
        ).to_record()
    return OrderReady(
        order_id=order_id,
        placed_event_id=str(uuid.uuid4()),
        kitchen_instance="chaos",
        cook_started_at=now,
        pizza_count=1,
    ).to_record()


def avro_body(topic: str, record: dict[str, Any]) -> bytes:
    schema = fastavro.parse_schema(json.loads(load_schema_text(topic)))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def poison_value(kind: str, topic: str, key: str, schema_id: int, rng: random.Random) -> bytes:
    """The value of a poison record of ``kind`` for ``topic``, keyed ``key``.

    ``schema_id`` is the id the registry gave the topic's schema.
    """
    if kind == "bad-bytes":
        return b"\xff\xfe not an event \x80" + rng.randbytes(16)
    body = avro_body(topic, _valid_record(topic, key))
    if kind == "unknown-schema":
        return framed(UNKNOWN_SCHEMA_ID, body)
    if kind == "year-10000":
        record = _valid_record(topic, key)
        field = "placed_at" if topic == ORDER_PLACED else "ready_at"
        record[field] = YEAR_10000_MS  # fastavro writes an int for timestamp-millis as is
        return framed(schema_id, avro_body(topic, record))
    raise ValueError(f"unknown poison {kind!r}")
