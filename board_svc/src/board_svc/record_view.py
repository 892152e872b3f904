"""A record as the topic browser shows it: Avro decoded to JSON, headers as text, the trace
it belongs to, and why it was dead-lettered. Pure: the decoder is passed in."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAGIC_BYTE = 0
PREVIEW_BYTES = 200


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True, slots=True)
class RecordView:
    topic: str
    partition: int
    offset: int
    at: str
    key: str
    schema_id: int | None
    body: str
    """The decoded value as indented JSON, or a preview of the raw bytes."""
    decoded: bool
    problem: str | None
    headers: tuple[tuple[str, str], ...]
    trace_id: str | None
    dlq_reason: str | None


Decoder = Callable[[str, bytes], dict[str, Any]]
"""Decodes a value of a topic to its record; raises when it cannot."""


def header_text(value: bytes | None) -> str:
    if value is None:
        return ""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.hex()


def trace_id_of(headers: Sequence[tuple[str, str]]) -> str | None:
    """The trace id of a W3C ``traceparent`` header: ``00-<trace id>-<span id>-<flags>``."""
    for name, value in headers:
        if name.lower() == "traceparent":
            parts = value.split("-")
            if len(parts) == 4 and len(parts[1]) == 32:
                return parts[1]
    return None


def schema_id_of(value: bytes | None) -> int | None:
    if value is None or len(value) < 5 or value[0] != MAGIC_BYTE:
        return None
    return int.from_bytes(value[1:5], "big")


def source_topic(topic: str) -> str:
    """The topic whose schema a record of ``topic`` has: a dead letter keeps its source's."""
    return topic.removesuffix(".dlq")


def preview(value: bytes | None) -> str:
    if value is None:
        return "(no value)"
    head = value[:PREVIEW_BYTES]
    try:
        text = head.decode()
    except UnicodeDecodeError:
        text = head.hex(" ")
    more = f" … ({len(value)} bytes)" if len(value) > PREVIEW_BYTES else ""
    return text + more


def view_record(record: RawRecord, decode: Decoder) -> RecordView:
    headers = tuple((name, header_text(value)) for name, value in record.headers)
    problem = None
    body = preview(record.value)
    decoded = False
    if record.value is not None:
        try:
            body = json.dumps(
                decode(source_topic(record.topic), record.value),
                indent=2,
                ensure_ascii=False,
                default=str,
            )
            decoded = True
        except Exception as exc:  # noqa: BLE001 - whatever a poison record raises
            problem = str(exc) or type(exc).__name__
    at = (
        datetime.fromtimestamp(record.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if record.timestamp_ms is not None
        else ""
    )
    return RecordView(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        at=at,
        key=header_text(record.key),
        schema_id=schema_id_of(record.value),
        body=body,
        decoded=decoded,
        problem=problem,
        headers=headers,
        trace_id=trace_id_of(headers),
        dlq_reason=dict(headers).get("dlq.reason"),
    )


def matches(record: RawRecord, needle: str) -> bool:
    """Its key is ``needle``, or ``needle`` appears in its key or raw value (an order id
    is a plain string inside the Avro body)."""
    key = header_text(record.key)
    if key == needle or needle in key:
        return True
    return record.value is not None and needle.encode() in record.value


def newest_first(records: Sequence[RecordView]) -> list[RecordView]:
    return sorted(records, key=lambda r: (r.at, r.partition, r.offset), reverse=True)
