"""Faults a kitchen must ride out: poison that decodes badly, a rebalance mid-cook, a
broker restart. Readiness has to tell the truth through all of them."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from functools import partial
from pathlib import Path

import fastavro
import httpx
import pytest
from confluent_kafka import Message

from pizza_common.contracts import ORDER_PLACED, dead_letter_topic, load_schema_text
from pizza_common.kafka import DecodeFailure, KafkaSettings
from pizza_common.testing import order_placed, tracking_header
from pizza_infra.config import InfraSettings
from pizza_infra.servers.kafka import start_kafka, stop_kafka
from pizza_infra.supervisor.platform import _not_ready
from tests.kafka_helpers import consume_until
from tests.kitchen_svc.helpers import (
    OrderFeed,
    Processes,
    header_texts,
    ready_counts,
    ready_records,
    status,
    tickets,
    wait_for_partitions,
    wait_until,
)
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration


def _from_year_33658(feed: OrderFeed, order_id: str) -> bytes:
    """A record framed with the registered schema id and valid Avro, whose placed_at
    (10^15 ms after 1970) no Python datetime can hold."""
    framed = feed.placed_codec.encode(order_placed(order_id))
    schema = fastavro.parse_schema(json.loads(load_schema_text(ORDER_PLACED)))
    record = fastavro.schemaless_reader(io.BytesIO(framed[5:]), schema, schema)
    assert isinstance(record, dict)
    record["placed_at"] = 10**15
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, record)
    return framed[:5] + body.getvalue()


def _is_ready(service: ServiceProcess) -> bool:
    reason = _not_ready_because(service)
    if reason is not None:
        print(service.module, "not ready:", reason)  # shown when the wait gives up
    return reason is None


def _not_ready_because(service: ServiceProcess) -> str | None:
    """The body of a 503 from ``/ready``, None while it answers 200."""
    answer = httpx.get(service.url + "/ready", timeout=5)
    return None if answer.status_code == 200 else answer.text


def test_a_record_no_python_value_can_hold_is_dead_lettered_in_every_group(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    run.kitchen("kitchen-1")
    run.delivery()
    poison = order_placed()
    after = order_placed()

    feed.raw(ORDER_PLACED, poison.order_id, _from_year_33658(feed, poison.order_id))
    feed.flush()
    feed.place([after])

    def both_groups(messages: list[Message]) -> bool:
        return {"kitchen", "delivery"} <= _dead_letter_groups(messages, poison.order_id)

    dead = consume_until(kafka_settings, dead_letter_topic(ORDER_PLACED), both_groups, 90)
    reasons = {header_texts(m)["dlq.reason"] for m in dead if m.key() == poison.order_id.encode()}
    assert reasons <= {DecodeFailure.MALFORMED.value, DecodeFailure.INVALID.value}, reasons
    assert ready_counts(ready_records(kafka_settings, {after.order_id}))[after.order_id] == 1


def _dead_letter_groups(messages: list[Message], key: str) -> set[str]:
    return {header_texts(m)["dlq.group"] for m in messages if m.key() == key.encode()}


def test_a_kitchen_started_mid_cook_gets_partitions_and_the_order_is_cooked_once(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    first = run.kitchen("kitchen-1", cook_seconds="25")
    wait_for_partitions([first])
    order = order_placed()
    feed.place([order])
    wait_until(
        lambda: (status(first)["current_order"] or {}).get("order_id") == order.order_id,
        60,
        "kitchen-1 to start cooking",
    )

    second = run.kitchen("kitchen-2", cook_seconds="25")
    # The group rebalances while kitchen-1 cooks (it polls beside the cook): settled
    # before the order could be ready, whichever kitchen cooks it in the end.
    wait_for_partitions([first, second])
    [ticket] = tickets(tmp_path, {order.order_id})
    assert ticket["status"] == "cooking"

    records = ready_records(kafka_settings, {order.order_id}, timeout_s=120)
    assert ready_counts(records)[order.order_id] == 1
    published = wait_until(
        lambda: [t for t in tickets(tmp_path, {order.order_id}) if t["status"] == "published"],
        30,
        "the ticket to be published",
    )
    assert len(published) == 1


def test_after_a_broker_restart_the_kitchen_is_not_ready_then_cooks_again(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, infra: InfraSettings
) -> None:
    kitchen = run.kitchen("kitchen-1")
    delivery = run.delivery()
    warm_up = order_placed()
    feed.place([warm_up])
    ready_records(kafka_settings, {warm_up.order_id})  # a transaction went through

    assert stop_kafka(infra)
    try:
        for service in (kitchen, delivery):
            body = wait_until(partial(_not_ready_because, service), 60, "readiness to fail")
            assert "no Kafka broker reachable" in body
            # ... and `just ps` shows it beside the instance
            assert _not_ready(service.port) == "consumer: no Kafka broker reachable"
    finally:
        start_kafka(infra)

    for service in (kitchen, delivery):
        wait_until(partial(_is_ready, service), 90, f"{service.module} to be ready again")
    order = order_placed()
    feed.place([order])
    assert ready_counts(ready_records(kafka_settings, {order.order_id}))[order.order_id] == 1

    def delivered() -> bool:
        answer = httpx.get(
            f"{delivery.url}/orders/{order.order_id}",
            headers=tracking_header(order.order_id),
            timeout=5,
        )
        return answer.status_code == 200 and answer.json()["status"] == "delivered"

    wait_until(delivered, 90, "delivery to deliver the order placed after the restart")


def test_a_kitchen_frozen_mid_cook_past_its_session_cooks_on_when_thawed(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    kitchen = run.kitchen("kitchen-1", cook_seconds="4")
    wait_for_partitions([kitchen])
    first = order_placed()
    feed.place([first])
    wait_until(
        lambda: (status(kitchen)["current_order"] or {}).get("order_id") == first.order_id,
        60,
        "the kitchen to start cooking",
    )

    pid = kitchen.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # its partitions are paused for the cook, its session ends
    try:
        time.sleep(10)
    finally:
        os.kill(pid, signal.SIGCONT)

    # Thawed, it finds its partitions lost and gets them back: they must be read again,
    # the order it was cooking and one placed after it alike.
    after = order_placed()
    feed.place([after])
    records = ready_records(kafka_settings, {first.order_id, after.order_id}, timeout_s=120)
    assert ready_counts(records) == {first.order_id: 1, after.order_id: 1}
