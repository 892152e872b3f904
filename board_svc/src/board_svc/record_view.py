"""A record as the topic browser shows it: Avro decoded to JSON, headers as text, the trace
it belongs to, and why it was dead-lettered. Pure: the decoder is passed in."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
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
    """Its key is ``needle``, or ``needle`` appears in its key, its raw value (an order id
    is a plain string inside the Avro body) or a header (a trace id in ``traceparent``)."""
    key = header_text(record.key)
    if key == needle or needle in key:
        return True
    if record.value is not None and needle.encode() in record.value:
        return True
    return any(value is not None and needle.encode() in value for _, value in record.headers)


def is_trace_id(text: str) -> bool:
    """A W3C trace id: 32 lowercase hex digits, not all zero (an order id is a UUID)."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text) and set(text) != {"0"}


def order_of_trace(found: Mapping[str, Sequence[RecordView]], trace_id: str) -> str | None:
    """The order a trace belongs to: the key of the oldest record carrying that trace
    (every platform record is keyed by its order id)."""
    carrying = [r for records in found.values() for r in records if r.trace_id == trace_id]
    keyed = [r for r in carrying if r.key]
    return min(keyed, key=lambda r: (r.at, r.offset)).key if keyed else None


def newest_first(records: Sequence[RecordView]) -> list[RecordView]:
    return sorted(records, key=lambda r: (r.at, r.partition, r.offset), reverse=True)


def instant_ms(text: str | None) -> int | None:
    """A form's moment (``2026-11-28T15:20``, seconds and an offset optional; without an
    offset it is UTC) as Kafka's milliseconds since the epoch; None when empty or not one."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
