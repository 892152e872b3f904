"""Poison records are what they claim: not framed, an unknown schema id, or schema-valid
Avro whose timestamp no datetime can hold."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import fastavro
import pytest

from pizza_common.contracts import ORDER_PLACED, ORDER_READY, OrderPlaced, load_schema_text
from pizza_common.kafka import AvroEventCodec, DecodeFailure, EventDecodeError, registry_client
from pizza_infra.scenarios.chaos.poison import UNKNOWN_SCHEMA_ID, YEAR_10000_MS, poison_value

KEY = "5f0c6b1e-8d7a-4c1e-9b9a-2f4e6a8c0d11"
TOPICS = pytest.mark.parametrize("topic", [ORDER_PLACED, ORDER_READY])


def _without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(item) for item in schema]
    return schema


def _read(topic: str, body: bytes, *, logical: bool = True) -> Any:
    schema = json.loads(load_schema_text(topic))
    parsed = fastavro.parse_schema(schema if logical else _without_logical_types(schema))
    return fastavro.schemaless_reader(io.BytesIO(body), parsed, parsed)


def test_bad_bytes_are_not_confluent_framed() -> None:
    value = poison_value("bad-bytes", ORDER_PLACED, KEY, 1, random.Random(0))
    codec = AvroEventCodec(registry_client("http://127.0.0.1:9"), OrderPlaced)
    with pytest.raises(EventDecodeError) as caught:
        codec.decode(value)
    assert caught.value.failure is DecodeFailure.NOT_FRAMED


@TOPICS
def test_an_unknown_schema_id_frames_a_valid_body(topic: str) -> None:
    value = poison_value("unknown-schema", topic, KEY, 1, random.Random(0))
    assert value[0] == 0
    assert int.from_bytes(value[1:5], "big") == UNKNOWN_SCHEMA_ID
    assert str(_read(topic, value[5:])["order_id"]) == KEY


@TOPICS
def test_year_10000_is_schema_valid_but_not_a_datetime(topic: str) -> None:
    value = poison_value("year-10000", topic, KEY, 42, random.Random(0))
    assert int.from_bytes(value[1:5], "big") == 42
    field = "placed_at" if topic == ORDER_PLACED else "ready_at"
    assert _read(topic, value[5:], logical=False)[field] == YEAR_10000_MS
    with pytest.raises(OverflowError):
        _read(topic, value[5:])
