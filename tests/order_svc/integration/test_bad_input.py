"""Bad input always gets a clear 4xx problem answer, never a 500 or a hang."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.order_svc.conftest import Payment, example_order
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


def post(order: ServiceProcess, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{order.url}/orders",
        content=content,
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )


def problem_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == answer.status_code
    assert body["title"]
    assert body["detail"]
    return body


def test_malformed_json_is_400(order: ServiceProcess) -> None:
    answer = post(order, b'{"customer": ')
    assert answer.status_code == 400
    assert problem_of(answer)["detail"].startswith("the body is not valid JSON: ")


def test_not_an_object_is_422(order: ServiceProcess) -> None:
    answer = post(order, b"[1, 2, 3]")
    assert answer.status_code == 422
    assert problem_of(answer)["errors"][0]["field"] == "body"


def test_wrong_types_name_each_field_in_german(order: ServiceProcess) -> None:
    body = example_order()
    body["items"][0]["quantity"] = "zwei"
    body["items"][1]["quantity"] = 25
    body["delivery_address"] = {"street": "Bahnhofstrasse 1"}
    answer = httpx.post(
        f"{order.url}/orders", json=body, headers={"Accept-Language": "de-CH,de;q=0.9"}, timeout=10
    )
    assert answer.status_code == 422
    problem = problem_of(answer)
    assert problem["title"] == "Ungültige Bestellung"
    assert answer.headers["Content-Language"] == "de"
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages == {
        "items[0].quantity": "Muss eine ganze Zahl sein.",
        "items[1].quantity": "Darf höchstens 20 sein.",
        "delivery_address.postal_code": "Dieses Feld ist erforderlich.",
        "delivery_address.city": "Dieses Feld ist erforderlich.",
    }


def test_no_pizza_and_no_address_in_english(order: ServiceProcess) -> None:
    body = example_order(items=[])
    del body["delivery_address"]
    answer = httpx.post(f"{order.url}/orders", json=body, timeout=10)
    assert answer.status_code == 422
    messages = {e["field"]: e["message"] for e in problem_of(answer)["errors"]}
    assert messages == {
        "items": "Choose at least 1.",
        "delivery_address": "This field is required.",
    }


def test_an_unknown_pizza_is_named(order: ServiceProcess) -> None:
    body = example_order(items=[{"pizza_id": "hawaii", "size": "LARGE", "quantity": 1}])
    answer = httpx.post(f"{order.url}/orders", json=body, timeout=10)
    assert answer.status_code == 422
    [error] = problem_of(answer)["errors"]
    assert error == {
        "field": "items[0].pizza_id",
        "code": "unknown_pizza",
        "message": "There is no pizza 'hawaii' on the menu.",
    }


def orders_stored(order: ServiceProcess) -> int:
    """Rows in order_svc's own database."""
    with sqlite3.connect(Path(order.env["PIZZA_VAR_DIR"]) / "data" / "order_svc.db") as conn:
        count: int = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        return count


VALID = json.dumps(example_order()).encode()
BAD_BYTES = {
    # A name with bytes that are not UTF-8 (it was a 500: UnicodeDecodeError).
    "invalid-utf8": (VALID.replace(b"Ada Lovelace", b"Ada \xff\xfe Lovelace"), "not valid UTF-8"),
    # Far under the size limit, but nested 5,000 deep (it was a 500: RecursionError).
    "nested-5000": (b'{"customer": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
    # It was a 422 about a field called `data`.
    "empty": (b"", "the request body is empty"),
}


@pytest.mark.parametrize(("content", "detail"), BAD_BYTES.values(), ids=BAD_BYTES.keys())
def test_bad_bytes_are_400_with_a_clear_message_and_nothing_stored(
    order: ServiceProcess, payment: Payment, content: bytes, detail: str
) -> None:
    answer = post(order, content)
    assert answer.status_code == 400, answer.text
    assert detail in problem_of(answer)["detail"]
    assert orders_stored(order) == 0
    assert payment.charges() == {}
    assert not [r for r in order.log_records() if r.get("level") == "error"]


@pytest.mark.parametrize("quantity", ["2", 2.0, True], ids=["string", "float", "bool"])
def test_a_quantity_is_a_json_integer_never_coerced(
    order: ServiceProcess, payment: Payment, quantity: object
) -> None:
    body = example_order()
    body["items"][0]["quantity"] = quantity
    answer = httpx.post(f"{order.url}/orders", json=body, timeout=10)
    assert answer.status_code == 422, answer.text
    [error] = problem_of(answer)["errors"]
    assert error == {
        "field": "items[0].quantity",
        "code": "int_type",
        "message": "Must be a whole number.",
    }
    assert orders_stored(order) == 0
    assert payment.charges() == {}


def test_a_huge_body_is_413(order: ServiceProcess) -> None:
    body = example_order()
    body["delivery_address"]["instructions"] = "x" * (200 * 1024)
    answer = httpx.post(f"{order.url}/orders", json=body, timeout=10)
    assert answer.status_code == 413
    problem_of(answer)
    assert orders_stored(order) == 0


def test_a_bad_idempotency_key_is_400(order: ServiceProcess) -> None:
    answer = httpx.post(
        f"{order.url}/orders",
        json=example_order(),
        headers={"Idempotency-Key": "spaces are not allowed"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert "Idempotency-Key" in problem_of(answer)["detail"]


def test_unknown_order_is_404(order: ServiceProcess) -> None:
    answer = httpx.get(
        f"{order.url}/orders/no-such-order", headers={"X-Tracking-Token": "any"}, timeout=10
    )
    assert answer.status_code == 404
    assert "no-such-order" in problem_of(answer)["detail"]


def test_the_service_stays_healthy_after_all_that(order: ServiceProcess) -> None:
    for content in (b"{", b"null", b'{"items": "x"}', b"\xff\xfe"):
        assert post(order, content).status_code in {400, 422}
    assert httpx.get(f"{order.url}/health", timeout=5).status_code == 200
    assert not [r for r in order.log_records() if r.get("level") == "error"]
