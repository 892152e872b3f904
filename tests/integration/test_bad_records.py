"""Records that are not valid events give a typed error from the shared API, not a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import OrderPlaced, OrderReady, schemas_dir
from pizza_common.kafka import AvroEventCodec, DecodeFailure, EventDecodeError, EventEncodeError
from pizza_common.testing import order_placed, order_ready

pytestmark = pytest.mark.integration


@pytest.fixture
def codec(registry: SchemaRegistryClient) -> AvroEventCodec[OrderPlaced]:
    return AvroEventCodec(registry, OrderPlaced)


def _decode_failure(codec: AvroEventCodec[OrderPlaced], data: bytes | None) -> DecodeFailure:
    with pytest.raises(EventDecodeError) as caught:
        codec.decode(data)
    assert caught.value.topic == "order.placed"
    return caught.value.failure


def test_empty_value(codec: AvroEventCodec[OrderPlaced]) -> None:
    assert _decode_failure(codec, None) is DecodeFailure.EMPTY
    assert _decode_failure(codec, b"") is DecodeFailure.EMPTY


def test_plain_json_is_not_confluent_framed(codec: AvroEventCodec[OrderPlaced]) -> None:
    body = json.dumps({"order_id": "x"}).encode()
    assert _decode_failure(codec, body) is DecodeFailure.NOT_FRAMED


def test_unknown_schema_id(codec: AvroEventCodec[OrderPlaced]) -> None:
    assert _decode_failure(codec, b"\x00\x00\x01\x86\xa0garbage") is DecodeFailure.UNKNOWN_SCHEMA


def test_truncated_body(codec: AvroEventCodec[OrderPlaced]) -> None:
    data = codec.encode(order_placed())
    assert _decode_failure(codec, data[: len(data) // 2]) is DecodeFailure.MALFORMED


def test_another_topics_event(
    codec: AvroEventCodec[OrderPlaced], registry: SchemaRegistryClient
) -> None:
    ready = AvroEventCodec(registry, OrderReady).encode(order_ready(order_placed()))
    assert _decode_failure(codec, ready) is DecodeFailure.INVALID


def test_encoding_with_an_unregistered_schema_says_what_to_do(
    registry: SchemaRegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), changed)
    path = changed / "order.placed.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(schema))
    monkeypatch.setenv("PIZZA_SCHEMAS_DIR", str(changed))

    codec = AvroEventCodec(registry, OrderPlaced)
    with pytest.raises(EventEncodeError, match=r"not registered.*just schemas-register"):
        codec.encode(order_placed())
