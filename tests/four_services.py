"""All four services as real processes on the test Kafka, for tests of the whole path
(metrics, tracing): no cooking or driving time, payment always answering at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from pizza_common.web import TRACKING_TOKEN_HEADER
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import service_kafka_env
from tests.conftest import infra_env
from tests.service_process import ServiceProcess, free_port

SERVICES = ("payment", "order", "kitchen", "delivery")


@contextmanager
def four_services(
    infra: InfraSettings, folder: Path, **extra_env: str
) -> Iterator[dict[str, ServiceProcess]]:
    ports = {name: free_port() for name in SERVICES}
    common = {
        **infra_env(infra),
        "PIZZA_VAR_DIR": str(folder),
        "PAYMENT_LATENCY_MS": "0",
        "PAYMENT_ERROR_RATE": "0",
        "KITCHEN_COOK_SECONDS": "0",
        "KITCHEN_INSTANCE": "kitchen-1",
        "DELIVERY_DRIVE_SECONDS": "0",
        "ORDER_PAYMENT_URL": f"http://127.0.0.1:{ports['payment']}",
        **extra_env,
    }
    started: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            env = {
                **common,
                **service_kafka_env(infra, name),
                f"{name.upper()}_PORT": str(ports[name]),
            }
            process = ServiceProcess(f"{name}_svc", ports[name], env, folder / f"{name}.log")
            started[name] = process.start(timeout_s=60)
        yield started
    finally:
        for process in started.values():
            process.stop()


def wait_delivered(delivery: ServiceProcess, placed: dict[str, Any], timeout_s: float = 90) -> None:
    """Wait until delivery shows the order of ``placed`` (order_svc's 201 body) delivered,
    read as its customer with the tracking token of that answer."""
    order_id = placed["order_id"]
    customer = {TRACKING_TOKEN_HEADER: placed["tracking_token"]}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{delivery.url}/orders/{order_id}", headers=customer, timeout=5)
        if state.status_code == 200 and state.json()["status"] == "delivered":
            return
        time.sleep(0.3)
    raise AssertionError(f"order {order_id} was not delivered in {timeout_s} s")
