"""The kitchen_svc application: what runs while it is up, its routes and readiness.

Nothing connects at construction: the database is migrated and the consumer started in
the lifespan, and stopped there again (SIGTERM → uvicorn → lifespan exit). The consumer
is essential: if it ever ends with an error, the process stops (``exit_if_crashed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from kitchen_svc.api import status
from kitchen_svc.handlers import OrderPlacedHandler
from kitchen_svc.metrics import DEAD_LETTERED, ORDERS_COOKED
from kitchen_svc.service import KitchenService
from kitchen_svc.settings import CONSUMER_GROUP, KitchenSettings
from kitchen_svc.store import TicketStore
from pizza_common.contracts import ORDER_PLACED, OrderPlaced, OrderReady
from pizza_common.kafka import (
    AvroEventCodec,
    ConsumerOptions,
    EventConsumer,
    KafkaSettings,
    registry_client,
)
from pizza_common.runtime import exit_if_crashed, make_engine, migrate
from pizza_common.web import service_app

log = structlog.get_logger(__name__)

MIGRATIONS = "kitchen_svc:migrations"


class Runtime:
    """What exists only while the app runs: the engine, the ticket store, the kitchen and
    the consumer task that feeds it (None before start-up)."""

    def __init__(self, settings: KitchenSettings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self._store: TicketStore | None = None
        self._kitchen: KitchenService | None = None
        self._consumer: EventConsumer | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        engine = make_engine(settings.db_url)
        await _migrate_shared(engine)
        kafka = KafkaSettings()
        registry = registry_client(kafka.schema_registry_url)
        stopping = asyncio.Event()
        store = TicketStore(engine)
        kitchen = KitchenService(
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
        self._engine, self._task = engine, task
        self._store, self._kitchen, self._consumer = store, kitchen, consumer
        DEAD_LETTERED.count = lambda: consumer.dead_lettered
        ORDERS_COOKED.labels(settings.instance_id)  # the series exists from the start
        log.info("kitchen open", cook_seconds=settings.cook_seconds)
        try:
            yield
        finally:
            stopping.set()
            await asyncio.gather(task, return_exceptions=True)
            # Kept: /status says "stopping" to the end, and /ready the consumer's truth.
            await engine.dispose()
            log.info("kitchen closed")

    def instance(self) -> str:
        return self.settings.instance_id

    def kitchen(self) -> KitchenService | None:
        """The kitchen, None while starting."""
        return self._kitchen

    def consumer(self) -> EventConsumer | None:
        """The order.placed consumer, None while starting."""
        return self._consumer

    async def consumer_ready(self) -> str | None:
        consumer = self._consumer
        return "consumer not started" if consumer is None else consumer.problem()

    async def database_ready(self) -> str | None:
        if self._store is None:
            return "not started"
        try:
            await self._store.count_by_status()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return repr(exc)
        return None


async def _migrate_shared(engine: AsyncEngine) -> None:
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


def create_app(settings: KitchenSettings | None = None) -> Litestar:
    settings = settings or KitchenSettings()
    runtime = Runtime(settings)
    return service_app(
        title="kitchen_svc",
        description="One kitchen instance: cooks order.placed, publishes order.ready.",
        route_handlers=[status],
        ready_checks={"consumer": runtime.consumer_ready, "database": runtime.database_ready},
        dependencies={
            "instance": Provide(runtime.instance, sync_to_thread=False),
            "kitchen": Provide(runtime.kitchen, sync_to_thread=False),
            "consumer": Provide(runtime.consumer, sync_to_thread=False),
        },
        lifespan=[runtime.lifespan],
    )
