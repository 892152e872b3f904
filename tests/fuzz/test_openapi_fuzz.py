"""Property-based fuzzing of the HTTP APIs from their committed OpenAPI documents.

schemathesis generates requests from ``docs/openapi/*.json``, ones the document allows and
ones it forbids, and sends them to order, payment and delivery running as real processes.
Every answer must be one the document declares, in the declared shape, and never a 5xx; a
request the document forbids (``"quantity": "2"``, ``"hang": "yes"``) must be refused.

The cases are derandomized and bounded, so every run sends the same requests and takes
seconds: :data:`CASES_PER_SERVICE` generated ones per service, shared by its operations,
and the boundary cases schemathesis derives from each operation (a hundred or two).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from pizza_infra.config import InfraSettings
from tests import REPO_ROOT
from tests.kitchen_svc.helpers import processes, wait_until
from tests.order_svc.conftest import EXAMPLE_ORDER, order_process
from tests.payment_svc.conftest import ADMIN, BASELINE_SIMULATION, PaymentProcess, payment_process
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration

OPENAPI = REPO_ROOT / "docs" / "openapi"
ORDER = schemathesis.openapi.from_path(OPENAPI / "order_svc.json")
PAYMENT = schemathesis.openapi.from_path(OPENAPI / "payment_svc.json")
# An order's status stream ends only once it is delivered, and no kitchen runs here.
DELIVERY = schemathesis.openapi.from_path(OPENAPI / "delivery_svc.json").exclude(
    path="/orders/{order_id}/events"
)

CASES_PER_SERVICE = 300
TIMEOUT_S = 10
NOT_CHECKED = [
    # The documents cannot say every rule (a Luhn-valid card, min <= max, a pizza on the
    # menu): a request valid by the document may still be refused, with a 4xx.
    schemathesis.checks.positive_data_acceptance,
    # litestar's automatic OPTIONS answer names the methods of one handler per path only.
    schemathesis.checks.allow_header_conformance,
]


def bounded(schema: schemathesis.BaseSchema) -> settings:
    """The same cases every run (derandomized), CASES_PER_SERVICE shared by the operations."""
    operations = sum(1 for _ in schema.get_all_operations())
    return settings(
        max_examples=CASES_PER_SERVICE // operations,
        derandomize=True,
        database=None,
        deadline=None,
        # Real processes answer in milliseconds but not in Hypothesis's time budget.
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def payment(folder: Path) -> Iterator[PaymentProcess]:
    process = payment_process(folder / "payment")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def order(infra: InfraSettings, payment: PaymentProcess, folder: Path) -> Iterator[ServiceProcess]:
    process = order_process(infra, payment, folder).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def delivery(infra: InfraSettings, folder: Path) -> Iterator[ServiceProcess]:
    with processes(infra, folder / "delivery") as running:
        yield running.delivery()


def no_errors_logged(process: ServiceProcess) -> None:
    errors = [r for r in process.log_records() if r.get("level") in {"error", "critical"}]
    assert not errors, errors[:3]


@PAYMENT.parametrize()
@bounded(PAYMENT)
def test_payment(case: schemathesis.Case[Any], payment: PaymentProcess) -> None:
    try:
        case.call_and_validate(
            base_url=payment.url, headers=ADMIN, timeout=TIMEOUT_S, excluded_checks=NOT_CHECKED
        )
    finally:
        # A valid simulation may make payment slow or silent: back to the baseline.
        if case.method == "PUT":
            answer = httpx.put(
                f"{payment.url}/admin/simulation",
                json=BASELINE_SIMULATION,
                headers=ADMIN,
                timeout=TIMEOUT_S,
            )
            assert answer.status_code == 200, answer.text


@ORDER.parametrize()
@bounded(ORDER)
def test_order(case: schemathesis.Case[Any], order: ServiceProcess) -> None:
    case.call_and_validate(base_url=order.url, timeout=TIMEOUT_S, excluded_checks=NOT_CHECKED)


@DELIVERY.parametrize()
@bounded(DELIVERY)
def test_delivery(case: schemathesis.Case[Any], delivery: ServiceProcess) -> None:
    case.call_and_validate(base_url=delivery.url, timeout=TIMEOUT_S, excluded_checks=NOT_CHECKED)


def test_known_orders_are_answered_as_documented(
    order: ServiceProcess, delivery: ServiceProcess, payment: PaymentProcess
) -> None:
    """Random ids are unknown (404) or unauthorized (401): the shapes of 200 answers are
    checked with a real order, read as its customer."""
    placed = httpx.post(
        f"{order.url}/orders",
        json=EXAMPLE_ORDER,
        headers={"Idempotency-Key": f"fuzz-{uuid.uuid4()}"},
        timeout=TIMEOUT_S,
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    payment_id = placed.json()["payment"]["payment_id"]
    customer = {"X-Tracking-Token": placed.json()["tracking_token"]}
    wait_until(
        lambda: (
            httpx.get(f"{delivery.url}/orders/{order_id}", headers=customer, timeout=5).status_code
            == 200
        ),
        60,
        "delivery to know the order",
    )

    checked = [
        (ORDER["/orders/{order_id}"]["GET"], {"order_id": order_id}, order, customer),
        (PAYMENT["/payments/{payment_id}"]["GET"], {"payment_id": payment_id}, payment, {}),
        (DELIVERY["/orders/{order_id}"]["GET"], {"order_id": order_id}, delivery, customer),
    ]
    for operation, path_parameters, process, headers in checked:
        case = operation.Case(path_parameters=path_parameters, headers=headers)
        answer = case.call_and_validate(base_url=process.url, timeout=TIMEOUT_S)
        assert answer.status_code == 200, answer.text
    listed = DELIVERY["/orders"]["GET"].Case(query={"status": "received", "limit": 5})
    assert listed.call_and_validate(base_url=delivery.url, timeout=TIMEOUT_S).status_code == 200

    for process in (order, payment, delivery):
        no_errors_logged(process)
