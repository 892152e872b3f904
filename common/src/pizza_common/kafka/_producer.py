"""An asyncio face for confluent-kafka's producer: ``await send(...)`` returns once the
broker acknowledged the record (``acks=all``), or raises :class:`PublishError`.

librdkafka calls delivery callbacks from ``poll()`` or ``flush()``, on whichever thread
runs them; :func:`produce` hands each result to the event loop that is waiting for it.
:class:`AsyncProducer` polls on a daemon thread of its own; the consumer's producer is
flushed by the consumer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer


class PublishError(KafkaException):
    """The broker did not acknowledge a record (after librdkafka's own retries).

    ``args[0]`` is librdkafka's :class:`KafkaError`, as in any :class:`KafkaException`.
    """


def produce(
    producer: Producer,
    topic: str,
    *,
    key: bytes | str | None,
    value: bytes | None,
    headers: Iterable[tuple[str, str | bytes]] = (),
) -> asyncio.Future[Message]:
    """Hand one record to librdkafka: the future settles once the broker has answered.

    Raises ``BufferError`` at once when librdkafka's local queue is full.
    """
    loop = asyncio.get_running_loop()
    acknowledged: asyncio.Future[Message] = loop.create_future()

    def delivered(error: KafkaError | None, message: Message) -> None:
        loop.call_soon_threadsafe(_settle, acknowledged, error, message)

    producer.produce(topic, key=key, value=value, headers=list(headers), on_delivery=delivered)
    return acknowledged


class AsyncProducer:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self._producer = Producer(dict(config))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-producer-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def send(
        self,
        topic: str,
        *,
        key: bytes | str,
        value: bytes,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> Message:
        while True:
            try:
                acknowledged = produce(
                    self._producer,
                    topic,
                    key=key,
                    value=value,
                    headers=(headers or {}).items(),
                )
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                await asyncio.sleep(0.05)
        return await acknowledged

    def flush(self, timeout_s: float = 10.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        remaining: int = self._producer.flush(timeout_s)
        return remaining

    def close(self, timeout_s: float = 10.0) -> int:
        remaining = self.flush(timeout_s)
        self._stop.set()
        self._poller.join(timeout=2)
        return remaining


def _settle(future: asyncio.Future[Message], error: KafkaError | None, message: Message) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(PublishError(error))
    else:
        future.set_result(message)
