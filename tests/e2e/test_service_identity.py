"""Service identity in `just up`: every order_svc -> payment_svc call carries a token of the
realm, and payment refuses any call without the right one (docs/security.md)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.identity import secret
from pizza_infra.operator_tokens import ADMIN_SCOPE, READ_SCOPE, payment_headers
from tests import REPO_ROOT
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e

CHARGE = {
    "order_id": str(uuid.uuid4()),
    "amount": "12.00",
    "currency": "CHF",
    "card_number": "4242424242424242",
}


@pytest.fixture(scope="module")
def realm(platform: RunningPlatform) -> InfraSettings:
    """The e2e platform's Keycloak, its secrets in the platform's data."""
    return InfraSettings(
        var_dir=Path(platform.env["PIZZA_VAR_DIR"]),
        keycloak_port=int(platform.env["KEYCLOAK_PORT"]),
        keycloak_enabled=True,
    )


def _token(realm: InfraSettings, client: str, scope: str = "") -> str:
    answer = httpx.post(
        realm.token_url,
        data={"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
        auth=(client, secret(realm, client)),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _pay(platform: RunningPlatform, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{platform.url('payment')}/pay",
        json=CHARGE,
        headers={"Idempotency-Key": f"e2e-{uuid.uuid4()}", **headers},
        timeout=10,
    )


def test_an_order_is_charged_with_a_token_then_cooked_and_delivered(
    platform: RunningPlatform, realm: InfraSettings
) -> None:
    placed = httpx.post(
        f"{platform.url('order')}/orders",
        content=(REPO_ROOT / "docs" / "examples" / "order.json").read_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["payment"]["outcome"] == "approved"
    # The ledger has it (read with the operator's payments:read token).
    payment_url = f"{platform.url('payment')}/payments/{order['payment']['payment_id']}"
    ledger = httpx.get(payment_url, headers=payment_headers(realm, READ_SCOPE), timeout=5)
    assert ledger.status_code == 200, ledger.text
    assert ledger.json()["order_id"] == order["order_id"]
    assert ledger.json()["status"] == "approved"
    assert httpx.get(payment_url, timeout=5).status_code == 401  # not without a token
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline and status != "delivered":
        answer = httpx.get(
            f"{platform.url('delivery')}/orders/{order['order_id']}",
            headers={"X-Tracking-Token": order["tracking_token"]},
            timeout=5,
        )
        status = answer.json().get("status") if answer.status_code == 200 else None
        time.sleep(0.3)
    assert status == "delivered"


def test_payment_refuses_a_charge_without_a_token(platform: RunningPlatform) -> None:
    answer = _pay(platform, {})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="payment_svc"'
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_payment_refuses_tokens_not_meant_for_charging(
    platform: RunningPlatform, realm: InfraSettings
) -> None:
    # kitchen-svc's tokens carry no payment scope and are not addressed to payment at all.
    kitchen = _pay(platform, {"Authorization": f"Bearer {_token(realm, 'kitchen-svc')}"})
    assert kitchen.status_code == 401
    assert 'error="invalid_token"' in kitchen.headers["WWW-Authenticate"]
    # The operator's token is for payment, but may only read.
    reader = _pay(platform, {"Authorization": f"Bearer {_token(realm, 'pizza-admin')}"})
    assert reader.status_code == 403
    challenge = reader.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="payments:write"' in challenge
    # order-svc's own token charges.
    order = _pay(platform, {"Authorization": f"Bearer {_token(realm, 'order-svc')}"})
    assert order.status_code == 201, order.text


def test_the_admin_api_takes_a_payments_admin_token_never_the_static_one(
    platform: RunningPlatform, realm: InfraSettings
) -> None:
    url = f"{platform.url('payment')}/admin/simulation"
    static = httpx.get(url, headers={"Authorization": "Bearer pizza-admin"}, timeout=5)
    assert static.status_code == 401
    without_admin = {"Authorization": f"Bearer {_token(realm, 'pizza-admin')}"}
    assert httpx.get(url, headers=without_admin, timeout=5).status_code == 403
    admin = httpx.get(url, headers=payment_headers(realm, ADMIN_SCOPE), timeout=5)
    assert admin.status_code == 200, admin.text
    assert "error_rate" in admin.json()
