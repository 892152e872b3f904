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
from pizza_common.kafka import ConsumerOptions, EventConsumer, KafkaSettings, registry_client
from pizza_common.runtime import exit_if_crashed, make_engine, migrate
from pizza_common.web import service_app

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
            engine = make_engine(settings.db_url)
            stack.push_async_callback(engine.dispose)
            await migrate(engine, MIGRATIONS)
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
                    group_id=CONSUMER_GROUP, instance=settings.instance_id, topics=TOPICS
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
            stack.push_async_callback(_stop, stopping, tasks)
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
        """What keeps the consumer from being ready (its own ``problem()``), or None."""
        if self._consumer is None:
            return "consumer not started"
        return self._consumer.problem()

    async def database_ready(self) -> str | None:
        if self._store is None:
            return "not started"
        try:
            await self._store.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said why
            return f"unreachable: {type(exc).__name__}"
        return None


async def _stop(stopping: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Tell the tasks to stop and wait for them; an error they ended with is logged."""
    stopping.set()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            log.error("stopped with an error", error=repr(result))


def create_app(settings: DeliverySettings | None = None) -> Litestar:
    runtime = Runtime(settings or DeliverySettings())
    return service_app(
        title="delivery_svc",
        description="Where each order is on its way to the door.",
        route_handlers=[get_order, order_events, list_orders],
        ready_checks={"consumer": runtime.consumer_ready, "database": runtime.database_ready},
        dependencies={"delivery": Provide(runtime.service, sync_to_thread=False)},
        lifespan=[runtime.lifespan],
    )
