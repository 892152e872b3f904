"""POST /orders against a real payment_svc process and the real broker."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import AvroEventCodec, KafkaSettings
from pizza_infra.config import InfraSettings
from pizza_infra.servers import stack
from tests.kafka_helpers import consume_until, read_all, with_key
from tests.kitchen_svc.helpers import wait_until
from tests.order_svc.conftest import Payment, example_order, order_process, read_order
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration

# The service promises an answer within its 3 s payment deadline; a client that waited
# longer than this would be waiting on a broken promise.
PATIENCE = httpx.Timeout(8.0)
DECLINING_CARD = "4000 0000 0000 0002"


def post_order(
    order: ServiceProcess, body: Any = None, *, key: str | None = None, **headers: str
) -> httpx.Response:
    all_headers = {**headers, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(
        f"{order.url}/orders",
        json=example_order() if body is None else body,
        headers=all_headers,
        timeout=PATIENCE,
    )


def events_for(settings: KafkaSettings, order_id: str, *, wait: bool = True) -> list[Message]:
    """order.placed records of ``order_id``: waiting for the first, or what is there now."""
    if wait:
        messages = consume_until(settings, OrderPlaced.TOPIC, with_key(order_id))
    else:
        messages = read_all(settings, OrderPlaced.TOPIC)
    return [m for m in messages if m.key() == order_id.encode()]


def test_approved_order_is_accepted_and_published_once(
    order: ServiceProcess, kafka_settings: KafkaSettings, registry: SchemaRegistryClient
) -> None:
    answer = post_order(order)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    order_id = body["order_id"]
    assert body["status"] == "accepted"
    menu = httpx.get(f"{order.url}/menu", timeout=5).json()
    prices = {pizza["pizza_id"]: pizza["prices"] for pizza in menu["pizzas"]}
    expected = Decimal(prices["margherita"]["LARGE"]) * 2 + Decimal(prices["funghi"]["SMALL"])
    assert Decimal(body["total"]) == expected
    assert answer.headers["Location"] == f"/orders/{order_id}"

    messages = events_for(kafka_settings, order_id)
    assert len(messages) == 1
    event = AvroEventCodec(registry, OrderPlaced).decode(messages[0].value())
    assert event.order_id == order_id
    assert event.total == expected
    assert event.payment_id == body["payment"]["payment_id"]
    assert [(i.pizza_id, i.size.value, i.quantity) for i in event.items] == [
        ("margherita", "LARGE", 2),
        ("funghi", "SMALL", 1),
    ]

    assert body["tracking_token"]
    state = httpx.get(
        f"{order.url}/orders/{order_id}",
        headers={"X-Tracking-Token": body["tracking_token"]},
        timeout=5,
    ).json()
    assert state["event"]["published"] is True
    assert state["event"]["event_id"] == event.event_id


def test_decline_is_402_and_nothing_is_published(
    order: ServiceProcess, kafka_settings: KafkaSettings
) -> None:
    body = example_order(payment={"card_number": DECLINING_CARD})
    answer = post_order(order, body, **{"Accept-Language": "de-CH"})
    assert answer.status_code == 402, answer.text
    problem = answer.json()
    assert problem["reason"] == "card_declined"
    assert "abgelehnt" in problem["detail"]
    state = httpx.get(
        f"{order.url}/orders/{problem['order_id']}",
        headers={"X-Tracking-Token": problem["tracking_token"]},
        timeout=5,
    ).json()
    assert state["status"] == "payment_declined"
    assert state["event"] is None
    assert events_for(kafka_settings, problem["order_id"], wait=False) == []


def test_payment_down_gives_a_friendly_503_and_recovers_by_itself(
    order: ServiceProcess, payment: Payment
) -> None:
    payment.stop()
    answers = [post_order(order, **{"Accept-Language": "de"}) for _ in range(4)]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
        detail = answer.json()["detail"]
        assert detail.startswith("Das Zahlungssystem antwortet nicht")
        assert "noch nicht bestätigen" in detail  # honest: not confirmed is not "failed"
    assert httpx.get(f"{order.url}/health", timeout=5).status_code == 200
    assert order.running()

    payment.start()
    recovered = _eventually_accepted(order)
    assert recovered.status_code == 201, recovered.text


def _eventually_accepted(order: ServiceProcess, attempts: int = 20) -> httpx.Response:
    """Orders succeed again without restarting anything (once the circuit lets one through)."""
    answer = post_order(order)
    for _ in range(attempts):
        if answer.status_code == 201:
            break
        asyncio.run(asyncio.sleep(0.5))
        answer = post_order(order)
    return answer


def test_a_hanging_payment_gives_503_within_the_deadline(
    order: ServiceProcess, payment: Payment
) -> None:
    payment.simulate(hang=True)
    answer = post_order(order)
    assert answer.status_code == 503, answer.text
    assert "Retry-After" in answer.headers
    payment.simulate(hang=False)
    assert _eventually_accepted(order).status_code == 201


async def test_flaky_payment_one_answer_per_order_and_at_most_one_charge(
    order: ServiceProcess, payment: Payment
) -> None:
    payment.simulate(error_rate=0.3)
    async with httpx.AsyncClient(base_url=order.url, timeout=PATIENCE) as client:
        answers = await asyncio.gather(
            *(client.post("/orders", json=example_order()) for _ in range(30))
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 503}, statuses
    assert statuses.count(201) > 0
    accepted = {a.json()["order_id"] for a in answers if a.status_code == 201}
    charges = payment.charges()
    assert all(count == 1 for count in charges.values()), charges
    assert accepted <= set(charges)


def test_a_retry_with_the_same_key_is_the_same_order_charged_once(
    order: ServiceProcess, payment: Payment
) -> None:
    key = f"test-{uuid.uuid4()}"
    first = post_order(order, key=key)
    second = post_order(order, key=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["order_id"] == second.json()["order_id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    # The replay hands out the very token the first answer did (were that answer lost).
    assert second.json()["tracking_token"] == first.json()["tracking_token"]
    assert payment.charges()[first.json()["order_id"]] == 1

    other = example_order(items=[{"pizza_id": "salame", "size": "SMALL", "quantity": 1}])
    assert post_order(order, other, key=key).status_code == 409


async def test_concurrent_duplicates_make_one_order(
    order: ServiceProcess, payment: Payment
) -> None:
    key = f"test-{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=order.url, timeout=PATIENCE) as client:
        answers = await asyncio.gather(
            *(
                client.post("/orders", json=example_order(), headers={"Idempotency-Key": key})
                for _ in range(5)
            )
        )
    ids = {a.json()["order_id"] for a in answers}
    assert len(ids) == 1
    # Each is the order (201) or "still being processed" (409): none is an outage.
    assert {a.status_code for a in answers} <= {201, 409}
    assert payment.charges().get(ids.pop(), 0) <= 1


def order_status(order: ServiceProcess, key: str) -> str | None:
    """The status of the order placed with ``key``, from order_svc's own database."""
    database = Path(order.env["PIZZA_VAR_DIR"]) / "data" / "order_svc.db"
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT status FROM orders WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def test_a_duplicate_while_the_first_is_being_placed_is_409_with_retry_after(
    order: ServiceProcess, payment: Payment
) -> None:
    key = f"test-{uuid.uuid4()}"
    payment.simulate(hang=True)  # the first request waits on its charge
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post_order, order, key=key)
        wait_until(lambda: order_status(order, key) == "payment_pending", 10, "the first order")
        duplicate = post_order(order, key=key, **{"Accept-Language": "de"})
        payment.simulate(hang=False)  # the first one's next attempt is charged
        placed = first.result()

    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["Retry-After"] == "1"
    assert duplicate.headers["Content-Language"] == "de"
    problem = duplicate.json()
    assert problem["title"] == "Bestellung in Bearbeitung"
    assert "wird noch bearbeitet" in problem["detail"]
    assert placed.status_code == 201, placed.text
    assert problem["order_id"] == placed.json()["order_id"]
    assert payment.charges()[problem["order_id"]] == 1

    retried = post_order(order, key=key)
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"


