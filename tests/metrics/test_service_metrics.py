"""Each service's /metrics serves what docs/metrics.md documents, counting a real order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.four_services import four_services, wait_delivered
from tests.metrics.helpers import documented, family_name, scrape, value
from tests.order_svc.conftest import example_order
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def services(infra: InfraSettings, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    with four_services(infra, tmp_path, KITCHEN_INSTANCE="kitchen-7") as started:
        yield started


def test_every_service_serves_its_documented_metrics_and_counts_an_order(
    services: dict[str, ServiceProcess],
) -> None:
    order = services["order"]
    placed = httpx.post(f"{order.url}/orders", json=example_order(), timeout=15)
    assert placed.status_code == 201, placed.text
    invalid: dict[str, Any] = {**example_order(), "items": []}
    assert httpx.post(f"{order.url}/orders", json=invalid, timeout=15).status_code == 422
    wait_delivered(services["delivery"], placed.json())

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
