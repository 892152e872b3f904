"""order_svc and a real payment_svc, each as its own process, on the test Kafka."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from order_svc.tracking import TrackingTokens
from pizza_common.web import TRACKING_TOKEN_HEADER
from pizza_infra.config import InfraSettings
from tests import REPO_ROOT
from tests.conftest import infra_env
from tests.service_process import ServiceProcess, free_port

ADMIN = {"Authorization": "Bearer pizza-admin"}
# order_svc's tracking secret in these tests: a test derives any order's tracking token
# as its customer got it, whichever answer carried it.
TRACKING_SECRET = "tracking-secret-of-the-tests"
EXAMPLE_ORDER: dict[str, Any] = json.loads(
    (REPO_ROOT / "docs" / "examples" / "order.json").read_text()
)


def example_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(json.dumps(EXAMPLE_ORDER))
    order.update(changes)
    return order


def as_customer(order_id: str) -> dict[str, str]:
    """The header that reads ``order_id`` at an order_svc of these tests, as its customer."""
    return {TRACKING_TOKEN_HEADER: TrackingTokens(TRACKING_SECRET).token_for(order_id)}


def read_order(order: ServiceProcess, order_id: str) -> httpx.Response:
    """``GET /orders/{order_id}`` as the order's customer."""
    return httpx.get(f"{order.url}/orders/{order_id}", headers=as_customer(order_id), timeout=5)


class Payment(ServiceProcess):
    def simulate(self, **changes: Any) -> None:
        """Change payment's simulation at run time through its admin endpoint."""
        current = httpx.get(f"{self.url}/admin/simulation", headers=ADMIN, timeout=5).json()
        current.update(changes)
        answer = httpx.put(f"{self.url}/admin/simulation", json=current, headers=ADMIN, timeout=5)
        assert answer.status_code == 200, answer.text

    def charges(self) -> dict[str, int]:
        """Approved payments per order id, read from payment's own ledger."""
        database = Path(self.env["PIZZA_VAR_DIR"]) / "data" / "payment_svc.db"
        with sqlite3.connect(database) as conn:
            rows = conn.execute(
                "SELECT order_id, count(*) FROM payments WHERE status = 'approved' "
                "GROUP BY order_id"
            ).fetchall()
        return {order_id: count for order_id, count in rows}


@pytest.fixture
def payment(tmp_path: Path) -> Iterator[Payment]:
    port = free_port()
    process = Payment(
        "payment_svc",
        port,
        env={
            "PAYMENT_PORT": str(port),
            "PIZZA_VAR_DIR": str(tmp_path / "payment"),
            "PAYMENT_ERROR_RATE": "0",
            "PAYMENT_LATENCY_MS": "0",
        },
        log_path=tmp_path / "payment.log",
    )
    process.start()
    yield process
    process.stop()


def order_process(
    infra: InfraSettings, payment: ServiceProcess, tmp_path: Path, **env: str
) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        "order_svc",
        port,
        env={
            **infra_env(infra, "order"),
            "ORDER_PORT": str(port),
            "ORDER_PAYMENT_URL": payment.url,
            "PIZZA_VAR_DIR": str(tmp_path / "order"),
            "ORDER_BREAKER_OPEN_S": "1",
            "ORDER_TRACKING_SECRET": TRACKING_SECRET,
            **env,
        },
        log_path=tmp_path / "order.log",
    )


@pytest.fixture
def order(infra: InfraSettings, payment: Payment, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = order_process(infra, payment, tmp_path).start()
    yield process
    process.stop()
