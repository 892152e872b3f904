"""An event in Avro's JSON encoding, checked against the local contract (no registry)."""

from __future__ import annotations

import functools
import io
import json
from typing import Any, TypeVar

import fastavro

from pizza_common.contracts._events import Event
from pizza_common.contracts._schemas import load_schema_text

E = TypeVar("E", bound=Event)


@functools.cache
def _parsed_schema(topic: str) -> Any:
    return fastavro.parse_schema(json.loads(load_schema_text(topic)))


def to_avro_json(event: Event) -> str:
    """The event in Avro's JSON encoding, with the local contract and no registry.

    For storing an event before it is published (an outbox row): the text keeps every
    logical type exactly and :func:`from_avro_json` turns it back into the same event.
    """
    buffer = io.StringIO()
    fastavro.json_writer(buffer, _parsed_schema(event.TOPIC), [event.to_record()])
    return buffer.getvalue()


def from_avro_json(event_type: type[E], text: str) -> E:
    record = next(iter(fastavro.json_reader(io.StringIO(text), _parsed_schema(event_type.TOPIC))))
    if not isinstance(record, dict):
        raise ValueError(f"not a {event_type.__name__} record")
    return event_type.from_record(record)
