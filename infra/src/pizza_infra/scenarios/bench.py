"""``pizza-ctl bench``: a bounded load on ``POST /orders`` and what it costs, end to end.

It starts a separate platform (ports + 30000, data in ``var/bench``) with payment
latency and errors at 0 and no cooking or driving time, sends a fixed number of orders
with a fixed concurrency, then reports accepted orders/s, accept latency (p50/p99) and
the time from accepted to delivered (p50/p99). Kafka's own producer and consumer perf
tools on the same broker give the ceiling. Results: a JSON file and a PNG chart.
A benchmark measures; it never fails on speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient, NewTopic

from pizza_common.runtime import var_dir
from pizza_infra.config import REPO_ROOT, InfraSettings
from pizza_infra.kafka_access import admin_config, java_client_properties
from pizza_infra.servers.fetch import kafka_libs
from pizza_infra.servers.java import find_java
from pizza_infra.servers.kafka import KAFKA_MIN_JAVA, kafka_nodes
from pizza_infra.servers.registry import registry_process
from pizza_infra.supervisor.platform import Platform
from pizza_infra.supervisor.services import PlatformSettings, shifted_platform_env

EXAMPLE = json.loads((REPO_ROOT / "docs" / "examples" / "order.json").read_text())
OFFSET = 30000
PERF_TOPIC = "bench.kafka-perf"


@dataclass(frozen=True)
class BenchOptions:
    orders: int
    concurrency: int
    kitchens: int
    kafka_records: int


@dataclass
class Sample:
    started: float
    latency_s: float
    status: int
    accepted_at: float  # wall clock, to compare with delivery's timeline
    order_id: str | None = None


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def load(url: str, orders: int, concurrency: int) -> LoadResult:
    """``orders`` POST /orders with at most ``concurrency`` in flight."""
    result = LoadResult()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(orders):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                answer = await client.post(
                    "/orders", json=EXAMPLE, headers={"Idempotency-Key": f"bench-{uuid.uuid4()}"}
                )
                sample = Sample(
                    started, time.perf_counter() - started, answer.status_code, time.time()
                )
                if answer.status_code == 201:
                    sample.order_id = answer.json()["order_id"]
                result.samples.append(sample)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - began
    return result


async def delivered_after(url: str, samples: list[Sample], timeout_s: float) -> list[float]:
    """Seconds from each accepted order's answer to its delivery, per delivery's timeline."""
    pending = {s.order_id: s.accepted_at for s in samples if s.order_id}
    durations: list[float] = []
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while pending and time.monotonic() < deadline:
            for order_id in list(pending)[:500]:
                answer = await client.get(f"/orders/{order_id}")
                if answer.status_code != 200 or answer.json()["status"] != "delivered":
                    continue
                delivered = next(
                    e["at"] for e in answer.json()["timeline"] if e["status"] == "delivered"
                )
                at = datetime.fromisoformat(delivered.replace("Z", "+00:00")).timestamp()
                durations.append(at - pending.pop(order_id))
            if pending:
                await asyncio.sleep(0.5)
    return durations


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def platform_pids(env: dict[str, str]) -> dict[str, int]:
    """Every process of the bench platform by name: services and the two JVMs."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        infra = InfraSettings()
        platform = Platform(PlatformSettings(), infra)
        pids = {p.instance: p.pid for p in platform.processes()}
        for process in (*(node.process for node in kafka_nodes(infra)), registry_process(infra)):
            pid = process.pid()
            if pid is not None:
                pids[process.name] = pid
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return pids


def kafka_ceiling(infra: InfraSettings, records: int, record_size: int) -> dict[str, Any]:
    """Kafka's own ProducerPerformance and ConsumerPerformance on the same broker."""
    admin = AdminClient(admin_config(infra))
    client_properties = str(java_client_properties(infra))
    admin.create_topics([NewTopic(PERF_TOPIC, 6, 1)])[PERF_TOPIC].result()
    java = str(find_java(KAFKA_MIN_JAVA, "Kafka's perf tools"))
    classpath = f"{kafka_libs(infra)}/*"
    try:
        produced = subprocess.run(
            [java, "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance",
             "--topic", PERF_TOPIC, "--num-records", str(records),
             "--record-size", str(record_size), "--throughput", "-1",
             "--producer.config", client_properties,
             "--producer-props", "acks=all", "enable.idempotence=true", "linger.ms=5",
             "compression.type=lz4"],
            capture_output=True, text=True, check=True, timeout=300,
        ).stdout  # fmt: skip
        consumed = subprocess.run(
            [java, "-cp", classpath, "org.apache.kafka.tools.ConsumerPerformance",
             "--bootstrap-server", infra.bootstrap_servers, "--topic", PERF_TOPIC,
             "--consumer.config", client_properties,
             "--messages", str(records), "--group", f"bench-{uuid.uuid4()}"],
            capture_output=True, text=True, check=True, timeout=300,
        ).stdout  # fmt: skip
    finally:
        admin.delete_topics([PERF_TOPIC])[PERF_TOPIC].result()
    summary = produced.strip().splitlines()[-1]
    producer = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\).*?([\d.]+) ms avg", summary)
    consumer_row = consumed.strip().splitlines()[-1].split(",")
    return {
        "records": records,
        "record_size": record_size,
        "producer_records_per_s": float(producer.group(1)) if producer else None,
        "producer_mb_per_s": float(producer.group(2)) if producer else None,
        "producer_avg_latency_ms": float(producer.group(3)) if producer else None,
        "consumer_mb_per_s": float(consumer_row[3]) if len(consumer_row) > 5 else None,
        "consumer_records_per_s": float(consumer_row[5]) if len(consumer_row) > 5 else None,
        "producer_summary": summary,
    }


