"""The record browser: a page of a topic's newest records (or from an offset), and a search
by key or order id over each partition's newest records, decoded through the registry."""

from __future__ import annotations

import asyncio
from typing import Any

from board_svc.cluster import TopicState
from board_svc.kafka_admin import ClusterReader
from board_svc.record_reader import RecordReader
from board_svc.record_view import RawRecord, RecordView, matches, newest_first, view_record
from pizza_common.contracts import Event, OrderPlaced, OrderReady
from pizza_common.kafka import AvroEventCodec, KafkaSettings, SchemaRegistryClient


class TopicBrowser:
    def __init__(
        self,
        settings: KafkaSettings,
        registry: SchemaRegistryClient,
        cluster: ClusterReader,
        per_page: int,
        scan: int,
    ) -> None:
        self._reader = RecordReader(settings)
        self._cluster = cluster
        self._per_page = per_page
        self._scan = scan
        # The services' own codec: a record reads here exactly as its consumer reads it.
        event_types: tuple[type[Event], ...] = (OrderPlaced, OrderReady)
        self._codecs: dict[str, AvroEventCodec[Any]] = {
            t.TOPIC: AvroEventCodec(registry, t) for t in event_types
        }

    def _decode(self, topic: str, value: bytes) -> dict[str, Any]:
        codec = self._codecs.get(topic)
        if codec is None:
            raise ValueError(f"no contract for {topic}")
        record: dict[str, Any] = codec.decode(value).to_record()
        return record

    def _views(self, records: list[RawRecord]) -> list[RecordView]:
        return newest_first([view_record(r, self._decode) for r in records])

    async def _topic(self, topic: str) -> TopicState | None:
        return (await self._cluster.snapshot()).topics.get(topic)

    async def page(
        self,
        topic: str,
        partition: int | None,
        offset: int | None,
        since_ms: int | None = None,
    ) -> list[RecordView]:
        """The newest records of the topic (or of one partition), or those from ``offset``
        on, or those written from ``since_ms`` on (the offset wins when both are given)."""
        state = await self._topic(topic)
        if state is None:
            return []
        chosen = [p for p in state.partitions if partition is None or p.partition == partition]
        starts: dict[int, int] = {}
        if offset is not None:
            starts = {p.partition: offset for p in chosen}
        elif since_ms is not None:
            found = await asyncio.to_thread(
                self._reader.offsets_at, topic, [p.partition for p in chosen], since_ms
            )
            # A partition with nothing that recent starts at its end: nothing to show.
            starts = {p.partition: found.get(p.partition, p.end) for p in chosen}
        ranges = []
        for p in chosen:
            if starts:
                start = max(p.start, starts[p.partition])
                ranges.append((p.partition, start, min(p.end, start + self._per_page)))
            else:
                ranges.append((p.partition, max(p.start, p.end - self._per_page), p.end))

        def read() -> list[RecordView]:
            return self._views(self._reader.read(topic, ranges))[: self._per_page]

        return await asyncio.to_thread(read)

    async def search(self, topics: list[str], needle: str) -> dict[str, list[RecordView]]:
        """Per topic, the records among each partition's newest ``scan`` whose key is or
        contains ``needle`` (or whose raw value does)."""
        found: dict[str, list[RecordView]] = {}
        for topic in topics:
            state = await self._topic(topic)
            if state is None:
                continue
            ranges = [
                (p.partition, max(p.start, p.end - self._scan), p.end) for p in state.partitions
            ]

            def read(
                topic: str = topic, ranges: list[tuple[int, int, int]] = ranges
            ) -> list[RecordView]:
                hits = [r for r in self._reader.read(topic, ranges) if matches(r, needle)]
                return self._views(hits)

            found[topic] = await asyncio.to_thread(read)
        return found
