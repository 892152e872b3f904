"""One order makes one connected trace through all four services, checked in Zipkin."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pizza_infra.config import InfraSettings
from tests.four_services import four_services, wait_delivered
from tests.order_svc.conftest import example_order
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def traced_platform(infra: InfraSettings, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    with four_services(
        infra,
        tmp_path,
        OTEL_TRACES_EXPORTER="zipkin",
        OTEL_EXPORTER_ZIPKIN_ENDPOINT=f"{infra.zipkin_url}/api/v2/spans",
        OTEL_BSP_SCHEDULE_DELAY="200",  # export within a fraction of a second
    ) as started:
        yield started


def _wait(what: str, probe: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


# Every span the test looks at: each process exports its spans in batches of its own,
# so one service's may reach Zipkin well after another's later ones.
EVERY_SPAN = {
    ("order_svc", "post /orders"),
    ("payment_svc", "post /pay"),
    ("order_svc", "order.placed publish"),
    ("kitchen_svc", "order.placed process"),
    ("kitchen_svc", "cook"),
    ("kitchen_svc", "order.ready publish"),
    ("delivery_svc", "order.ready process"),
    ("delivery_svc", "delivery driver_assigned"),
    ("delivery_svc", "delivery on_the_way"),
    ("delivery_svc", "delivery delivered"),
}


def test_one_order_is_one_trace_across_all_services(
    infra: InfraSettings, traced_platform: dict[str, ServiceProcess]
) -> None:
    order, delivery = traced_platform["order"], traced_platform["delivery"]
    answer = httpx.post(f"{order.url}/orders", json=example_order(), timeout=10)
    assert answer.status_code == 201, answer.text
    version, trace_id, span_id, _flags = answer.headers["traceresponse"].split("-")
    assert (version, len(trace_id), len(span_id)) == ("00", 32, 16)

    wait_delivered(delivery, answer.json())

    def whole_trace() -> list[dict[str, Any]] | None:
        found = httpx.get(f"{infra.zipkin_url}/api/v2/trace/{trace_id}", timeout=5)
        if found.status_code != 200:
            return None
        spans: list[dict[str, Any]] = found.json()
        names = {(s["localEndpoint"]["serviceName"], s.get("name", "")) for s in spans}
        return spans if names >= EVERY_SPAN else None

    spans = _wait("the whole trace in Zipkin", whole_trace)
    by_id = {s["id"]: s for s in spans}

    def one(service: str, name: str, kind: str | None = None) -> dict[str, Any]:
        matches = [
            s
            for s in spans
            if s["localEndpoint"]["serviceName"] == service
            and s.get("name") == name
            and (kind is None or s.get("kind") == kind)
        ]
        assert len(matches) == 1, f"{service} {name}: {len(matches)} spans"
        found: dict[str, Any] = matches[0]
        return found

    def ancestors(span: dict[str, Any]) -> list[dict[str, Any]]:
        chain = []
        while span.get("parentId") in by_id:
            span = by_id[span["parentId"]]
            chain.append(span)
        return chain

    # Every span is in the one trace, and every service took part.
    assert {s["traceId"] for s in spans} == {trace_id}
    assert {s["localEndpoint"]["serviceName"] for s in spans} >= {
        "order_svc",
        "payment_svc",
        "kitchen_svc",
        "delivery_svc",
    }
    request = one("order_svc", "post /orders", "SERVER")
    pay = one("payment_svc", "post /pay", "SERVER")
    placed = one("order_svc", "order.placed publish", "PRODUCER")
    kitchen_took = one("kitchen_svc", "order.placed process", "CONSUMER")
    cook = one("kitchen_svc", "cook")
    ready = one("kitchen_svc", "order.ready publish", "PRODUCER")
    delivery_took = one("delivery_svc", "order.ready process", "CONSUMER")
    steps_of_delivery = [
        one("delivery_svc", f"delivery {step}")
        for step in ("driver_assigned", "on_the_way", "delivered")
    ]

    # Causal order: each step descends from the one that caused it (parent-child across
    # HTTP and across both topics), and starts after it.
    assert request in ancestors(pay)
    assert request in ancestors(placed)
    assert ancestors(kitchen_took)[0] is placed
    assert ancestors(cook)[0] is kitchen_took
    assert kitchen_took in ancestors(ready)
    assert ancestors(delivery_took)[0] is ready
    assert request is ancestors(delivery_took)[-1]
    for step in steps_of_delivery:  # the fleet's steps, later, still in the order's trace
        chain = ancestors(step)
        assert chain[0]["localEndpoint"]["serviceName"] == "delivery_svc"
        assert chain[0]["kind"] == "CONSUMER"  # the last event delivery applied
        assert request is chain[-1]
    for earlier, later in (
        (request, pay),
        (placed, kitchen_took),
        (cook, ready),
        (ready, delivery_took),
    ):
        assert earlier["timestamp"] <= later["timestamp"]
    # The record's wait in the topic shows as the gap between publish and processing.
    assert kitchen_took["timestamp"] >= placed["timestamp"]


def test_log_lines_carry_the_trace(
    infra: InfraSettings, traced_platform: dict[str, ServiceProcess]
) -> None:
    order = traced_platform["order"]
    answer = httpx.post(f"{order.url}/orders", json=example_order(), timeout=10)
    trace_id = answer.headers["traceresponse"].split("-")[1]
    order_id = answer.json()["order_id"]

    def kitchen_logged() -> bool:
        return any(
            r.get("order_id") == order_id and r.get("event") == "ready"
            for r in traced_platform["kitchen"].log_records()
        )

    _wait("the kitchen's ready line", kitchen_logged)
    for name in ("order", "kitchen"):
        lines = [r for r in traced_platform[name].log_records() if r.get("order_id") == order_id]
        assert lines, name
        assert {r.get("trace_id") for r in lines} == {trace_id}, name
        assert all(len(r.get("span_id", "")) == 16 for r in lines), name
        assert all(r["service"] == f"{name}_svc" and r["instance"] for r in lines)
