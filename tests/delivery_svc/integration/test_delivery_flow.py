"""delivery_svc as a real process: catching up, duplicates, dead letters, REST and SSE."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pizza_common.contracts import ORDER_READY, OrderPlaced, dead_letter_topic
from pizza_common.kafka import KafkaSettings
from pizza_common.testing import order_placed, order_ready, tracking_header
from tests.delivery_svc.conftest import DELIVERY_AUDIENCE, operator_headers
from tests.kafka_helpers import consume_until, with_key
from tests.kitchen_svc.helpers import (
    OrderFeed,
    Processes,
    header_texts,
    ready_records,
    wait_until,
)
from tests.oauth_server import running_issuer
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


def _tracking(delivery: ServiceProcess, order_id: str) -> dict[str, Any]:
    """The order as its customer reads it (with the token of the sample event)."""
    response = httpx.get(
        f"{delivery.url}/orders/{order_id}", headers=tracking_header(order_id), timeout=5
    )
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 else {}


def _wait_delivered(delivery: ServiceProcess, order_ids: list[str]) -> list[dict[str, Any]]:
    def all_delivered() -> list[dict[str, Any]] | None:
        found = [_tracking(delivery, order_id) for order_id in order_ids]
        return found if all(f.get("status") == "delivered" for f in found) else None

    result: list[dict[str, Any]] = wait_until(all_delivered, 120, "every order delivered")
    return result


def test_delivery_offline_while_orders_are_cooked_catches_up(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    delivery = run.delivery()
    delivery.stop()
    run.kitchen("kitchen-1")
    orders = [order_placed() for _ in range(5)]
    ids = [order.order_id for order in orders]

    feed.place(orders)
    ready_records(kafka_settings, set(ids))  # all cooked while delivery was down

    delivery = run.delivery()
    for tracking in _wait_delivered(delivery, ids):
        steps = [entry["status"] for entry in tracking["timeline"]]
        assert steps == ["received", "ready", "driver_assigned", "on_the_way", "delivered"]
        assert tracking["kitchen_instance"] == "kitchen-1"


def test_duplicates_and_ready_before_placed_give_one_delivery_and_one_notification_each(
    run: Processes, feed: OrderFeed
) -> None:
    placed = order_placed()
    ready = order_ready(placed)
    # Until order.placed arrives, delivery has no tracking digest for the order: only an
    # operator can follow it from ready on.
    with running_issuer() as idp:
        delivery = run.delivery(
            DELIVERY_AUTH_ISSUER=idp.issuer.url, DELIVERY_AUTH_AUDIENCE=DELIVERY_AUDIENCE
        )
        operator = operator_headers(idp)
        feed.ready([ready, ready])  # ready first, twice
        wait_until(
            lambda: (
                httpx.get(f"{delivery.url}/orders/{placed.order_id}", headers=operator, timeout=5)
                .json()
                .get("status")
                == "ready"
            ),
            60,
            "ready",
        )
        statuses = _follow(delivery, placed, operator, feed)
    assert [s.split('"status":"')[1].split('"')[0] for s in statuses] == [
        "ready",
        "driver_assigned",
        "on_the_way",
        "delivered",
    ]
    [tracking] = _wait_delivered(delivery, [placed.order_id])
    assert [n["kind"] for n in tracking["notifications"]] == ["on_the_way", "delivered"]
    assert tracking["notifications"][0]["message_de"] == "Dein Essen kommt!"
    assert tracking["notifications"][0]["message_en"] == "Your food is on its way!"
    assert len(tracking["timeline"]) == 5
    feed.ready([order_ready(placed)])  # a late duplicate with a new event id
    feed.place([placed])
    delivered = [o["order_id"] for o in _list(delivery, "delivered", operator)]
    assert delivered.count(placed.order_id) == 1
    notified = [
        r
        for r in delivery.log_records()
        if r.get("event") == "notification sent" and r.get("order_id") == placed.order_id
    ]
    assert [r["kind"] for r in notified] == ["on_the_way", "delivered"]


def _follow(
    delivery: ServiceProcess, placed: OrderPlaced, headers: dict[str, str], feed: OrderFeed
) -> list[str]:
    """The status events of ``placed`` while it is placed (three times)."""
    url = f"{delivery.url}/orders/{placed.order_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=60) as sse:
        feed.place([placed, placed, order_placed(placed.order_id)])
        return [line for line in sse.iter_lines() if line.startswith("data:")]


def _list(
    delivery: ServiceProcess, status: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{delivery.url}/orders", params={"status": status, "limit": 1000}, headers=headers
    )
    assert response.status_code == 200
    orders: list[dict[str, Any]] = response.json()["orders"]
    return orders


def test_a_poison_order_ready_is_dead_lettered_and_delivery_goes_on(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    delivery = run.delivery()
    poison_key = f"poison-{order_placed().order_id}"
    placed = order_placed()

    feed.raw(ORDER_READY, poison_key, b"\x00\x00\x00\x00")  # framed, but no schema id 0
    feed.flush()
    feed.place([placed])
    feed.ready([order_ready(placed)])

    _wait_delivered(delivery, [placed.order_id])
    messages = consume_until(kafka_settings, dead_letter_topic(ORDER_READY), with_key(poison_key))
    [dead] = [m for m in messages if m.key() == poison_key.encode()]
    headers = header_texts(dead)
    assert dead.value() == b"\x00\x00\x00\x00"
    assert headers["dlq.group"] == "delivery"
    assert headers["dlq.source.topic"] == ORDER_READY
    assert headers["dlq.reason"] in {"not-confluent-framed", "unknown-schema", "malformed-avro"}


def test_unknown_order_and_invalid_query_parameters_are_problems(run: Processes) -> None:
    delivery = run.delivery()
    unknown = order_placed().order_id
    missing = httpx.get(f"{delivery.url}/orders/{unknown}", headers=tracking_header(unknown))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "no order" in missing.json()["detail"]
    events = httpx.get(f"{delivery.url}/orders/{unknown}/events", headers=tracking_header(unknown))
    assert events.status_code == 404
    invalid = httpx.get(f"{delivery.url}/orders", params={"status": "lost"})
    assert invalid.status_code == 400
    assert invalid.headers["content-type"].startswith("application/problem+json")
    assert invalid.json()["errors"][0]["field"] == "status"
    # An integer is spelled as one: litestar alone would read 2.0 as 2 and 1e2 as 100.
    for limit in ("2.0", "1e2", "0", "1001", "ten"):
        refused = httpx.get(f"{delivery.url}/orders", params={"limit": limit})
        assert refused.status_code == 400, (limit, refused.text)
        assert [error["field"] for error in refused.json()["errors"]] == ["limit"]
    assert httpx.get(f"{delivery.url}/orders", params={"limit": "1e2"}).json()["detail"] == (
        "query parameter limit must be an integer, written in digits (such as 100), not '1e2'"
    )
    assert httpx.get(f"{delivery.url}/orders", params={"limit": "2"}).status_code == 200


def test_orders_in_progress_continue_after_a_restart(run: Processes, feed: OrderFeed) -> None:
    delivery = run.delivery(drive_seconds="4")
    placed = order_placed()
    feed.place([placed])
    feed.ready([order_ready(placed)])
    wait_until(
        lambda: _tracking(delivery, placed.order_id).get("status") == "on_the_way", 60, "driving"
    )
    delivery.stop()

    delivery = run.delivery(drive_seconds="4")
    [tracking] = _wait_delivered(delivery, [placed.order_id])
    assert [n["kind"] for n in tracking["notifications"]] == ["on_the_way", "delivered"]
