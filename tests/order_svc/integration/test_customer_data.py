"""Only the customer (with the tracking token of the 201) and an operator (a bearer token
with orders:read) read an order at order_svc; the token itself is never stored."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pizza_common.web import tracking_token_sha256
from pizza_infra.config import InfraSettings
from tests.oauth_server import OAuthServer
from tests.order_svc.conftest import Payment, example_order, order_process
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration

AUDIENCE = "order-svc"


@pytest.fixture
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def order(
    infra: InfraSettings, payment: Payment, tmp_path: Path, idp: OAuthServer
) -> Iterator[ServiceProcess]:
    process = order_process(
        infra,
        payment,
        tmp_path,
        ORDER_AUTH_ISSUER=idp.issuer.url,
        ORDER_AUTH_AUDIENCE=AUDIENCE,
    ).start()
    yield process
    process.stop()


def _place(order: ServiceProcess, key: str) -> httpx.Response:
    answer = httpx.post(
        f"{order.url}/orders", json=example_order(), headers={"Idempotency-Key": key}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer


def _read(order: ServiceProcess, order_id: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{order.url}/orders/{order_id}", headers=headers, timeout=5)


def test_an_order_is_read_only_with_its_tracking_token_or_orders_read(
    order: ServiceProcess, idp: OAuthServer, tmp_path: Path
) -> None:
    key = f"test-{uuid.uuid4()}"
    placed = _place(order, key).json()
    order_id, token = placed["order_id"], placed["tracking_token"]
    assert len(token) >= 43

    nobody = _read(order, order_id)
    assert nobody.status_code == 401
    assert nobody.headers["WWW-Authenticate"].startswith('Tracking-Token realm="order_svc"')
    assert "phone" not in nobody.text

    wrong = _read(order, order_id, **{"X-Tracking-Token": token[:-1] + "x"})
    unknown = _read(order, str(uuid.uuid4()), **{"X-Tracking-Token": token})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["title"] == unknown.json()["title"]

    customer = _read(order, order_id, **{"X-Tracking-Token": token})
    assert customer.status_code == 200
    assert customer.json()["customer"]["phone"] == example_order()["customer"]["phone"]
    assert "tracking_token" not in customer.json()  # handed out with the 201 only

    operator = idp.issuer.mint(scope="orders:read", aud=AUDIENCE)
    assert _read(order, order_id, Authorization=f"Bearer {operator}").status_code == 200
    payments = idp.issuer.mint(scope="payments:read", aud=AUDIENCE)
    refused = _read(order, order_id, Authorization=f"Bearer {payments}")
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    elsewhere = idp.issuer.mint(scope="orders:read", aud="delivery-svc")
    assert _read(order, order_id, Authorization=f"Bearer {elsewhere}").status_code == 401

    # A replay (the first answer lost) hands out the same token.
    replayed = _place(order, key)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["tracking_token"] == token

    # Only the digest is kept, in the order and in its event.
    with sqlite3.connect(tmp_path / "order" / "data" / "order_svc.db") as conn:
        stored = conn.execute(
            "SELECT tracking_token_sha256 FROM orders WHERE order_id = ?", (order_id,)
        ).fetchone()[0]
        everything = "".join(
            str(row)
            for table in ("orders", "outbox")
            for row in conn.execute(f"SELECT * FROM {table}")
        )
    assert stored == tracking_token_sha256(token)
    assert token not in everything
    assert tracking_token_sha256(token) in everything  # the event carries it for delivery
