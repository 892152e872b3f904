"""The operator's credentials for payment_svc: the static admin token while tokens are off,
a cached pizza-admin token of the realm while they are on (the token endpoint faked here;
tests/e2e/test_service_identity.py takes them from a real Keycloak)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_infra import operator_tokens
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.identity import secret
from pizza_infra.operator_tokens import ADMIN_SCOPE, READ_SCOPE, payment_headers


def test_without_keycloak_the_admin_api_gets_the_static_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = InfraSettings(var_dir=tmp_path, keycloak_enabled=False)
    monkeypatch.delenv("PAYMENT_ADMIN_TOKEN", raising=False)
    assert payment_headers(settings) == {"Authorization": "Bearer pizza-admin"}
    monkeypatch.setenv("PAYMENT_ADMIN_TOKEN", "s3cret")
    assert payment_headers(settings) == {"Authorization": "Bearer s3cret"}
    assert payment_headers(settings, READ_SCOPE) == {}  # reads are open then


def test_with_keycloak_a_scoped_token_is_fetched_once_and_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = InfraSettings(var_dir=tmp_path, keycloak_enabled=True, keycloak_port=1180)
    calls: list[dict[str, Any]] = []

    def post(url: str, **kwargs: Any) -> httpx.Response:
        calls.append({"url": url, **kwargs})
        token = f"token-{len(calls)}"
        return httpx.Response(200, json={"access_token": token, "expires_in": 300})

    monkeypatch.setattr(operator_tokens, "_cache", {})
    monkeypatch.setattr(httpx, "post", post)
    assert payment_headers(settings) == {"Authorization": "Bearer token-1"}
    assert payment_headers(settings) == {"Authorization": "Bearer token-1"}
    assert payment_headers(settings, READ_SCOPE) == {"Authorization": "Bearer token-2"}
    assert [call["data"]["scope"] for call in calls] == [ADMIN_SCOPE, READ_SCOPE]
    assert calls[0]["url"] == settings.token_url
    assert calls[0]["data"]["grant_type"] == "client_credentials"
    assert calls[0]["auth"] == ("pizza-admin", secret(settings, "pizza-admin"))


def test_a_token_close_to_its_expiry_is_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = InfraSettings(var_dir=tmp_path, keycloak_enabled=True, keycloak_port=1180)
    issued: list[str] = []

    def post(url: str, **_: Any) -> httpx.Response:
        issued.append(url)
        return httpx.Response(200, json={"access_token": f"t{len(issued)}", "expires_in": 20})

    monkeypatch.setattr(operator_tokens, "_cache", {})
    monkeypatch.setattr(httpx, "post", post)
    payment_headers(settings)
    payment_headers(settings)
    assert len(issued) == 2  # 20 s is less than the margin kept


def test_a_refused_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path, keycloak_enabled=True, keycloak_port=1180)

    def post(url: str, **_: Any) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_scope"})

    monkeypatch.setattr(operator_tokens, "_cache", {})
    monkeypatch.setattr(httpx, "post", post)
    with pytest.raises(InfraError, match="invalid_scope"):
        payment_headers(settings)
