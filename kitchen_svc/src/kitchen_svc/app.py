"""kitchen_svc's HTTP side: health, readiness and what this instance is doing.

Nothing connects at construction: the database is migrated and the consumer started in
the lifespan, and stopped there again (SIGTERM → uvicorn → lifespan exit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Litestar, get

from kitchen_svc.handlers import OrderPlacedHandler
from kitchen_svc.metrics import DEAD_LETTERED, ORDERS_COOKED
from kitchen_svc.service import Kitchen
from kitchen_svc.settings import CONSUMER_GROUP, KitchenSettings
from kitchen_svc.store import TicketStore
from pizza_common.avro import AvroEventCodec, registry_client
from pizza_common.consumer import ConsumerOptions, EventConsumer
from pizza_common.db import make_engine, migrate
from pizza_common.events import ORDER_PLACED, OrderPlaced, OrderReady
from pizza_common.settings import KafkaSettings
from pizza_common.watchdog import exit_if_crashed
from pizza_common.web import service_app

log = structlog.get_logger("kitchen")

MIGRATIONS = "kitchen_svc:migrations"


@dataclass
class Running:
    """What the lifespan started; None before start-up."""

    kitchen: Kitchen
    consumer: EventConsumer
    store: TicketStore


def create_app(settings: KitchenSettings | None = None) -> Litestar:
    settings = settings or KitchenSettings()
    state: dict[str, Running] = {}

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        await migrate_shared(engine)
        kafka = KafkaSettings()
        registry = registry_client(kafka.schema_registry_url)
        stopping = asyncio.Event()
        store = TicketStore(engine)
        kitchen = Kitchen(
            instance=settings.instance_id,
            store=store,
            codec=AvroEventCodec(registry, OrderReady),
            cook_time=settings.cook_time,
            stopping=stopping,
        )
        consumer = EventConsumer(
            kafka,
            ConsumerOptions(
                group_id=CONSUMER_GROUP,
                instance=settings.instance_id,
                topics=[ORDER_PLACED],
                transactional_id=settings.transactional_id,
            ),
            {ORDER_PLACED: AvroEventCodec(registry, OrderPlaced)},
            OrderPlacedHandler(kitchen),
            stopping=stopping,
        )
        task = asyncio.create_task(consumer.run(), name="kitchen-consumer")
        task.add_done_callback(exit_if_crashed)
        state["running"] = Running(kitchen, consumer, store)
        DEAD_LETTERED.count = lambda: consumer.dead_lettered
        ORDERS_COOKED.labels(settings.instance_id)  # the series exists from the start
        log.info("kitchen open", cook_seconds=settings.cook_seconds)
        try:
            yield
        finally:
            stopping.set()
            await asyncio.gather(task, return_exceptions=True)
            await engine.dispose()
            log.info("kitchen closed")

    async def migrate_shared(engine: Any) -> None:
        # Instances starting together race to create the shared tables: the loser retries
        # and then finds them there.
        for attempt in range(5):
            try:
                await migrate(engine, MIGRATIONS)
                return
            except Exception as exc:  # retried, and raised on the last try
                if attempt == 4:
                    raise
                log.warning("migration raced, retrying", error=repr(exc))
                await asyncio.sleep(0.5 * (attempt + 1))

    async def consumer_ready() -> str | None:
        running = state.get("running")
        return "consumer not started" if running is None else running.consumer.problem()

    async def database_ready() -> str | None:
        running = state.get("running")
        if running is None:
            return "not started"
        try:
            await running.store.count_by_status()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return repr(exc)
        return None

    @get("/status", tags=["operations"])
    async def status() -> dict[str, Any]:
        """What this instance is doing now: partitions, current order, counts."""
        running = state.get("running")
        if running is None:
            return {"instance": settings.instance_id, "state": "starting"}
        kitchen, consumer = running.kitchen, running.consumer
        current = kitchen.current
        return {
            "instance": settings.instance_id,
            "state": "stopping" if consumer.stopping.is_set() else "open",
            "group": CONSUMER_GROUP,
            "assigned_partitions": [
                {"topic": topic, "partition": partition} for topic, partition in consumer.assigned
            ],
            "current_order": None
            if current is None
            else {
                "order_id": current.order_id,
                "phase": current.phase,
                "since": current.since.isoformat(),
            },
            "counts": {
                "cooked": kitchen.counts.cooked,
                "resent": kitchen.counts.resent,
                "duplicates_skipped": kitchen.counts.duplicates,
                "dead_lettered": consumer.dead_lettered,
            },
        }

    return service_app(
        title="kitchen_svc",
        description="One kitchen instance: cooks order.placed, publishes order.ready.",
        route_handlers=[status],
        ready_checks={"consumer": consumer_ready, "database": database_ready},
        lifespan=[lifespan],
    )
