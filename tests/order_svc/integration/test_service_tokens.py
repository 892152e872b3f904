"""order_svc charging through a real payment_svc that checks tokens, with tokens from the
test identity provider over HTTP; the provider stopped mid-way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.oauth_server import ORDER_CLIENT, OAuthServer
from tests.order_svc.conftest import Payment, order_process
from tests.order_svc.integration.test_order_flow import post_order
from tests.service_process import ServiceProcess, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def payment(idp: OAuthServer, tmp_path: Path) -> Iterator[Payment]:
    port = free_port()
    process = Payment(
        "payment_svc",
        port,
        env={
            "PAYMENT_PORT": str(port),
            "PIZZA_VAR_DIR": str(tmp_path / "payment"),
            "PAYMENT_ERROR_RATE": "0",
            "PAYMENT_LATENCY_MS": "0",
            "PAYMENT_AUTH_ISSUER": idp.issuer.url,
        },
        log_path=tmp_path / "payment.log",
    )
    process.start()
    yield process
    process.stop()


def order_with_tokens(
    infra: InfraSettings, payment: Payment, idp: OAuthServer, tmp_path: Path
) -> ServiceProcess:
    return order_process(
        infra,
        payment,
        tmp_path,
        ORDER_OAUTH_TOKEN_URL=idp.issuer.token_url,
        ORDER_OAUTH_CLIENT_ID=ORDER_CLIENT[0],
        ORDER_OAUTH_CLIENT_SECRET=ORDER_CLIENT[1],
    )


def test_orders_are_charged_with_a_token_and_while_the_provider_is_down(
    infra: InfraSettings, payment: Payment, idp: OAuthServer, tmp_path: Path
) -> None:
    order = order_with_tokens(infra, payment, idp, tmp_path).start()
    try:
        answer = post_order(order)
        assert answer.status_code == 201, answer.text
        with idp.down():
            for _ in range(3):
                answer = post_order(order)
                assert answer.status_code == 201, answer.text
        assert idp.issuer.requests["token"] == 1  # one token for all four
        # Payment took them because they carried the token: without one it refuses.
        unauthenticated = httpx.get(f"{payment.url}/payments/by-key/x", timeout=5)
        assert unauthenticated.status_code == 401
    finally:
        order.stop()


def test_no_token_to_be_had_is_the_friendly_503_then_recovers(
    infra: InfraSettings, payment: Payment, idp: OAuthServer, tmp_path: Path
) -> None:
    idp.stop()
    order = order_with_tokens(infra, payment, idp, tmp_path).start()
    try:
        answer = post_order(order, **{"Accept-Language": "de"})
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["detail"].startswith("Das Zahlungssystem antwortet nicht")
        assert payment.charges() == {}
        idp.start()
        deadline = time.monotonic() + 15
        while (answer := post_order(order)).status_code != 201 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert answer.status_code == 201, answer.text
    finally:
        order.stop()
