"""Keycloak as the platform starts it: the pizza realm imported into a clean data folder,
each service's client with exactly its scopes and audience, secrets only under var/, and
everything still there after a restart. Only these tests wait for Keycloak."""

from __future__ import annotations

import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from pizza_infra.config import REALM, InfraSettings
from pizza_infra.identity import (
    ADMIN_SECRET,
    BOARD_AUDIENCE,
    CLIENTS,
    OPERATOR_CLIENT,
    REPLAY_SCOPE,
    secret,
    secret_file,
)
from pizza_infra.servers.keycloak import REALM_FILE, keycloak_process, start_keycloak
from tests import REPO_ROOT
from tests.conftest import _test_settings

pytestmark = pytest.mark.integration

NO_AUDIENCE: set[str] = set()
# client -> (scopes in its token when it asks for none, audience)
EXPECTED = {
    "order-svc": ({"payments:write", "payments:read"}, {"payment-svc"}),
    "kitchen-svc": (set(), NO_AUDIENCE),
    "delivery-svc": (set(), NO_AUDIENCE),
    "lag-exporter": (set(), NO_AUDIENCE),
    "pizza-admin": (
        {"orders:read", "payments:read"},
        {"order-svc", "delivery-svc", "payment-svc"},
    ),
    "board": ({"orders:read"}, {"order-svc", "delivery-svc"}),
}


@pytest.fixture(scope="module")
def keycloak() -> Iterator[InfraSettings]:
    var_dir = Path(tempfile.mkdtemp(prefix="pizza-keycloak-test-"))
    settings = _test_settings(var_dir).model_copy(update={"keycloak_enabled": True})
    try:
        start_keycloak(settings)
        yield settings
    finally:
        keycloak_process(settings).stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def _token(settings: InfraSettings, client: str, secret_: str, scope: str = "") -> httpx.Response:
    return httpx.post(
        settings.token_url,
        data={"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
        auth=(client, secret_),
        timeout=10,
    )


def _claims(settings: InfraSettings, token: str) -> dict[str, Any]:
    """The token's claims, its signature checked against the realm's published keys."""
    issuer = f"{settings.keycloak_url}/realms/{REALM}"
    key = jwt.PyJWKClient(f"{issuer}/protocol/openid-connect/certs").get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], issuer=issuer, options={"verify_aud": False}
    )
    return claims


def _audience(claims: dict[str, Any]) -> set[str]:
    aud = claims.get("aud", [])
    return {aud} if isinstance(aud, str) else set(aud)


def test_the_realm_is_imported_into_a_clean_data_folder(keycloak: InfraSettings) -> None:
    well_known = f"{keycloak.keycloak_url}/realms/{REALM}/.well-known/openid-configuration"
    config = httpx.get(well_known, timeout=10).json()
    assert config["token_endpoint"] == keycloak.token_url
    assert "Realm 'pizza' imported" in keycloak_process(keycloak).log_file.read_text()
    assert (keycloak.data_dir / "keycloak" / "data" / "h2").is_dir()  # kept under var/


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_gets_exactly_its_scopes_and_audience(
    keycloak: InfraSettings, client: str
) -> None:
    answer = _token(keycloak, client, secret(keycloak, client))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The realm's 5 minutes, counted from the token's issue second: 299 when a second
    # ticked between issuing and answering.
    assert 298 <= body["expires_in"] <= 300
    claims = _claims(keycloak, body["access_token"])
    scopes, audience = EXPECTED[client]
    assert set(claims.get("scope", "").split()) == scopes
    assert _audience(claims) == audience
    assert claims["azp"] == client


def test_payments_admin_is_given_only_when_asked_for_and_only_to_the_admin(
    keycloak: InfraSettings,
) -> None:
    admin = _token(keycloak, "pizza-admin", secret(keycloak, "pizza-admin"), "payments:admin")
    assert admin.status_code == 200, admin.text
    scopes = set(_claims(keycloak, admin.json()["access_token"])["scope"].split())
    assert scopes == {"payments:admin", "orders:read", "payments:read"}
    order = _token(keycloak, "order-svc", secret(keycloak, "order-svc"), "payments:admin")
    assert order.status_code == 400
    assert order.json()["error"] == "invalid_scope"


def test_dlq_replay_is_given_only_when_asked_for_and_only_to_the_admin(
    keycloak: InfraSettings,
) -> None:
    admin = _token(keycloak, OPERATOR_CLIENT, secret(keycloak, OPERATOR_CLIENT), REPLAY_SCOPE)
    assert admin.status_code == 200, admin.text
    claims = _claims(keycloak, admin.json()["access_token"])
    assert set(claims["scope"].split()) == {REPLAY_SCOPE, "orders:read", "payments:read"}
    assert BOARD_AUDIENCE in _audience(claims)  # what the board checks
    for client in set(CLIENTS) - {OPERATOR_CLIENT}:
        refused = _token(keycloak, client, secret(keycloak, client), REPLAY_SCOPE)
        assert refused.status_code == 400, client
        assert refused.json()["error"] == "invalid_scope"


def test_a_wrong_secret_is_refused(keycloak: InfraSettings) -> None:
    answer = _token(keycloak, "order-svc", "not-" + secret(keycloak, "order-svc"))
    assert answer.status_code == 401
    assert _token(keycloak, "no-such-client", "x").status_code == 401


def test_secrets_exist_only_under_var_and_never_in_the_repository(
    keycloak: InfraSettings,
) -> None:
    names = [*CLIENTS, ADMIN_SECRET]
    values = [secret(keycloak, name) for name in names]
    for name in names:
        path = secret_file(keycloak, name)
        assert path.is_relative_to(keycloak.var_dir)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    realm_file = REALM_FILE.read_text()
    tracked = subprocess.run(
        ["git", "grep", "-l", "-F", *(arg for v in values for arg in ("-e", v))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tracked.returncode == 1, tracked.stdout  # 1: no tracked file holds any of them
    assert not any(value in realm_file for value in values)
    # The admin password works (the console's own client logs in with it).
    login = httpx.post(
        f"{keycloak.keycloak_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": secret(keycloak, ADMIN_SECRET),
        },
        timeout=10,
    )
    assert login.status_code == 200, login.text


def test_a_restart_keeps_the_realm_and_the_secrets(keycloak: InfraSettings) -> None:
    client_secret = secret(keycloak, "order-svc")
    before = _claims(keycloak, _token(keycloak, "order-svc", client_secret).json()["access_token"])
    assert keycloak_process(keycloak).stop()
    start_keycloak(keycloak)
    answer = _token(keycloak, "order-svc", client_secret)
    assert answer.status_code == 200, answer.text
    after = _claims(keycloak, answer.json()["access_token"])
    assert after["sub"] == before["sub"]  # the same service account: kept, not imported anew
    assert secret(keycloak, "order-svc") == client_secret
    log = keycloak_process(keycloak).log_file.read_text()
    assert log.count("Realm 'pizza' imported") == 1
