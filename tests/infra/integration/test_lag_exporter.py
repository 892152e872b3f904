"""The lag exporter: kitchen lag rises while no kitchen runs, falls to 0 once one cooks,
and always agrees with `just lag --json`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client.metrics_core import Metric

from pizza_common.kafka import KafkaSettings
from pizza_common.testing import order_placed
from pizza_infra.config import InfraSettings
from tests import REPO_ROOT
from tests.conftest import infra_env
from tests.kitchen_svc.helpers import OrderFeed, processes, wait_until
from tests.metrics.helpers import scrape
from tests.service_process import ServiceProcess, free_port

pytestmark = pytest.mark.integration

Key = tuple[str, str, int]


@pytest.fixture
def exporter(infra: InfraSettings, tmp_path: Path) -> Iterator[ServiceProcess]:
    port = free_port()
    env = {**infra_env(infra, "monitor"), "LAG_EXPORTER_PORT": str(port)}
    process = ServiceProcess("pizza_infra.lag_exporter", port, env, tmp_path / "exporter.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def exported(exporter: ServiceProcess) -> dict[str, dict[Key, int]]:
    """Lag and committed offset per (group, topic, partition); end offsets under group ''."""
    families = scrape(exporter.url)
    assert families["pizza_lag_exporter_up"].samples[0].value == 1

    def by_partition(family: Metric) -> dict[Key, int]:
        return {
            (s.labels.get("group", ""), s.labels["topic"], int(s.labels["partition"])): int(s.value)
            for s in family.samples
        }

    return {
        "lag": by_partition(families["pizza_consumer_lag"]),
        "committed": by_partition(families["pizza_consumer_committed_offset"]),
        "end": by_partition(families["pizza_topic_end_offset"]),
    }


def group_lag(exporter: ServiceProcess, group: str) -> int:
    return sum(lag for (g, _, _), lag in exported(exporter)["lag"].items() if g == group)


def just_lag(infra: InfraSettings) -> list[dict[str, object]]:
    just = shutil.which("just") or str(Path(sys.executable).with_name("just"))
    result = subprocess.run(
        [just, "lag", "--json"],
        cwd=REPO_ROOT,
        env=infra_env(infra),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_lag_rises_without_a_kitchen_and_falls_to_zero_when_one_cooks(
    infra: InfraSettings,
    kafka_settings: KafkaSettings,
    registry: SchemaRegistryClient,
    exporter: ServiceProcess,
    tmp_path: Path,
) -> None:
    before = group_lag(exporter, "kitchen")
    OrderFeed(kafka_settings, registry).place(order_placed() for _ in range(5))
    assert group_lag(exporter, "kitchen") == before + 5

    with processes(infra, tmp_path) as running:
        running.kitchen("kitchen-1", cook_seconds="0")
        wait_until(lambda: group_lag(exporter, "kitchen") == 0, 90, "kitchen lag 0")
        # order.ready is written in transactions: delivery reaches 0 only by committing
        # its position past each transaction's commit marker once it is idle.
        running.delivery()
        wait_until(lambda: group_lag(exporter, "delivery") == 0, 120, "delivery lag 0")


def test_the_exporter_and_just_lag_agree(
    infra: InfraSettings,
    kafka_settings: KafkaSettings,
    registry: SchemaRegistryClient,
    exporter: ServiceProcess,
) -> None:
    # Records nobody consumes now: both must see the same, non-zero, lag.
    OrderFeed(kafka_settings, registry).place(order_placed() for _ in range(3))
    rows = just_lag(infra)
    metrics = exported(exporter)
    assert any(row["lag"] for row in rows)
    assert {(r["group"], r["topic"], r["partition"]): r["lag"] for r in rows} == metrics["lag"]
    committed = {
        (r["group"], r["topic"], r["partition"]): r["committed"]
        for r in rows
        if r["committed"] is not None
    }
    assert committed == metrics["committed"]
    ends = {("", r["topic"], r["partition"]): r["end"] for r in rows}
    assert ends == metrics["end"]
