"""``pizza-ctl bench --kitchen-scaling``: how the kitchens' throughput grows with instances.

A separate platform (as the main benchmark's) whose kitchens cook every order in a fixed
time (2 s, ``KITCHEN_OVENS`` at their default). For 1, 2, 3 and 6 instances
(``pizza-ctl scale``), a burst of order.placed goes straight into Kafka, and the clock
runs until each order has its order.ready in ``read_committed``. Throughput is reported
as a share of linear (n instances against n times one) and of the ideal (every oven busy
all the time). Results: a JSON file in ``var/bench``. A benchmark measures; it never fails
on speed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from pizza_common.contracts import (
    KITCHEN_GROUP,
    ORDER_PLACED,
    ORDER_READY,
    Address,
    Customer,
    OrderItem,
    OrderPlaced,
    PizzaSize,
)
from pizza_common.kafka import AvroEventCodec, registry_client
from pizza_common.runtime import var_dir
from pizza_common.web import tracking_token_sha256
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.kafka_access import admin_config
from pizza_infra.scenarios.bench.run import OFFSET  # one benchmark at a time
from pizza_infra.supervisor.services import shifted_platform_env

COOK_SECONDS = 2.0
PARTITIONS = 6  # of order.placed: every count below divides them evenly


@dataclass(frozen=True)
class ScalingOptions:
    counts: tuple[int, ...]  # kitchen instances, one run each
    orders_per_kitchen: int
    ovens: int


def run(options: ScalingOptions) -> int:
    bench_dir = var_dir() / "bench"
    platform_dir = bench_dir / "kitchen-platform"
    shutil.rmtree(platform_dir, ignore_errors=True)
    env = {
        **os.environ,
        **shifted_platform_env(OFFSET, str(platform_dir), str(InfraSettings().cache_dir)),
        "KITCHENS": str(options.counts[0]),
        "KITCHEN_COOK_SECONDS": str(COOK_SECONDS),
        "KITCHEN_OVENS": str(options.ovens),
        "DELIVERY_DRIVE_SECONDS": "0",
        "DELIVERY_DRIVERS": "100",
    }
    print(f"Starting a separate platform for the kitchens (ports +{OFFSET}) ...", flush=True)
    _ctl(env, "up")
    try:
        infra = InfraSettings(
            var_dir=platform_dir, kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"]
        )
        client = admin_config(infra)
        codec = AvroEventCodec(registry_client(env["SCHEMA_REGISTRY_URL"]), OrderPlaced)
        runs = []
        for count in options.counts:
            _ctl(env, "scale", f"kitchen={count}")
            _wait_for_group(client, count)
            orders = count * options.orders_per_kitchen
            print(f"{count} kitchen(s): {orders} orders of {COOK_SECONDS} s ...", flush=True)
            seconds = _burst(client, codec, orders)
            runs.append({"kitchens": count, "orders": orders, "seconds": round(seconds, 2)})
    finally:
        _ctl(env, "down")

    result = report(runs, options)
    bench_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = bench_dir / f"kitchen-scaling-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    for line in lines(result):
        print(line)
    print(f"wrote {path}")
    return 0


def report(runs: list[dict[str, Any]], options: ScalingOptions) -> dict[str, Any]:
    """Each run's throughput, as a share of linear scaling and of the ideal."""
    per_instance_ideal = options.ovens / COOK_SECONDS
    single = next((r for r in runs if r["kitchens"] == 1), None)
    single_rate = single["orders"] / single["seconds"] if single else None
    for entry in runs:
        rate = entry["orders"] / entry["seconds"]
        entry["orders_per_s"] = round(rate, 2)
        entry["share_of_ideal"] = round(rate / (entry["kitchens"] * per_instance_ideal), 3)
        if single_rate:
            entry["share_of_linear"] = round(rate / (entry["kitchens"] * single_rate), 3)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count()},
        "config": {
            "cook_seconds": COOK_SECONDS,
            "ovens": options.ovens,
            "orders_per_kitchen": options.orders_per_kitchen,
        },
        "runs": runs,
    }


def lines(result: dict[str, Any]) -> list[str]:
    return [
        f"{r['kitchens']} kitchen(s): {r['orders']} orders in {r['seconds']} s, "
        f"{r['orders_per_s']}/s; {r.get('share_of_linear', 0):.0%} of linear, "
        f"{r['share_of_ideal']:.0%} of the ideal (every oven busy)"
        for r in result["runs"]
    ]


def _ctl(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("pizza-ctl")), *args],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_for_group(client: dict[str, Any], members: int, timeout_s: float = 120) -> None:
    """Until group kitchen has ``members`` members holding every partition of order.placed."""
    admin = AdminClient(client)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        [future] = admin.describe_consumer_groups([KITCHEN_GROUP]).values()
        group = future.result(timeout=10)
        held = [
            tp
            for member in group.members
            for tp in member.assignment.topic_partitions
            if tp.topic == ORDER_PLACED
        ]
        if len(group.members) == members and len(held) == PARTITIONS:
            return
        time.sleep(1)
    raise InfraError(f"group {KITCHEN_GROUP} did not settle on {members} members")


def _burst(client: dict[str, Any], codec: AvroEventCodec[OrderPlaced], count: int) -> float:
    """Place ``count`` orders at once; seconds until each has its order.ready."""
    reader = Consumer(
        {
            **client,
            "group.id": f"bench-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    metadata = reader.list_topics(ORDER_READY, timeout=10).topics[ORDER_READY]
    ends = []
    for partition in metadata.partitions:
        _, high = reader.get_watermark_offsets(TopicPartition(ORDER_READY, partition), timeout=10)
        ends.append(TopicPartition(ORDER_READY, partition, high))
    reader.assign(ends)  # only what is cooked from now on
    producer = Producer({**client, "acks": "all", "enable.idempotence": True})
    waiting = set()
    began = time.monotonic()
    for number in range(count):
        order = bench_order()
        # Dealt round the partitions, not by the key's hash: every instance gets the same
        # share, so the figure says how the kitchens scale, not how the hash fell.
        partition = number % PARTITIONS
        producer.produce(
            ORDER_PLACED, key=order.order_id, value=codec.encode(order), partition=partition
        )
        waiting.add(order.order_id.encode())
    producer.flush(30)
    try:
        while waiting:
            if time.monotonic() - began > 600:
                raise InfraError(f"{len(waiting)} orders were not ready after 600 s")
            message = reader.poll(0.5)
            if message is not None and message.error() is None:
                waiting.discard(message.key() or b"")
        return time.monotonic() - began
    finally:
        reader.close()


def bench_order() -> OrderPlaced:
    """A new order of one pizza, as the benchmark feeds it straight into the topics."""
    order_id = str(uuid.uuid4())
    return OrderPlaced(
        order_id=order_id,
        customer=Customer(name="Bench", phone="+41 79 000 00 00", email="bench@example.org"),
        delivery_address=Address(
            street="Bahnhofstrasse 1", postal_code="8001", city="Zürich", instructions=""
        ),
        items=(OrderItem("margherita", "Margherita", PizzaSize.LARGE, 1, Decimal("18.50")),),
        total=Decimal("18.50"),
        currency="CHF",
        payment_id="pay_" + uuid.uuid4().hex[:12],
        tracking_token_sha256=tracking_token_sha256(uuid.uuid4().hex),
    )
