"""The delivery_svc application: routes, dependencies, and what runs while it is up.

Creating the app connects to nothing: the database is migrated and the consumer and the
fleet are started in the lifespan, and stopped there again on SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from litestar import Litestar
from litestar.di import Provide

from delivery_svc.api import get_order, list_orders, order_events
from delivery_svc.feed import StatusFeed
from delivery_svc.handlers import TOPICS, EventHandler, codecs
from delivery_svc.service import DeliveryService
from delivery_svc.settings import CONSUMER_GROUP, DeliverySettings
from delivery_svc.store import DeliveryStore
from pizza_common.kafka import (
    ConsumerOptions,
    EventConsumer,
    KafkaSettings,
    consumer_problem,
    registry_client,
)
from pizza_common.runtime import database_problem, exit_if_crashed, open_database, stop_tasks
from pizza_common.web import TokenCheck, service_app

log = structlog.get_logger(__name__)

MIGRATIONS = "delivery_svc:migrations"


class Runtime:
    """What exists only while the app runs: the store and the service on top of it, and
    the two essential tasks, the consumer and the fleet. Either ending on an error stops
    the process (:func:`exit_if_crashed`). Everything opened is closed again, whatever
    fails."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self._store: DeliveryStore | None = None
        self._service: DeliveryService | None = None
        self._consumer: EventConsumer | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        async with AsyncExitStack() as stack:
            engine = await open_database(stack, settings.db_url, MIGRATIONS)
            kafka = KafkaSettings()
            registry = registry_client(kafka.schema_registry_url)
            stopping = asyncio.Event()
            store = DeliveryStore(engine)
            service = DeliveryService(
                store, StatusFeed(), settings.driver_names, settings.drive_time
            )
            consumer = EventConsumer(
                kafka,
                ConsumerOptions(
                    group_id=CONSUMER_GROUP,
                    instance=settings.instance_id,
                    topics=TOPICS,
                    max_in_flight=settings.events_in_flight,
                ),
                codecs(registry),
                EventHandler(service).handle,
                stopping=stopping,
            )
            tasks = [
                asyncio.create_task(consumer.run(), name="delivery-consumer"),
                asyncio.create_task(service.run_fleet(stopping), name="delivery-fleet"),
            ]
            for task in tasks:
                task.add_done_callback(exit_if_crashed)
            stack.push_async_callback(stop_tasks, stopping, tasks)
            stack.callback(service.close)  # first: the open event streams end
            self._store, self._service, self._consumer = store, service, consumer
            log.info(
                "delivery open", drivers=settings.drivers, drive_seconds=settings.drive_seconds
            )
            try:
                yield
            finally:
                self._service = None
        log.info("delivery closed")

    def service(self) -> DeliveryService:
        if self._service is None:
            raise RuntimeError("delivery_svc has not started")
        return self._service

    async def consumer_ready(self) -> str | None:
        return consumer_problem(self._consumer)

    async def database_ready(self) -> str | None:
        return await database_problem(self._store)


def create_app(settings: DeliverySettings | None = None) -> Litestar:
    settings = settings or DeliverySettings()
    runtime = Runtime(settings)
    tokens = settings.tokens(realm="delivery_svc")
    return service_app(
        title="delivery_svc",
        description="Where each order is on its way to the door.",
        route_handlers=[get_order, order_events, list_orders],
        ready_checks={"consumer": runtime.consumer_ready, "database": runtime.database_ready},
        dependencies={"delivery": Provide(runtime.service, sync_to_thread=False)},
        lifespan=[runtime.lifespan],
        token_check=TokenCheck(tokens) if tokens is not None else None,
    )
