"""The outbox relay: publishes events committed with their orders, marks them sent on ack.

An event is marked published only after the broker acknowledged it (idempotent
producer, ``acks=all``). If Kafka is down the rows wait; if order_svc dies between
commit and publish, the next start publishes them. A crash between the broker's ack
and marking the row can publish an event twice: consumers drop duplicates by event_id.

The row is the truth; an event this process committed moments ago is also handed to the
relay (:meth:`OutboxRelay.wake`) and published as it is, without reading its payload back
(Avro's JSON encoding, which fastavro decodes in pure Python). Any other row (committed
before a restart, or beyond ``FRESH_EVENTS`` waiting) is read back from its payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import structlog
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from order_svc import store
from order_svc.metrics import OUTBOX_BACKLOG
from order_svc.store import OutboxRecord
from pizza_common.contracts import OrderPlaced, from_avro_json, utc_now
from pizza_common.kafka import AsyncProducer, AvroEventCodec, EventEncodeError
from pizza_common.runtime import extract_headers, inject_headers, span

log = structlog.get_logger(__name__)
IDLE_WAIT_S = 1.0
MAX_BACKOFF_S = 10.0
BACKLOG_EVERY_S = 1.0
FRESH_EVENTS = 1000
"""Committed events kept for the relay at most; the oldest is read back from its row."""


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: AsyncProducer,
        codec: AvroEventCodec[OrderPlaced],
        *,
        batch: int,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._codec = codec
        self._batch = batch
        self._wake = asyncio.Event()
        self._failures = 0
        self._fresh: dict[str, OrderPlaced] = {}  # by event_id, oldest first

    def wake(self, event: OrderPlaced | None = None) -> None:
        """A new event was committed: publish now instead of at the next poll; the event
        itself, if given, is published as it is (its row's payload holds the same)."""
        if event is not None:
            self._fresh[event.event_id] = event
            if len(self._fresh) > FRESH_EVENTS:
                del self._fresh[next(iter(self._fresh))]
        self._wake.set()

    async def run(self) -> None:
        measuring = asyncio.create_task(self._measure_backlog(), name="outbox-backlog")
        try:
            await self._relay()
        finally:
            measuring.cancel()

    async def _measure_backlog(self) -> None:
        """Count the backlog on its own beat: a pass that waits on an unreachable broker
        must not freeze the gauge at what it was when the pass began."""
        while True:
            await self._count_backlog()
            await asyncio.sleep(BACKLOG_EVERY_S)

    async def _count_backlog(self) -> None:
        try:
            async with self._engine.connect() as conn:
                OUTBOX_BACKLOG.set(await store.outbox_backlog(conn))
        except (SQLAlchemyError, OSError) as exc:  # the database is away: count next time
            log.warning("outbox backlog not counted", error=repr(exc))

    async def _relay(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except Exception:  # the relay must outlive any one bad pass
                log.exception("outbox pass failed")
                published = 0
                self._failures += 1
            if self._failures:
                await asyncio.sleep(min(MAX_BACKOFF_S, 0.25 * 2**self._failures))
            elif published < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_WAIT_S)

    async def publish_pending(self) -> int:
        """One pass over pending events; returns how many were published."""
        async with self._engine.connect() as conn:
            pending = await store.pending_events(conn, self._batch)
        if not pending:
            self._failures = 0
            return 0
        results = await asyncio.gather(
            *(self._publish(row) for row in pending), return_exceptions=True
        )
        sent = [row.id for row, result in zip(pending, results, strict=True) if result is None]
        failed = [
            (row, result)
            for row, result in zip(pending, results, strict=True)
            if isinstance(result, BaseException)
        ]
        now = utc_now()
        async with self._engine.begin() as conn:
            await store.mark_published(conn, sent, now)
            if failed:
                await store.record_publish_failure(
                    conn, [row.id for row, _ in failed], str(failed[0][1])
                )
        await self._count_backlog()  # counted anew: a decrement could race the count
        if failed:
            self._failures += 1
            log.warning(
                "publishing failed; will retry", pending=len(failed), error=str(failed[0][1])
            )
        else:
            self._failures = 0
        return len(sent)

    async def _publish(self, row: OutboxRecord) -> None:
        if row.topic != self._codec.topic:
            raise EventEncodeError(f"the relay has no codec for topic {row.topic}")
        # The first encode asks the schema registry, which may take seconds: in a thread,
        # so that the event loop answers customers meanwhile.
        event = self._fresh.pop(row.event_id, None) or from_avro_json(OrderPlaced, row.payload)
        value = await self._codec.encode_async(event)
        # The publish span continues the trace of the request that placed the order;
        # its context travels in the record's headers to the consumers.
        placed_by = extract_headers(list(json.loads(row.trace_context or "{}").items()))
        with span(
            f"{row.topic} publish",
            kind=SpanKind.PRODUCER,
            parent=placed_by,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row.topic,
                "messaging.kafka.message.key": row.message_key,
                "messaging.message.id": row.event_id,
            },
        ):
            await self._producer.send(
                row.topic, key=row.message_key, value=value, headers=inject_headers()
            )
            log.info("order.placed published", order_id=row.message_key, event_id=row.event_id)
