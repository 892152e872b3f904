"""A record as the topic browser shows it: decoded, or why not; headers, trace, DLQ reason."""

from __future__ import annotations

from typing import Any

import pytest

from board_svc.record_view import (
    RawRecord,
    instant_ms,
    is_trace_id,
    matches,
    newest_first,
    order_of_trace,
    schema_id_of,
    view_record,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01".encode()
FRAMED = b"\x00\x00\x00\x00\x07" + b"\x48avro body with order-42 inside"


def _decode(topic: str, value: bytes) -> dict[str, Any]:
    if topic != "order.placed" or value[0] != 0:
        raise ValueError("not an order.placed record")
    return {"order_id": "order-42", "total": "12.50"}


def _record(topic: str = "order.placed", value: bytes | None = FRAMED, **kw: Any) -> RawRecord:
    return RawRecord(
        topic=topic,
        partition=kw.get("partition", 3),
        offset=kw.get("offset", 17),
        timestamp_ms=kw.get("timestamp_ms", 1_764_000_000_000),
        key=b"order-42",
        value=value,
        headers=kw.get("headers", (("traceparent", TRACEPARENT),)),
    )


def test_a_framed_record_is_decoded_and_names_its_schema_and_trace() -> None:
    view = view_record(_record(), _decode)
    assert view.decoded
    assert view.problem is None
    assert '"order_id": "order-42"' in view.body
    assert view.schema_id == 7
    assert view.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert view.key == "order-42"
    assert view.at == "2025-11-24T16:00:00.000+00:00"


def test_a_dead_letter_is_decoded_with_its_source_topics_schema_and_shows_why() -> None:
    headers = (("dlq.reason", b"rejected"), ("dlq.detail", b"bad total"))
    view = view_record(_record("order.placed.dlq", headers=headers), _decode)
    assert view.decoded
    assert view.dlq_reason == "rejected"
    assert ("dlq.detail", "bad total") in view.headers


def test_poison_shows_its_bytes_and_the_reason_it_is_not_decodable() -> None:
    view = view_record(_record("order.placed.dlq", value=b"\xff\xfe garbage"), _decode)
    assert not view.decoded
    assert view.problem == "not an order.placed record"
    assert view.body.startswith("ff fe 20")
    assert view.schema_id is None


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (b"\x00\x00", None), (b"\x01\x00\x00\x00\x01x", None)]
)
def test_only_a_confluent_framed_value_has_a_schema_id(value: bytes | None, expected: None) -> None:
    assert schema_id_of(value) is expected


def test_binary_headers_are_shown_as_hex() -> None:
    view = view_record(_record(headers=(("raw", b"\xff\x00"), ("none", None))), _decode)
    assert view.headers == (("raw", "ff00"), ("none", ""))
    assert view.trace_id is None


def test_a_search_matches_the_key_the_raw_value_or_a_header() -> None:
    assert matches(_record(), "order-42")
    assert matches(_record(), "avro body")
    assert matches(_record(), TRACE_ID)  # in traceparent
    assert not matches(_record(), "order-43")


def test_a_trace_id_is_32_hex_digits_and_an_order_id_is_not_one() -> None:
    assert is_trace_id(TRACE_ID)
    assert not is_trace_id("0" * 32)
    assert not is_trace_id("3f1e9a52-5b7e-4f2a-9c1d-2b8e7f6a5d4c")
    assert not is_trace_id(TRACE_ID.upper())


def test_a_trace_leads_to_the_order_of_the_records_carrying_it() -> None:
    mine = view_record(_record(), _decode)
    other = view_record(
        _record(headers=(("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"),)), _decode
    )
    assert order_of_trace({"order.placed": [other, mine]}, TRACE_ID) == "order-42"
    assert order_of_trace({"order.placed": [other]}, TRACE_ID) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-24T16:00", 1_764_000_000_000),
        ("2025-11-24T16:00:00", 1_764_000_000_000),
        ("2025-11-24T17:00:00+01:00", 1_764_000_000_000),
        ("", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_a_moment_to_seek_to_is_utc_unless_it_says_otherwise(
    text: str | None, expected: int | None
) -> None:
    assert instant_ms(text) == expected


def test_records_are_listed_newest_first() -> None:
    older = view_record(_record(offset=1, timestamp_ms=1_000), _decode)
    newer = view_record(_record(offset=2, timestamp_ms=2_000), _decode)
    assert newest_first([older, newer]) == [newer, older]
