"""delivery_svc shows one order to its customer (the tracking token whose digest came
with order.placed) or an operator (orders:read), and its list to operators only."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pizza_common.testing import order_placed, order_ready, tracking_header, tracking_token_of
from tests.delivery_svc.conftest import DELIVERY_AUDIENCE, operator_headers
from tests.kitchen_svc.helpers import OrderFeed, Processes, wait_until
from tests.oauth_server import OAuthServer
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def delivery(run: Processes, idp: OAuthServer) -> ServiceProcess:
    return run.delivery(
        DELIVERY_AUTH_ISSUER=idp.issuer.url, DELIVERY_AUTH_AUDIENCE=DELIVERY_AUDIENCE
    )


def test_one_order_is_read_with_the_token_of_its_event_or_orders_read(
    delivery: ServiceProcess, feed: OrderFeed, idp: OAuthServer
) -> None:
    placed = order_placed()
    feed.place([placed])
    feed.ready([order_ready(placed)])
    url = f"{delivery.url}/orders/{placed.order_id}"

    def customer_sees_it_delivered() -> bool:
        answer = httpx.get(url, headers=tracking_header(placed.order_id), timeout=5)
        return answer.status_code == 200 and answer.json()["status"] == "delivered"

    # The digest came with order.placed: delivery checks the token without order_svc.
    wait_until(customer_sees_it_delivered, 60, "the customer to see the order delivered")

    nobody = httpx.get(url, timeout=5)
    assert nobody.status_code == 401
    assert nobody.headers["WWW-Authenticate"] == (
        'Tracking-Token realm="delivery_svc", Bearer realm="delivery_svc", scope="orders:read"'
    )
    wrong = httpx.get(url, headers={"X-Tracking-Token": "guessed"}, timeout=5)
    unknown_id = order_placed().order_id
    unknown = httpx.get(
        f"{delivery.url}/orders/{unknown_id}", headers=tracking_header(unknown_id), timeout=5
    )
    assert wrong.status_code == unknown.status_code == 404
    another = {"X-Tracking-Token": tracking_token_of(unknown_id)}  # a real token, not this order's
    assert httpx.get(url, headers=another, timeout=5).status_code == 404
    assert httpx.get(url + "/events", headers=another, timeout=5).status_code == 404
    assert httpx.get(url + "/events", timeout=5).status_code == 401

    assert httpx.get(url, headers=operator_headers(idp), timeout=5).status_code == 200
    refused = httpx.get(url, headers=operator_headers(idp, "payments:read"), timeout=5)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_the_list_is_for_operators_with_orders_read_and_names_nobody(
    delivery: ServiceProcess, feed: OrderFeed, idp: OAuthServer
) -> None:
    placed = order_placed()
    feed.place([placed])
    url = f"{delivery.url}/orders"

    assert httpx.get(url, timeout=5).status_code == 401
    assert httpx.get(url, headers=tracking_header(placed.order_id), timeout=5).status_code == 401
    refused = httpx.get(url, headers=operator_headers(idp, "payments:read"), timeout=5)
    assert refused.status_code == 403

    def listed() -> list[dict[str, object]] | None:
        answer = httpx.get(url, headers=operator_headers(idp), timeout=5)
        assert answer.status_code == 200, answer.text
        orders: list[dict[str, object]] = answer.json()["orders"]
        return [o for o in orders if o["order_id"] == placed.order_id] or None

    [row] = wait_until(listed, 60, "the order in the list")
    assert set(row) == {"order_id", "status", "since", "driver"}
    assert placed.customer.phone not in str(row)
