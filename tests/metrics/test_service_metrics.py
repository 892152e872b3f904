"""Each service's /metrics serves what docs/metrics.md documents, counting a real order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.conftest import infra_env
from tests.metrics.helpers import documented, family_name, scrape, value
from tests.order_svc.conftest import example_order
from tests.service_process import ServiceProcess, free_port

pytestmark = pytest.mark.integration

SERVICES = ("payment", "order", "kitchen", "delivery")


@pytest.fixture
def services(infra: InfraSettings, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    ports = {name: free_port() for name in SERVICES}
    common = {
        **infra_env(infra),
        "PIZZA_VAR_DIR": str(tmp_path),
        "PAYMENT_LATENCY_MS": "0",
        "PAYMENT_ERROR_RATE": "0",
        "KITCHEN_COOK_SECONDS": "0",
        "KITCHEN_INSTANCE": "kitchen-7",
        "DELIVERY_DRIVE_SECONDS": "0",
        "ORDER_PAYMENT_URL": f"http://127.0.0.1:{ports['payment']}",
    }
    started: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            env = {**common, f"{name.upper()}_PORT": str(ports[name])}
            process = ServiceProcess(f"{name}_svc", ports[name], env, tmp_path / f"{name}.log")
            started[name] = process.start(timeout_s=60)
        yield started
    finally:
        for process in started.values():
            process.stop()


def _delivered(delivery: ServiceProcess, order_id: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{delivery.url}/orders/{order_id}", timeout=5)
        if state.status_code == 200 and state.json()["status"] == "delivered":
            return
        time.sleep(0.3)
    raise AssertionError(f"order {order_id} was not delivered in {timeout_s} s")


def test_every_service_serves_its_documented_metrics_and_counts_an_order(
    services: dict[str, ServiceProcess],
) -> None:
    order = services["order"]
    placed = httpx.post(f"{order.url}/orders", json=example_order(), timeout=15)
    assert placed.status_code == 201, placed.text
    invalid: dict[str, Any] = {**example_order(), "items": []}
    assert httpx.post(f"{order.url}/orders", json=invalid, timeout=15).status_code == 422
    _delivered(services["delivery"], placed.json()["order_id"])

    scraped = {name: scrape(process.url) for name, process in services.items()}
    for name, families in scraped.items():
        wanted = {family_name(n) for n in documented(f"{name}_svc") | documented("Every service")}
        assert wanted <= set(families), f"{name}_svc lacks {sorted(wanted - set(families))}"

    orders, kitchen = scraped["order"], scraped["kitchen"]
    assert value(orders, "pizza_orders_total", outcome="accepted") == 1
    assert value(orders, "pizza_orders_total", outcome="invalid") == 1
    assert value(orders, "pizza_orders_total", outcome="declined") == 0
    assert value(orders, "pizza_payment_call_duration_seconds_count", result="approved") == 1
    assert value(orders, "pizza_payment_circuit_open") == 0
    assert value(orders, "pizza_outbox_backlog") == 0
    assert value(scraped["payment"], "pizza_payments_total", status="approved") == 1
    # Kitchen and delivery also take what earlier tests left in the topics: at least ours.
    cooked = value(kitchen, "pizza_orders_cooked_total", instance="kitchen-7")
    assert cooked is not None
    assert cooked >= 1
    assert value(kitchen, "pizza_cook_duration_seconds_count") == cooked
    assert value(kitchen, "pizza_dead_lettered_records_total") is not None
    delivery = scraped["delivery"]
    delivered = value(delivery, "pizza_notifications_total", kind="delivered")
    assert delivered is not None
    assert delivered >= 1
    assert value(delivery, "pizza_notifications_total", kind="on_the_way") == delivered
    assert value(delivery, "pizza_placed_to_delivered_seconds_count") == delivered
    assert value(delivery, "pizza_ready_to_delivered_seconds_count") == delivered
