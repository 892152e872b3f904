"""Service identity in `just up`: every order_svc -> payment_svc call carries a token of the
realm, and payment refuses any call without the right one (docs/security.md)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from pizza_infra.config import InfraSettings
from pizza_infra.identity import ADMIN_SECRET, ADMIN_USERNAME, secret
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


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


class RealmKeys:
    """The pizza realm's signing keys, through Keycloak's admin API."""

    def __init__(self, realm: InfraSettings) -> None:
        answer = httpx.post(
            f"{realm.keycloak_url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USERNAME,
                "password": secret(realm, ADMIN_SECRET),
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        self._headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        self._url = f"{realm.keycloak_url}/admin/realms/pizza"

    def _get(self, path: str) -> Any:
        answer = httpx.get(f"{self._url}{path}", headers=self._headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def rsa_providers(self) -> set[str]:
        """The ids of the realm's RS256 key providers."""
        keys = self._get("/keys")["keys"]
        return {k["providerId"] for k in keys if k["algorithm"] == "RS256" and k["use"] == "SIG"}

    def add_rsa_key(self) -> None:
        """A new RS256 key that outranks the others: new tokens are signed with it."""
        component = {
            "name": f"rotated-{uuid.uuid4().hex[:8]}",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": self._get("")["id"],
            "config": {"priority": ["1000"], "active": ["true"], "enabled": ["true"]},
        }
        answer = httpx.post(
            f"{self._url}/components", json=component, headers=self._headers, timeout=10
        )
        assert answer.status_code == 201, answer.text

    def remove(self, provider: str) -> None:
        answer = httpx.delete(f"{self._url}/components/{provider}", headers=self._headers)
        assert answer.status_code == 204, answer.text


def test_a_new_signing_key_is_taken_and_a_removed_one_refused_without_restart(
    platform: RunningPlatform, realm: InfraSettings
) -> None:
    keys = RealmKeys(realm)
    old_token = _token(realm, "order-svc")
    assert _pay(platform, {"Authorization": f"Bearer {old_token}"}).status_code == 201
    old_providers = keys.rsa_providers()

    keys.add_rsa_key()
    new_token = _token(realm, "order-svc")
    assert _kid(new_token) != _kid(old_token)
    # An unknown kid makes payment fetch the keys again, at most once per
    # PAYMENT_AUTH_JWKS_REFETCH_S (5 s): within that, the new key is taken.
    deadline = time.monotonic() + 30
    taken = _pay(platform, {"Authorization": f"Bearer {new_token}"})
    while taken.status_code == 401 and time.monotonic() < deadline:
        time.sleep(0.5)
        taken = _pay(platform, {"Authorization": f"Bearer {new_token}"})
    assert taken.status_code == 201, taken.text

    for provider in old_providers:
        keys.remove(provider)
    # payment asks for the keys again once its copy is older than PAYMENT_AUTH_JWKS_CACHE_S
    # (short on this platform): then the removed key's tokens are refused.
    deadline = time.monotonic() + 30
    refused = _pay(platform, {"Authorization": f"Bearer {old_token}"})
    while refused.status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.5)
        refused = _pay(platform, {"Authorization": f"Bearer {old_token}"})
    assert refused.status_code == 401
    assert "does not publish" in refused.headers["WWW-Authenticate"]
    assert _pay(platform, {"Authorization": f"Bearer {new_token}"}).status_code == 201

    # order_svc drops a token payment refused and fetches a new one: orders go on, at
    # worst one answered 503 while its old token was refused.
    answers = [
        httpx.post(
            f"{platform.url('order')}/orders",
            content=(REPO_ROOT / "docs" / "examples" / "order.json").read_bytes(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        ).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 201, answers
    assert answers.count(503) <= 1, answers
