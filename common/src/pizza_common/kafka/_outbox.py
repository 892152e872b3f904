"""Where the consumer's handlers publish: at once and acknowledged (plain mode), or kept
with the record until its transaction (transactional mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Producer
from opentelemetry.trace import SpanKind

from pizza_common.kafka._producer import produce
from pizza_common.runtime._tracing import inject_headers, span


@dataclass(frozen=True, slots=True)
class Output:
    """A record a handler published, as handed to the producer."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes]]


class _TracedOutbox:
    async def publish(
        self, topic: str, *, key: str, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        attributes = {"messaging.system": "kafka", "messaging.destination.name": topic}
        with span(f"{topic} publish", kind=SpanKind.PRODUCER, attributes=attributes):
            carried = {**inject_headers(), **(headers or {})}  # the trace goes on downstream
            await self.publish_raw(
                topic, key=key.encode(), value=value, headers=list(carried.items())
            )

    async def publish_raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, str | bytes]],
    ) -> None:
        raise NotImplementedError


class PlainOutbox(_TracedOutbox):
    """Each record is awaited until the broker acknowledged it."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer

    async def publish_raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, str | bytes]],
    ) -> None:
        acknowledged = produce(self._producer, topic, key=key, value=value, headers=headers)
        await asyncio.to_thread(self._producer.flush, 30.0)
        await acknowledged


@dataclass(eq=False)
class BufferedOutbox(_TracedOutbox):
    """One record's outputs, produced later inside the transaction that commits its offset:
    a producer has one transaction open at a time, shared by the records of a batch."""

    outputs: list[Output] = field(default_factory=list)

    async def publish_raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, str | bytes]],
    ) -> None:
        self.outputs.append(Output(topic, key, value, list(headers)))


def produce_all(producer: Producer, outputs: Sequence[Output]) -> None:
    """Hand ``outputs`` to the producer; the transaction's commit flushes them and fails
    if any was not written."""
    for output in outputs:
        producer.produce(
            output.topic, key=output.key, value=output.value, headers=list(output.headers)
        )
