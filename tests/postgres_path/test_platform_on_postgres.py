"""Every service on PostgreSQL instead of SQLite, chosen by URL alone: one order goes
the whole way, and each service's rows are in its own PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.four_services import SERVICES, four_services, wait_delivered
from tests.order_svc.conftest import example_order
from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_an_order_goes_all_the_way_with_every_service_on_postgres(
    infra: InfraSettings, postgres: PostgresServer, tmp_path: Path
) -> None:
    databases = {name: f"{name}_svc_it" for name in SERVICES}
    urls = {
        f"{name.upper()}_DATABASE_URL": postgres.create_database(db)
        for name, db in databases.items()
    }
    with four_services(infra, tmp_path, **urls) as services:
        placed = httpx.post(f"{services['order'].url}/orders", json=example_order(), timeout=15)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        wait_delivered(services["delivery"], placed.json())

    def status(service: str, table: str) -> str:
        sql = f"SELECT status FROM {table} WHERE order_id = '{order_id}'"
        return postgres.query(databases[service], sql)

    assert status("order", "orders") == "accepted"
    assert status("payment", "payments") == "approved"
    assert status("kitchen", "tickets") == "published"
    assert status("delivery", "orders") == "delivered"
    pending = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    assert postgres.query(databases["order"], pending) == "0"
    # Nothing fell back to SQLite.
    assert not list((tmp_path / "data").glob("*.db"))
