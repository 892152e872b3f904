"""Running kitchens as processes, feeding them orders, and reading back what they did."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import ORDER_READY, OrderPlaced, OrderReady
from pizza_common.kafka import AvroEventCodec, KafkaSettings, producer_config
from pizza_infra.config import InfraSettings
from tests.conftest import infra_env
from tests.kafka_helpers import consume_until
from tests.service_process import ServiceProcess, free_port


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s} s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Processes:
    """Starts services of one test in one folder and stops whatever is still running."""

    infra: InfraSettings
    var_dir: Path
    started: list[ServiceProcess]

    def kitchen(self, instance: str, cook_seconds: str = "0", ovens: int = 4) -> ServiceProcess:
        port = free_port()
        env = {
            **infra_env(self.infra, "kitchen"),
            "PIZZA_VAR_DIR": str(self.var_dir),
            "KITCHEN_INSTANCE": instance,
            "KITCHEN_PORT": str(port),
            "KITCHEN_COOK_SECONDS": cook_seconds,
            "KITCHEN_OVENS": str(ovens),
        }
        return self._start("kitchen_svc", port, env, instance)

    def delivery(self, drive_seconds: str = "0", drivers: int = 3, **extra: str) -> ServiceProcess:
        port = free_port()
        env = {
            **infra_env(self.infra, "delivery"),
            "PIZZA_VAR_DIR": str(self.var_dir),
            "DELIVERY_PORT": str(port),
            "DELIVERY_DRIVE_SECONDS": drive_seconds,
            "DELIVERY_DRIVERS": str(drivers),
            **extra,
        }
        return self._start("delivery_svc", port, env, "delivery")

    def _start(self, module: str, port: int, env: dict[str, str], name: str) -> ServiceProcess:
        process = ServiceProcess(module, port, env, self.var_dir / "log" / f"{name}.log")
        self.started.append(process)
        process.start(timeout_s=60)
        wait_until(lambda: _ready(process), 60, f"{name} to be ready")
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


def _ready(process: ServiceProcess) -> bool:
    try:
        return httpx.get(process.url + "/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def processes(infra: InfraSettings, var_dir: Path) -> Iterator[Processes]:
    running = Processes(infra, var_dir, [])
    try:
        yield running
    finally:
        running.stop_all()


def status(kitchen: ServiceProcess) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(kitchen.url + "/status", timeout=5).json()
    return body


def wait_for_partitions(kitchens: Sequence[ServiceProcess], topic_partitions: int = 6) -> None:
    """Until the group settled: every kitchen holds some partitions, together all of them."""

    def settled() -> bool:
        held = [status(kitchen)["assigned_partitions"] for kitchen in kitchens]
        return all(held) and sum(len(h) for h in held) == topic_partitions

    wait_until(settled, 90, "the kitchens to share the partitions")


class OrderFeed:
    """Publishes order.placed events (and raw records) as order_svc would."""

    def __init__(self, settings: KafkaSettings, registry: SchemaRegistryClient) -> None:
        self._producer = Producer(producer_config(settings, client_id="test-orders"))
        self.placed_codec = AvroEventCodec(registry, OrderPlaced)
        self.ready_codec = AvroEventCodec(registry, OrderReady)

    def place(self, orders: Iterable[OrderPlaced]) -> None:
        for order in orders:
            self.raw(order.TOPIC, order.order_id, self.placed_codec.encode(order))
        self.flush()

    def ready(self, events: Iterable[OrderReady]) -> None:
        for event in events:
            self.raw(event.TOPIC, event.order_id, self.ready_codec.encode(event))
        self.flush()

    def raw(self, topic: str, key: str, value: bytes) -> None:
        self._producer.produce(topic, key=key, value=value)

    def flush(self) -> None:
        assert self._producer.flush(30) == 0, "records were not acknowledged"


def ready_records(
    settings: KafkaSettings, order_ids: set[str], timeout_s: float = 120
) -> list[Message]:
    """The order.ready records of ``order_ids``, once each of them has at least one."""

    def all_there(messages: list[Message]) -> bool:
        return order_ids <= {_key(m) for m in messages}

    messages = consume_until(settings, ORDER_READY, all_there, timeout_s)
    return [m for m in messages if _key(m) in order_ids]


def ready_counts(messages: Iterable[Message]) -> Counter[str]:
    return Counter(_key(m) for m in messages)


def _key(message: Message) -> str:
    key = message.key()
    return key.decode() if isinstance(key, bytes) else ""


def tickets(var_dir: Path, order_ids: set[str]) -> list[dict[str, Any]]:
    """The kitchen's tickets of ``order_ids``, from its shared database file."""
    with sqlite3.connect(var_dir / "data" / "kitchen_svc.db") as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM tickets").fetchall()
    return [dict(row) for row in rows if row["order_id"] in order_ids]


def header_texts(message: Message) -> dict[str, str]:
    headers = message.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return {
        name: value.decode() if isinstance(value, bytes) else str(value) for name, value in pairs
    }


def most_cooking_at_once(tickets: Iterable[dict[str, Any]]) -> int:
    """The most tickets whose cooking (start to ready) overlapped at any one moment."""
    edges = []
    for ticket in tickets:
        edges.append((datetime.fromisoformat(ticket["cook_started_at"]), 1))
        edges.append((datetime.fromisoformat(ticket["ready_at"]), -1))
    most = current = 0
    for _, step in sorted(edges):  # at a tie an end comes first: touching is not overlap
        current += step
        most = max(most, current)
    return most
