"""``GET /status`` of a running instance: typed views, the JSON it always had."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from litestar.serialization import decode_json, encode_json

from kitchen_svc.api_models import StartingStatus, status_view
from kitchen_svc.handlers import TOPICS, EventHandler, codecs
from kitchen_svc.service import CurrentOrder, KitchenService
from kitchen_svc.store import TicketStore
from pizza_common.contracts import ORDER_PLACED
from pizza_common.kafka import ConsumerOptions, EventConsumer, KafkaSettings, registry_client
from pizza_common.runtime import SecondsRange, make_engine

SINCE = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)


class NoEncoding:
    async def encode_async(self, _event: object) -> bytes:
        raise AssertionError("nothing is published here")


async def test_a_running_instance_shows_its_group_ovens_and_counts() -> None:
    engine = make_engine("sqlite+aiosqlite://")  # never connected
    stopping = asyncio.Event()
    kitchen = KitchenService(
        instance="kitchen-2",
        store=TicketStore(engine),
        codec=NoEncoding(),
        cook_time=SecondsRange.parse("0"),
        stopping=stopping,
    )
    kitchen.cooking["order-2"] = CurrentOrder("order-2", "publishing", SINCE + timedelta(seconds=5))
    kitchen.cooking["order-1"] = CurrentOrder("order-1", "cooking", SINCE)
    kitchen.counts.cooked, kitchen.counts.resent, kitchen.counts.duplicates = 3, 1, 2
    consumer = EventConsumer(
        KafkaSettings(),
        ConsumerOptions(group_id="kitchen", instance="kitchen-2", topics=TOPICS),
        codecs(registry_client("http://127.0.0.1:1")),  # not contacted
        EventHandler(kitchen).handle,
        stopping=stopping,
    )

    body = decode_json(encode_json(status_view("kitchen-2", kitchen, consumer, ovens=4)))

    assert body == {
        "instance": "kitchen-2",
        "state": "open",
        "group": "kitchen",
        "assigned_partitions": [],
        "current_order": {
            "order_id": "order-1",
            "phase": "cooking",
            "since": "2026-01-01T12:00:30+00:00",
        },
        "counts": {"cooked": 3, "resent": 1, "duplicates_skipped": 2, "dead_lettered": 0},
        "ovens": 4,
        "cooking": [
            {"order_id": "order-1", "phase": "cooking", "since": "2026-01-01T12:00:30+00:00"},
            {"order_id": "order-2", "phase": "publishing", "since": "2026-01-01T12:00:35+00:00"},
        ],
    }
    stopping.set()
    stopped = decode_json(encode_json(status_view("kitchen-2", kitchen, consumer, ovens=4)))
    assert stopped["state"] == "stopping"
    await engine.dispose()


def test_a_starting_instance_shows_only_its_name() -> None:
    assert decode_json(encode_json(StartingStatus("kitchen-3"))) == {
        "instance": "kitchen-3",
        "state": "starting",
    }


def test_the_kitchen_consumes_order_placed_alone() -> None:
    assert TOPICS == [ORDER_PLACED]
    assert set(codecs(registry_client("http://127.0.0.1:1"))) == {ORDER_PLACED}
