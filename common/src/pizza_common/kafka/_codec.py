"""Typed events to Confluent-framed Avro bytes and back, through the schema registry.

The framing is Confluent's: a zero magic byte, the 4-byte schema id, then the Avro
body. Services never register schemas: the contract is registered deliberately with
``just schemas-register``, and encoding fails clearly if it was not.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Generic, TypeVar

import httpx
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from pizza_common.contracts import Event, load_schema_text, subject_for


class DecodeFailure(StrEnum):
    """Why a record could not be turned into an event."""

    EMPTY = "empty"
    NOT_FRAMED = "not-confluent-framed"
    UNKNOWN_SCHEMA = "unknown-schema"
    MALFORMED = "malformed-avro"
    INVALID = "invalid-event"
    REGISTRY_UNAVAILABLE = "registry-unavailable"


class EventDecodeError(Exception):
    """A record's value is not a valid event of the expected topic."""

    def __init__(self, topic: str, failure: DecodeFailure, detail: str) -> None:
        super().__init__(f"cannot decode a record of {topic}: {failure.value}: {detail}")
        self.topic = topic
        self.failure = failure
        self.detail = detail


class EventEncodeError(Exception):
    """An event could not be encoded (schema not registered, registry down, bad values)."""


REGISTRY_TIMEOUT_S = 10


def registry_client(url: str) -> SchemaRegistryClient:
    """A schema registry client that gives up on a request after 10 s.

    The client's default is to wait forever: a registry that does not answer one request
    would stall the consumer that asked (seen with Apicurio under concurrent start-ups).
    With a timeout the record fails, is retried, and the service stays alive.
    """
    return SchemaRegistryClient({"url": url, "timeout": REGISTRY_TIMEOUT_S})


def _registry_io_errors() -> tuple[type[BaseException], ...]:
    """What the registry client raises when it cannot reach the registry: confluent-kafka
    uses httpx2 where it is installed, else httpx. Anything else a decode raises is the
    bytes' fault (poison), so these must be known exactly."""
    errors: list[type[BaseException]] = [httpx.HTTPError, OSError, TimeoutError]
    try:
        httpx2 = importlib.import_module("httpx2")
    except ImportError:
        return tuple(errors)
    errors.append(httpx2.HTTPError)
    return tuple(errors)


REGISTRY_IO_ERRORS = _registry_io_errors()

MAGIC_BYTE = 0
_HEADER_SIZE = 5


E = TypeVar("E", bound=Event)

OffLoop = Callable[..., Awaitable[Any]]
"""How blocking work runs away from the event loop: ``await off_loop(function, *args)``."""


class AvroEventCodec(Generic[E]):
    """Encodes and decodes one event type with the schema of its topic."""

    def __init__(self, registry: SchemaRegistryClient, event_type: type[E]) -> None:
        self._event_type = event_type
        self._topic = event_type.TOPIC
        self._context = SerializationContext(self._topic, MessageField.VALUE)
        self._serializer = AvroSerializer(
            registry,
            load_schema_text(self._topic),
            to_dict=_to_record,
            conf={"auto.register.schemas": False, "use.latest.version": False},
        )
        self._deserializer = AvroDeserializer(registry)
        self._subject = subject_for(self._topic)
        # What the registry client has cached: using it again asks nothing over the network.
        self._encoded_once = False
        self._decoded_ids: set[int] = set()

    async def encode_async(self, event: E, off_loop: OffLoop = asyncio.to_thread) -> bytes:
        """:meth:`encode`, in ``off_loop`` only while it may ask the registry (until the
        first success): after that it is microseconds of CPU, less than a thread crossing."""
        if self._encoded_once:
            return self.encode(event)
        data: bytes = await off_loop(self.encode, event)
        return data

    async def decode_async(self, data: bytes | None, off_loop: OffLoop = asyncio.to_thread) -> E:
        """:meth:`decode`, in ``off_loop`` only while the record's schema id has not been
        decoded before (the registry is asked for it)."""
        if data and len(data) >= _HEADER_SIZE and _schema_id(data) in self._decoded_ids:
            return self.decode(data)
        event: E = await off_loop(self.decode, data)
        return event

    @property
    def topic(self) -> str:
        return self._topic

    def encode(self, event: E) -> bytes:
        try:
            data: bytes | None = self._serializer(event, self._context)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise EventEncodeError(
                    f"the schema of {self._topic} is not registered under subject "
                    f"{self._subject}; run `just schemas-register`"
                ) from exc
            raise EventEncodeError(f"schema registry error for {self._topic}: {exc}") from exc
        except (SerializationError, ValueError, TypeError) as exc:
            raise EventEncodeError(f"cannot encode {type(event).__name__}: {exc}") from exc
        assert data is not None
        self._encoded_once = True
        return data

    def decode(self, data: bytes | None) -> E:
        if not data:
            raise EventDecodeError(self._topic, DecodeFailure.EMPTY, "the record has no value")
        if len(data) < _HEADER_SIZE or data[0] != MAGIC_BYTE:
            raise EventDecodeError(
                self._topic,
                DecodeFailure.NOT_FRAMED,
                "the value does not start with the Confluent magic byte and a schema id",
            )
        schema_id = _schema_id(data)
        try:
            record = self._deserializer(data, self._context)
        except SchemaRegistryError as exc:
            raise self._registry_failure(schema_id, exc) from exc
        except REGISTRY_IO_ERRORS as exc:  # the registry could not be asked
            raise EventDecodeError(
                self._topic, DecodeFailure.REGISTRY_UNAVAILABLE, repr(exc)
            ) from exc
        except Exception as exc:  # any other failure is in the bytes themselves
            # Whatever the decoder raised (OverflowError for a timestamp past year 9999,
            # RecursionError, ...), the same bytes fail the same way next time: poison.
            raise EventDecodeError(self._topic, DecodeFailure.MALFORMED, repr(exc)) from exc
        self._decoded_ids.add(schema_id)  # its schema is cached now, whatever follows
        if not isinstance(record, dict):
            raise EventDecodeError(self._topic, DecodeFailure.INVALID, "the value is not a record")
        # A record of another topic's schema decodes fine but lacks this event's fields.
        try:
            return self._event_type.from_record(record)
        except Exception as exc:  # values out of range, unknown symbols, ...
            raise EventDecodeError(self._topic, DecodeFailure.INVALID, repr(exc)) from exc

    def _registry_failure(self, schema_id: int, exc: SchemaRegistryError) -> EventDecodeError:
        if exc.http_status_code == 404:
            return EventDecodeError(
                self._topic,
                DecodeFailure.UNKNOWN_SCHEMA,
                f"schema id {schema_id} is not registered",
            )
        return EventDecodeError(self._topic, DecodeFailure.REGISTRY_UNAVAILABLE, str(exc))


def _schema_id(framed: bytes) -> int:
    return int.from_bytes(framed[1:_HEADER_SIZE], "big")


def _to_record(event: Event, _ctx: SerializationContext | None) -> dict[str, Any]:
    return event.to_record()
