"""payment_svc with bearer tokens on, as a real process, against the test identity
provider over HTTP: every 401 and 403, scopes per route, the admin API, key rotation
without restart, and the provider down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.oauth_server import OAuthServer
from tests.payment_svc.conftest import (
    ADMIN,
    BASELINE_SIMULATION,
    PaymentProcess,
    new_key,
    payment_body,
    payment_process,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def payment(idp: OAuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaymentProcess]:
    process = payment_process(tmp_path_factory.mktemp("payment-auth"))
    # The keys' URL from the issuer's discovery document, as with Keycloak.
    process.env["PAYMENT_AUTH_ISSUER"] = idp.issuer.url
    process.env["PAYMENT_AUTH_JWKS_REFETCH_S"] = "0.2"
    process.start()
    yield process
    process.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pay(payment: PaymentProcess, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{payment.url}/pay",
        json=payment_body(),
        headers={"Idempotency-Key": new_key(), **headers},
        timeout=10,
    )


def assert_problem(answer: httpx.Response, status: int, challenge: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["WWW-Authenticate"] == challenge
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def test_a_valid_token_pays_reads_and_voids(payment: PaymentProcess, idp: OAuthServer) -> None:
    token = idp.issuer.mint(scope="payments:write payments:read")
    key = new_key()
    answer = httpx.post(
        f"{payment.url}/pay",
        json=payment_body(),
        headers={"Idempotency-Key": key, **bearer(token)},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    payment_id = answer.json()["payment_id"]
    fetched = httpx.get(f"{payment.url}/payments/{payment_id}", headers=bearer(token), timeout=5)
    assert fetched.status_code == 200
    status = httpx.get(f"{payment.url}/payments/by-key/{key}", headers=bearer(token), timeout=5)
    assert status.json()["state"] == "approved"
    voided = httpx.post(
        f"{payment.url}/payments/by-key/{key}/void", headers=bearer(token), timeout=5
    )
    assert voided.json()["state"] == "voided"


def test_no_token_is_401_without_error_and_charges_nothing(payment: PaymentProcess) -> None:
    body = payment_body()
    answer = httpx.post(
        f"{payment.url}/pay", json=body, headers={"Idempotency-Key": new_key()}, timeout=10
    )
    problem = assert_problem(answer, 401, 'Bearer realm="payment_svc"')
    assert problem["title"] == "Unauthorized"
    assert payment.ledger(body["order_id"]) == []
    for path in ("/payments/pay_x", "/payments/by-key/k1", "/admin/simulation"):
        assert httpx.get(payment.url + path, timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"lifetime_s": -60}, "the token has expired"),
        ({"nbf": int(time.time()) + 600}, "the token is not valid yet"),
        ({"iss": "http://127.0.0.1:1/realms/other"}, "the token's issuer is not accepted"),
        ({"aud": "kitchen_svc"}, "the token is not meant for this service"),
        ({"headers": {"kid": "nokey"}}, "the token is signed by a key the issuer does not publish"),
        ({"headers": {"alg": "RS384"}}, "the token's algorithm is not accepted"),
    ],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "unknown-kid", "alg"],
)  # fmt: skip
def test_a_bad_token_is_401_invalid_token(
    payment: PaymentProcess, idp: OAuthServer, claims: dict[str, Any], why: str
) -> None:
    answer = pay(payment, bearer(idp.issuer.mint(**claims)))
    challenge = f'Bearer realm="payment_svc", error="invalid_token", error_description="{why}"'
    assert assert_problem(answer, 401, challenge)["detail"] == why


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("Bearer not.a.jwt", "the token is not a well-formed JWT"),
        ("Bearer", "the Authorization header must be: Bearer <token>"),
    ],
)
def test_a_malformed_header_is_401_invalid_token(
    payment: PaymentProcess, header: str, why: str
) -> None:
    answer = pay(payment, {"Authorization": header})
    challenge = f'Bearer realm="payment_svc", error="invalid_token", error_description="{why}"'
    assert_problem(answer, 401, challenge)


def test_a_bad_signature_is_401(payment: PaymentProcess, idp: OAuthServer) -> None:
    head, body, signature = idp.issuer.mint().split(".")
    answer = pay(payment, bearer(f"{head}.{body}.{signature[::-1]}"))
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_the_scheme_is_case_insensitive(payment: PaymentProcess, idp: OAuthServer) -> None:
    answer = pay(payment, {"Authorization": "bearer " + idp.issuer.mint()})
    assert answer.status_code == 201, answer.text


def test_each_route_demands_its_scope(payment: PaymentProcess, idp: OAuthServer) -> None:
    read_only = bearer(idp.issuer.mint(scope="payments:read"))
    challenge = (
        'Bearer realm="payment_svc", error="insufficient_scope", '
        'error_description="the token lacks the scope payments:write", scope="payments:write"'
    )
    assert_problem(pay(payment, read_only), 403, challenge)
    void = httpx.post(f"{payment.url}/payments/by-key/k1/void", headers=read_only, timeout=5)
    assert void.status_code == 403
    write_only = bearer(idp.issuer.mint(scope="payments:write"))
    status = httpx.get(f"{payment.url}/payments/by-key/k1", headers=write_only, timeout=5)
    assert status.status_code == 403
    assert httpx.get(f"{payment.url}/payments/by-key/k1", headers=read_only).status_code == 200


def test_the_admin_api_takes_admin_tokens_only(payment: PaymentProcess, idp: OAuthServer) -> None:
    url = f"{payment.url}/admin/simulation"
    assert httpx.get(url, headers=ADMIN, timeout=5).status_code == 401  # the static token
    write = bearer(idp.issuer.mint(scope="payments:write payments:read"))
    assert httpx.get(url, headers=write, timeout=5).status_code == 403
    admin = bearer(idp.issuer.mint(scope="payments:admin"))
    assert httpx.get(url, headers=admin, timeout=5).status_code == 200
    answer = httpx.put(url, json=BASELINE_SIMULATION, headers=admin, timeout=5)
    assert answer.status_code == 200, answer.text


def test_health_and_the_document_stay_open(payment: PaymentProcess) -> None:
    assert httpx.get(f"{payment.url}/health", timeout=5).status_code == 200
    document = httpx.get(f"{payment.url}/schema/openapi.json", timeout=5).json()
    assert list(document["components"]["securitySchemes"]) == ["bearerAuth"]
    assert document["paths"]["/pay"]["post"]["security"] == [{"bearerAuth": ["payments:write"]}]
    admin = document["paths"]["/admin/simulation"]["put"]["security"]
    assert admin == [{"bearerAuth": ["payments:admin"]}]


def test_cached_keys_serve_while_the_provider_is_down(
    payment: PaymentProcess, idp: OAuthServer
) -> None:
    token = idp.issuer.mint()
    assert pay(payment, bearer(token)).status_code == 201
    with idp.down():
        assert pay(payment, bearer(token)).status_code == 201
        assert pay(payment, bearer(idp.issuer.mint())).status_code == 201


def test_a_rotated_key_is_taken_and_a_retired_one_refused_without_restart(
    payment: PaymentProcess, idp: OAuthServer
) -> None:
    old_kid = idp.issuer.signing_kid
    old_token = idp.issuer.mint()
    assert pay(payment, bearer(old_token)).status_code == 201
    pid = payment.pid
    idp.issuer.rotate()
    idp.issuer.retire(old_kid)
    time.sleep(0.3)  # the refetch limit of this process
    assert pay(payment, bearer(idp.issuer.mint())).status_code == 201
    time.sleep(0.3)
    answer = pay(payment, bearer(old_token))
    assert answer.status_code == 401
    assert "does not publish" in answer.headers["WWW-Authenticate"]
    assert payment.pid == pid
    assert payment.running()


def test_no_keys_and_the_provider_down_is_503(idp: OAuthServer, tmp_path: Path) -> None:
    process = payment_process(tmp_path)
    process.env["PAYMENT_AUTH_ISSUER"] = idp.issuer.url
    process.start()
    try:
        with idp.down():
            answer = pay(process, bearer(idp.issuer.mint()))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert answer.headers["content-type"].startswith("application/problem+json")
    finally:
        process.stop()
