"""kitchen_svc as a consumer group of real processes against a real broker."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from pizza_common.contracts import ORDER_PLACED, OrderReady, dead_letter_topic
from pizza_common.kafka import KafkaSettings, consumer_config
from pizza_common.testing import order_placed, tracking_header
from tests.kafka_helpers import consume_until, with_key
from tests.kitchen_svc.helpers import (
    OrderFeed,
    Processes,
    header_texts,
    most_cooking_at_once,
    ready_counts,
    ready_records,
    status,
    tickets,
    wait_for_partitions,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_three_kitchens_share_thirty_orders_each_cooked_once(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    kitchens = [run.kitchen(f"kitchen-{n}") for n in (1, 2, 3)]
    wait_for_partitions(kitchens)
    orders = [order_placed() for _ in range(30)]
    ids = {order.order_id for order in orders}

    feed.place(orders)

    counts = ready_counts(ready_records(kafka_settings, ids))
    assert counts == Counter(dict.fromkeys(ids, 1))
    cooked = wait_until(
        lambda: (t := tickets(tmp_path, ids)) and all(x["status"] == "published" for x in t) and t,
        30,
        "every ticket to be published",
    )
    assert len(cooked) == 30
    by_instance = Counter(ticket["instance"] for ticket in cooked)
    assert set(by_instance) == {"kitchen-1", "kitchen-2", "kitchen-3"}
    assert sum(status(k)["counts"]["cooked"] for k in kitchens) >= 30


def test_a_kitchen_with_four_ovens_cooks_four_orders_at_once_never_more(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    kitchen = run.kitchen("kitchen-1", cook_seconds="2", ovens=4)
    wait_for_partitions([kitchen])
    orders = [order_placed() for _ in range(10)]
    ids = {order.order_id for order in orders}

    feed.place(orders)

    counts = ready_counts(ready_records(kafka_settings, ids))
    assert counts == Counter(dict.fromkeys(ids, 1))
    cooked = wait_until(
        lambda: (t := tickets(tmp_path, ids)) and all(x["status"] == "published" for x in t) and t,
        30,
        "every ticket to be published",
    )
    assert most_cooking_at_once(cooked) == 4
    assert status(kitchen)["ovens"] == 4
    assert status(kitchen)["cooking"] == []


def test_a_kitchen_killed_mid_cook_loses_nothing(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    delivery = run.delivery()
    kitchens = [run.kitchen(f"kitchen-{n}", cook_seconds="4") for n in (1, 2)]
    wait_for_partitions(kitchens)
    order = order_placed()

    feed.place([order])

    def cooking_kitchens() -> list[int]:
        return [
            index
            for index, kitchen in enumerate(kitchens)
            if (current := status(kitchen)["current_order"])
            and current["order_id"] == order.order_id
        ]

    [index] = wait_until(cooking_kitchens, 30, "a kitchen to cook the order")
    victim, survivor = kitchens[index], kitchens[1 - index]
    victim.kill()

    records = ready_records(kafka_settings, {order.order_id}, timeout_s=180)
    assert len(records) == 1
    ready = feed.ready_codec.decode(records[0].value())
    assert isinstance(ready, OrderReady)
    assert ready.kitchen_instance == status(survivor)["instance"]
    [ticket] = tickets(tmp_path, {order.order_id})
    assert ticket["instance"] == ready.kitchen_instance
    wait_until(
        lambda: (
            httpx.get(
                f"{delivery.url}/orders/{order.order_id}", headers=tracking_header(order.order_id)
            )
            .json()
            .get("status")
            == "delivered"
        ),
        60,
        "the order to be delivered",
    )


def _kitchen_lag(settings: KafkaSettings) -> dict[int, tuple[int, int]]:
    """Per partition of order.placed: (committed offset of group kitchen, end offset)."""
    # Not subscribed: reading the group's committed offsets does not join it.
    reader = Consumer(consumer_config(settings, group_id="kitchen", client_id="test-lag"))
    try:
        partitions = [TopicPartition(ORDER_PLACED, p) for p in range(6)]
        committed = reader.committed(partitions, timeout=10)
        lag = {}
        for tp in committed:
            low, high = reader.get_watermark_offsets(tp, timeout=10, cached=False)
            lag[tp.partition] = (tp.offset if tp.offset >= 0 else low, high)
        return lag
    finally:
        reader.close()


def test_orders_wait_as_lag_while_no_kitchen_runs_then_are_cooked_in_order(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    orders = [order_placed() for _ in range(12)]
    before = _kitchen_lag(kafka_settings)

    feed.place(orders)

    after = _kitchen_lag(kafka_settings)
    assert all(after[p][0] == before[p][0] for p in after), "nothing consumed while offline"
    assert sum(high - committed for committed, high in after.values()) >= len(orders)

    run.kitchen("kitchen-1")
    ids = [order.order_id for order in orders]
    records = ready_records(kafka_settings, set(ids))
    assert ready_counts(records) == Counter(dict.fromkeys(ids, 1))
    placed = consume_until(kafka_settings, ORDER_PLACED, lambda m: len(_ours(m, ids)) == 12)
    for partition in range(6):
        placed_order = [m.key() for m in _ours(placed, ids) if m.partition() == partition]
        ready_order = [m.key() for m in records if m.partition() == partition]
        assert ready_order == placed_order
    wait_until(lambda: all(c >= h for c, h in _kitchen_lag(kafka_settings).values()), 30, "no lag")


def _ours(messages: list[Message], ids: list[str]) -> list[Message]:
    keys = {i.encode() for i in ids}
    return [m for m in messages if m.key() in keys]


def test_a_poison_record_goes_to_the_dead_letter_topic_and_cooking_goes_on(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings
) -> None:
    kitchen = run.kitchen("kitchen-1")
    poison_key = f"poison-{order_placed().order_id}"
    after = order_placed()

    feed.raw(ORDER_PLACED, poison_key, b'{"not": "avro"}')
    feed.flush()
    feed.place([after])

    [dead] = [
        m
        for m in consume_until(
            kafka_settings, dead_letter_topic(ORDER_PLACED), with_key(poison_key), 60
        )
        if m.key() == poison_key.encode()
    ]
    assert dead.value() == b'{"not": "avro"}'
    headers = header_texts(dead)
    assert headers["dlq.reason"] == "not-confluent-framed"
    assert headers["dlq.source.topic"] == ORDER_PLACED
    assert headers["dlq.group"] == "kitchen"
    assert int(headers["dlq.source.offset"]) >= 0
    assert {"dlq.detail", "dlq.source.partition"} <= set(headers)
    assert ready_counts(ready_records(kafka_settings, {after.order_id}))[after.order_id] == 1
    assert status(kitchen)["counts"]["dead_lettered"] >= 1


def test_an_order_delivered_twice_is_cooked_once(
    run: Processes, feed: OrderFeed, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    kitchen = run.kitchen("kitchen-1")
    order = order_placed()
    marker = order_placed()

    feed.place([order, order])  # the same event twice, as a retrying producer might
    feed.place([order_placed(order.order_id)])  # and the same order in a new event
    feed.place([marker])  # same partition or not: once it is cooked, look

    ready_records(kafka_settings, {marker.order_id})
    wait_until(lambda: status(kitchen)["counts"]["duplicates_skipped"] >= 2, 30, "duplicates")
    records = ready_records(kafka_settings, {order.order_id})
    assert ready_counts(records)[order.order_id] == 1
    assert len(tickets(tmp_path, {order.order_id})) == 1
