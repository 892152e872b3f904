"""A user's view: `just` recipes and HTTP only."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests import REPO_ROOT
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e


def test_up_reports_every_service_healthy(platform: RunningPlatform) -> None:
    ps = platform.just("ps")
    assert ps.returncode == 0, ps.stdout + ps.stderr
    for service in ("payment", "order", "kitchen", "delivery", "board"):
        assert f"\n{service} " in "\n" + ps.stdout
    assert "DOWN" not in ps.stdout
    assert "NOTREADY" not in ps.stdout


def test_an_order_goes_all_the_way_to_delivered(platform: RunningPlatform) -> None:
    placed = platform.just("order")
    assert placed.returncode == 0, placed.stdout + placed.stderr
    answer = json.loads(placed.stdout.split("\n", 1)[1])  # after the "HTTP 201" line
    url = f"{platform.url('delivery')}/orders/{answer['order_id']}"
    customer = {"X-Tracking-Token": answer["tracking_token"]}
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline and status != "delivered":
        read = httpx.get(url, headers=customer, timeout=5)
        status = read.json().get("status") if read.status_code == 200 else None
        time.sleep(0.3)
    assert status == "delivered"
    timeline = httpx.get(url, headers=customer, timeout=5).json()
    steps = [entry["status"] for entry in timeline["timeline"]]
    assert steps == ["received", "ready", "driver_assigned", "on_the_way", "delivered"]


def test_an_unknown_pizza_is_refused_with_a_clear_message(platform: RunningPlatform) -> None:
    body = (REPO_ROOT / "docs" / "examples" / "order.json").read_text()
    answer = httpx.post(
        f"{platform.url('order')}/orders",
        content=body.replace('"funghi"', '"hawaii"'),
        headers={"Content-Type": "application/json", "Accept-Language": "de"},
        timeout=10,
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "items[1].pizza_id"
    assert error["message"] == "Die Pizza 'hawaii' gibt es nicht auf der Karte."


def test_logs_are_merged_and_prefixed_by_instance(platform: RunningPlatform) -> None:
    logs = platform.just("logs", "-n", "200")
    assert logs.returncode == 0
    prefixes = {line.split("|")[0].strip() for line in logs.stdout.splitlines() if "|" in line}
    assert {"order_svc", "kitchen-1", "delivery_svc"} <= prefixes


def test_lag_reports_both_groups(platform: RunningPlatform) -> None:
    lag = platform.just("lag")
    assert lag.returncode == 0, lag.stderr
    assert "total lag of group kitchen:" in lag.stdout
    assert "total lag of group delivery:" in lag.stdout


@pytest.mark.parametrize(
    "demo", ["demo-buffering", "demo-scaling", "demo-payment-outage", "demo-delivery-offline"]
)
def test_demo_proves_its_scenario(platform: RunningPlatform, demo: str) -> None:
    result = platform.just(demo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "every claim held." in result.stdout
    assert "[FAILED]" not in result.stdout
