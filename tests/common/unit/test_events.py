"""The event classes follow their Avro contracts exactly."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from pizza_common.contracts import (
    CENT,
    MAX_AMOUNT,
    OrderPlaced,
    OrderReady,
    dead_letter_topic,
    from_avro_json,
    load_schema_text,
    to_avro_json,
    to_millis,
    topics_with_schemas,
)
from pizza_common.testing import order_placed, order_ready


def _avro_round_trip(topic: str, record: dict[str, Any]) -> dict[str, Any]:
    schema = fastavro.parse_schema(json.loads(load_schema_text(topic)))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(buffer, schema, schema)
    assert isinstance(decoded, dict)
    return decoded


def test_every_topic_with_events_has_a_schema() -> None:
    assert topics_with_schemas() == sorted([OrderPlaced.TOPIC, OrderReady.TOPIC])


def test_order_placed_survives_its_avro_schema() -> None:
    event = order_placed()
    assert OrderPlaced.from_record(_avro_round_trip(event.TOPIC, event.to_record())) == event


def test_order_ready_survives_its_avro_schema() -> None:
    event = order_ready(order_placed())
    assert OrderReady.from_record(_avro_round_trip(event.TOPIC, event.to_record())) == event


def test_timestamps_are_kept_at_millisecond_precision_in_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert to_millis(moment) == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_millis(datetime(2026, 1, 2))


def test_money_that_would_be_rounded_is_refused() -> None:
    with pytest.raises(ValueError, match=r"decimal\(9, 2\)"):
        replace(order_placed(), total=Decimal("49.001"))


def test_money_beyond_nine_digits_is_refused() -> None:
    assert replace(order_placed(), total=MAX_AMOUNT).total == MAX_AMOUNT
    with pytest.raises(ValueError, match=r"decimal\(9, 2\)"):
        replace(order_placed(), total=MAX_AMOUNT + CENT)


def test_an_order_without_items_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        replace(order_placed(), items=())


def test_pizza_count_adds_quantities() -> None:
    assert order_placed().pizza_count == 3


def test_dead_letter_topic_name() -> None:
    assert dead_letter_topic("order.placed") == "order.placed.dlq"


def test_avro_json_keeps_every_field_exactly() -> None:
    placed = order_placed()
    ready = order_ready(placed)
    assert from_avro_json(OrderPlaced, to_avro_json(placed)) == placed
    assert from_avro_json(OrderReady, to_avro_json(ready)) == ready


def test_order_placed_without_a_tracking_digest_is_read_by_the_new_schema() -> None:
    # An event written before tracking_token_sha256 existed (the schema without it) reads
    # as None: the field keeps the schema backward compatible with every earlier version.
    current = json.loads(load_schema_text(OrderPlaced.TOPIC))
    earlier = {
        **current,
        "fields": [f for f in current["fields"] if f["name"] != "tracking_token_sha256"],
    }
    event = replace(order_placed(), tracking_token_sha256=None)
    record = {k: v for k, v in event.to_record().items() if k != "tracking_token_sha256"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(earlier), record)
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(
        buffer, fastavro.parse_schema(earlier), fastavro.parse_schema(current)
    )
    assert isinstance(decoded, dict)
    assert OrderPlaced.from_record(decoded) == event


def test_order_placed_carries_the_tracking_digest_never_a_token() -> None:
    event = order_placed()
    assert event.tracking_token_sha256 is not None
    assert len(event.tracking_token_sha256) == 64
    decoded = OrderPlaced.from_record(_avro_round_trip(event.TOPIC, event.to_record()))
    assert decoded.tracking_token_sha256 == event.tracking_token_sha256