def chart(
    result: dict[str, Any], accept_ms: list[float], delivered_ms: list[float], path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, values, title in (
        (left, accept_ms, "POST /orders: accept latency"),
        (right, delivered_ms, "accepted → delivered"),
    ):
        ordered = sorted(values)
        if ordered:
            axis.plot(ordered, [i / len(ordered) * 100 for i in range(1, len(ordered) + 1)])
        axis.set_xlabel("ms")
        axis.set_ylabel("% of orders at or below")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    orders = result["orders"]
    figure.suptitle(
        f"{orders['accepted']} orders, concurrency {result['config']['concurrency']}: "
        f"{orders['accepted_per_s']:.0f} accepted/s, p99 accept "
        f"{orders['accept_latency_ms']['p99']:.0f} ms"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def run_platform(command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("pizza-ctl")), command],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def run(args: BenchOptions) -> int:
    """The benchmark on a platform of its own; writes its JSON and PNG into var/bench."""
    bench_dir = var_dir() / "bench"
    platform_dir = bench_dir / "platform"
    shutil.rmtree(platform_dir, ignore_errors=True)
    env = {
        **os.environ,
        **shifted_platform_env(OFFSET, str(platform_dir), str(InfraSettings().cache_dir)),
        "KITCHENS": str(args.kitchens),
        "KITCHEN_COOK_SECONDS": "0",
        "DELIVERY_DRIVE_SECONDS": "0",
        "DELIVERY_DRIVERS": "100",
        "PAYMENT_LATENCY_MS": "0",
        "PAYMENT_ERROR_RATE": "0",
        "ORDER_LOG_LEVEL": "WARNING",
        "PAYMENT_LOG_LEVEL": "WARNING",
    }
    order_url = f"http://127.0.0.1:{env['ORDER_PORT']}"
    delivery_url = f"http://127.0.0.1:{env['DELIVERY_PORT']}"
    print(f"Starting a separate platform for the benchmark (ports +{OFFSET}) ...", flush=True)
    run_platform("up", env)
    try:
        asyncio.run(load(order_url, 50, 4))  # warm-up: connections, caches, JIT of the JVMs
        print(f"Sending {args.orders} orders, {args.concurrency} at a time ...", flush=True)
        pids = platform_pids(env)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        result = asyncio.run(load(order_url, args.orders, args.concurrency))
        accepted = [s for s in result.samples if s.status == 201]
        accept_ms = [s.latency_s * 1000 for s in accepted]
        print("Waiting until they are delivered ...", flush=True)
        delivered_ms = [
            d * 1000 for d in asyncio.run(delivered_after(delivery_url, accepted, timeout_s=300))
        ]
        # Everything the platform spent on these orders, their cooking and delivery included.
        cpu_ms_per_order = {
            name: round((cpu_seconds(pid) - cpu_before[name]) * 1000 / max(1, len(accepted)), 2)
            for name, pid in pids.items()
        }
        print("Kafka's own perf tools on the same broker ...", flush=True)
        os.environ.update({k: env[k] for k in ("KAFKA_PORT", "PIZZA_VAR_DIR", "PIZZA_CACHE_DIR")})
        ceiling = kafka_ceiling(InfraSettings(), args.kafka_records, 600)
    finally:
        run_platform("down", env)

    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count()},
        "config": {
            "orders": args.orders,
            "concurrency": args.concurrency,
            "kitchens": args.kitchens,
            "payment_latency_ms": 0,
            "cook_seconds": 0,
            "drive_seconds": 0,
        },
        "orders": {
            "sent": len(result.samples),
            "accepted": len(accepted),
            "answers_by_status": dict(Counter(str(s.status) for s in result.samples)),
            "accepted_per_s": len(accepted) / result.wall_s if result.wall_s else 0.0,
            "accept_latency_ms": _summary(accept_ms),
            "delivered": len(delivered_ms),
            "accepted_to_delivered_ms": _summary(delivered_ms),
        },
        "cpu_ms_per_order": cpu_ms_per_order,
        "kafka_ceiling": ceiling,
    }
    bench_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = bench_dir / f"bench-{stamp}.json"
    png_path = bench_dir / f"bench-{stamp}.png"
    json_path.write_text(json.dumps(report, indent=2))
    chart(report, accept_ms, delivered_ms, png_path)
    orders = report["orders"]
    accept, delivered = orders["accept_latency_ms"], orders["accepted_to_delivered_ms"]
    print(
        f"\naccepted {orders['accepted']}/{orders['sent']} orders: "
        f"{orders['accepted_per_s']:.0f}/s; accept p50 {accept['p50']:.1f} ms, "
        f"p99 {accept['p99']:.1f} ms; accepted to delivered p50 {delivered['p50']:.0f} ms, "
        f"p99 {delivered['p99']:.0f} ms"
    )
    print(
        f"Kafka ceiling: producer {ceiling['producer_records_per_s']} records/s, "
        f"consumer {ceiling['consumer_records_per_s']} records/s ({ceiling['record_size']} B)"
    )
    total_cpu = sum(cpu_ms_per_order.values())
    spent = ", ".join(f"{name} {ms}" for name, ms in sorted(cpu_ms_per_order.items()))
    print(f"CPU ms per order: {total_cpu:.1f} in all ({spent})")
    print(f"wrote {json_path} and {png_path}")
    return 0


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }
