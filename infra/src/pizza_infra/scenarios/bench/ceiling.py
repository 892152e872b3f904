"""Kafka's ceiling: its own ProducerPerformance and ConsumerPerformance on the same broker."""

from __future__ import annotations

import re
import subprocess
import uuid
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config, java_client_properties
from pizza_infra.servers.fetch import kafka_libs
from pizza_infra.servers.java import find_java
from pizza_infra.servers.kafka import KAFKA_MIN_JAVA

PERF_TOPIC = "bench.kafka-perf"


def kafka_ceiling(infra: InfraSettings, records: int, record_size: int) -> dict[str, Any]:
    """Records per second Kafka's own tools produce (acks=all, idempotent, lz4, as the
    services) and consume on this broker."""
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
