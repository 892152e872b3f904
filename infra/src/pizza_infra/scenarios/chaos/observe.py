"""Small adapters that read what the platform recorded, for the invariant checker.

Databases are opened read-only (each service's own SQLite file), topics are read from
the beginning by a reader with ``read_committed`` that commits nothing, and the lag is
the same figure ``just lag`` shows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pizza_common.contracts import (
    CONSUMER_GROUPS,
    ORDER_PLACED,
    ORDER_READY,
    Event,
    OrderPlaced,
    OrderReady,
    dead_letter_topic,
)
from pizza_common.kafka import AvroEventCodec, registry_client
from pizza_infra.admin.lag import consumer_lag
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config
from pizza_infra.scenarios.chaos.model import (
    ChargeRow,
    ClientOrder,
    DeadLetter,
    DeliveryRow,
    EventRecord,
    Lag,
    NotificationRow,
    Observed,
    OrderRow,
    Planted,
)

READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class PlatformFiles:
    """Where a platform keeps its databases and logs (its ``PIZZA_VAR_DIR``)."""

    var_dir: Path

    def database(self, name: str) -> Path:
        return self.var_dir / "data" / f"{name}.db"

    def log(self, service: str) -> Path:
        return self.var_dir / "log" / f"{service}.log"


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        yield connection
    finally:
        connection.close()


def read_orders(path: Path) -> list[OrderRow]:
    with read_only(path) as db:
        rows = db.execute("SELECT order_id, status, payment_id FROM orders").fetchall()
    return [OrderRow(*row) for row in rows]


def unpublished_events(path: Path) -> int:
    with read_only(path) as db:
        row = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return int(row[0])


def read_charges(path: Path) -> list[ChargeRow]:
    """The ledger; a payment is voided when its status says so or it has a void time."""
    with read_only(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(payments)")}
        voided_at = "voided_at" if "voided_at" in columns else "NULL"
        rows = db.execute(
            f"SELECT payment_id, order_id, status, {voided_at} FROM payments"  # noqa: S608 - a column name of ours
        ).fetchall()
    return [
        ChargeRow(payment_id, order_id, status, voided=status == "voided" or voided is not None)
        for payment_id, order_id, status, voided in rows
    ]


def read_deliveries(path: Path) -> tuple[list[DeliveryRow], list[NotificationRow]]:
    with read_only(path) as db:
        orders = db.execute("SELECT order_id, status FROM orders").fetchall()
        notifications = db.execute("SELECT order_id, kind FROM notifications").fetchall()
    return [DeliveryRow(*row) for row in orders], [NotificationRow(*row) for row in notifications]


def read_delivery_log(path: Path) -> tuple[list[NotificationRow], list[str]]:
    """delivery_svc's "notification sent" lines, and the orders of its "delivered" steps."""
    sent: list[NotificationRow] = []
    delivered: list[str] = []
    if not path.exists():
        return sent, delivered
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        order_id = entry.get("order_id")
        if entry.get("event") == "notification sent" and order_id:
            sent.append(NotificationRow(order_id, str(entry.get("kind"))))
        elif entry.get("event") == "delivered" and order_id and "driver" in entry:
            delivered.append(order_id)
    return sent, delivered


@dataclass(frozen=True)
class TopicRead:
    records: list[Any]  # messages as read
    partitions: int
    unread: list[str]


def read_topic(infra: InfraSettings, topic: str, timeout_s: float = READ_TIMEOUT_S) -> TopicRead:
    """Every committed record of ``topic``, read up to each partition's end offset.

    A partition whose end cannot be reached (an open transaction holds read_committed
    readers back) is listed as unread once ``timeout_s`` passed.
    """
    consumer = Consumer(
        admin_config(
            infra,
            **{
                "group.id": f"chaos-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": False,
                "log_level": 2,  # critical only: what was not read is reported as unread
            },
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        partitions = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
        ends = {
            tp.partition: consumer.get_watermark_offsets(tp, timeout=30)[1] for tp in partitions
        }
        consumer.assign(partitions)
        records = []
        pending = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is None:
                    records.append(message)
            positions = consumer.position([TopicPartition(topic, p) for p in pending])
            pending -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
        return TopicRead(records, len(partitions), [f"{topic}[{p}]" for p in sorted(pending)])
    finally:
        consumer.close()


def event_records(read: TopicRead, decode: Callable[[bytes | None], Event]) -> list[EventRecord]:
    records = []
    for message in read.records:
        key = message.key().decode(errors="replace") if message.key() is not None else None
        event = _decoded(decode, message.value())
        order_id = event.order_id if event else None
        event_id = event.event_id if event else None
        where = (message.topic(), message.partition(), message.offset())
        records.append(EventRecord(*where, key, order_id, event_id))
    return records


def _decoded(decode: Callable[[bytes | None], Event], value: bytes | None) -> Event | None:
    try:
        return decode(value)
    except Exception:  # noqa: BLE001 - any value that does not decode counts as undecodable
        return None


def dead_letters(read: TopicRead) -> list[DeadLetter]:
    letters = []
    for message in read.records:
        headers = {name: value for name, value in message.headers() or []}
        letters.append(
            DeadLetter(
                message.topic(),
                message.key().decode(errors="replace") if message.key() is not None else None,
                _text(headers.get("dlq.group")),
                _text(headers.get("dlq.reason")),
            )
        )
    return letters


def _text(value: bytes | str | None) -> str | None:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def read_lag(infra: InfraSettings) -> list[Lag]:
    return [Lag(r.group, r.topic, r.partition, r.lag) for r in consumer_lag(admin_config(infra))]


def observe(
    files: PlatformFiles,
    infra: InfraSettings,
    client: list[ClientOrder],
    planted: list[Planted],
) -> Observed:
    """Everything the checker needs, read from a settled platform."""
    registry = registry_client(infra.schema_registry_url)
    placed_codec = AvroEventCodec(registry, OrderPlaced)
    ready_codec = AvroEventCodec(registry, OrderReady)
    placed = read_topic(infra, ORDER_PLACED)
    ready = read_topic(infra, ORDER_READY)
    dlq = [read_topic(infra, dead_letter_topic(t)) for t in (ORDER_PLACED, ORDER_READY)]
    deliveries, notifications = read_deliveries(files.database("delivery_svc"))
    notification_log, delivered_log = read_delivery_log(files.log("delivery"))
    return Observed(
        client=client,
        orders=read_orders(files.database("order_svc")),
        charges=read_charges(files.database("payment_svc")),
        deliveries=deliveries,
        notifications=notifications,
        notification_log=notification_log,
        delivered_log=delivered_log,
        placed=event_records(placed, placed_codec.decode),
        ready=event_records(ready, ready_codec.decode),
        dead_letters=[letter for read in dlq for letter in dead_letters(read)],
        planted=planted,
        lag=read_lag(infra),
        unread=[where for read in (placed, ready, *dlq) for where in read.unread],
        partitions_read=sum(read.partitions for read in (placed, ready, *dlq)),
        consumer_groups=dict(CONSUMER_GROUPS),
    )
