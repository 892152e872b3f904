"""The kitchen_svc application: what runs while it is up, its routes and readiness.

Nothing connects at construction: the database is migrated and the consumer started in
the lifespan, and stopped there again (SIGTERM → uvicorn → lifespan exit). The consumer
is essential: if it ever ends with an error, the process stops (``exit_if_crashed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from litestar import Litestar
from litestar.di import Provide

from kitchen_svc.api import status
from kitchen_svc.api_models import KitchenStatus, StartingStatus, status_view
from kitchen_svc.handlers import TOPICS, EventHandler, codecs
from kitchen_svc.metrics import DEAD_LETTERED, ORDERS_COOKED
from kitchen_svc.service import KitchenService
from kitchen_svc.settings import CONSUMER_GROUP, KitchenSettings
from kitchen_svc.store import TicketStore
from pizza_common.contracts import OrderReady
from pizza_common.kafka import (
    AvroEventCodec,
    ConsumerOptions,
    EventConsumer,
    KafkaSettings,
    consumer_problem,
    registry_client,
)
from pizza_common.runtime import database_problem, exit_if_crashed, open_database, stop_tasks
from pizza_common.web import service_app

log = structlog.get_logger(__name__)

MIGRATIONS = "kitchen_svc:migrations"


class Runtime:
    """What exists only while the app runs: the ticket store, the kitchen and the consumer
    that feeds it. Everything opened is closed again, whatever fails."""

    def __init__(self, settings: KitchenSettings) -> None:
        self.settings = settings
        self._store: TicketStore | None = None
        self._service: KitchenService | None = None
        self._consumer: EventConsumer | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        async with AsyncExitStack() as stack:
            engine = await open_database(stack, settings.db_url, MIGRATIONS)
            kafka = KafkaSettings()
            registry = registry_client(kafka.schema_registry_url)
            stopping = asyncio.Event()
            store = TicketStore(engine)
            service = KitchenService(
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
                    topics=TOPICS,
                    transactional_id=settings.transactional_id,
                    max_in_flight=settings.ovens,
                ),
                codecs(registry),
                EventHandler(service).handle,
                stopping=stopping,
            )
            task = asyncio.create_task(consumer.run(), name="kitchen-consumer")
            task.add_done_callback(exit_if_crashed)
            stack.push_async_callback(stop_tasks, stopping, [task])
            # Kept after the stop: /status says "stopping" to the end, /ready the consumer's
            # truth.
            self._store, self._service, self._consumer = store, service, consumer
            DEAD_LETTERED.count = lambda: consumer.dead_lettered
            ORDERS_COOKED.labels(settings.instance_id)  # the series exists from the start
            log.info("kitchen open", cook_seconds=settings.cook_seconds, ovens=settings.ovens)
            yield
        log.info("kitchen closed")

    def status(self) -> KitchenStatus | StartingStatus:
        """What ``GET /status`` shows; like the readiness checks, it answers while starting
        (the only state in which the kitchen and its consumer do not exist)."""
        instance = self.settings.instance_id
        if self._service is None or self._consumer is None:
            return StartingStatus(instance)
        return status_view(instance, self._service, self._consumer, self.settings.ovens)

    async def consumer_ready(self) -> str | None:
        return consumer_problem(self._consumer)

    async def database_ready(self) -> str | None:
        return await database_problem(self._store)


def create_app(settings: KitchenSettings | None = None) -> Litestar:
    runtime = Runtime(settings or KitchenSettings())
    return service_app(
        title="kitchen_svc",
        description="One kitchen instance: cooks order.placed, publishes order.ready.",
        route_handlers=[status],
        ready_checks={"consumer": runtime.consumer_ready, "database": runtime.database_ready},
        dependencies={"kitchen_status": Provide(runtime.status, sync_to_thread=False)},
        lifespan=[runtime.lifespan],
    )