def test_a_payment_outage_answer_can_be_retried_with_the_same_key(
    order: ServiceProcess, payment: Payment
) -> None:
    key = f"test-{uuid.uuid4()}"
    payment.simulate(error_rate=1.0)
    failed = post_order(order, key=key)
    assert failed.status_code == 503
    payment.simulate(error_rate=0.0)
    retried = post_order(order, key=key)
    for _ in range(20):
        if retried.status_code == 201:
            break
        asyncio.run(asyncio.sleep(0.5))
        retried = post_order(order, key=key)
    assert retried.status_code == 201, retried.text
    assert retried.json()["order_id"] == failed.json()["order_id"]
    assert retried.json()["tracking_token"] == failed.json()["tracking_token"]
    assert payment.charges()[failed.json()["order_id"]] == 1


def test_kafka_down_orders_are_accepted_and_published_after_restart(
    infra: InfraSettings, order: ServiceProcess, kafka_settings: KafkaSettings
) -> None:
    stack.down(infra)
    try:
        answers = [post_order(order) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 201]
        ids = [a.json()["order_id"] for a in answers]
        pending = read_order(order, ids[0]).json()
        assert pending["event"]["published"] is False
    finally:
        stack.up(infra)
    for order_id in ids:
        assert len(events_for(kafka_settings, order_id)) == 1


def test_killed_after_commit_the_event_is_published_on_restart(
    infra: InfraSettings, payment: Payment, tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    paused = order_process(infra, payment, tmp_path, ORDER_RELAY_ENABLED="false").start()
    answer = post_order(paused)
    assert answer.status_code == 201
    order_id = answer.json()["order_id"]
    paused.kill()  # SIGKILL: the order is committed, its event not yet sent

    restarted = order_process(infra, payment, tmp_path).start()
    try:
        assert len(events_for(kafka_settings, order_id)) == 1
        state = read_order(restarted, order_id).json()
        assert state["status"] == "accepted"
    finally:
        restarted.stop()


def test_just_order_places_the_documented_sample(order: ServiceProcess) -> None:
    env = {**os.environ, "ORDER_PORT": str(order.port)}
    result = subprocess.run(["just", "order"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("HTTP 201")
    assert '"status": "accepted"' in result.stdout
