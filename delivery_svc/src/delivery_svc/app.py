"""delivery_svc's REST API: where each order is on its way to the door.

``create_app`` connects to nothing: the database is migrated and the consumer and the
fleet are started in the lifespan, and stopped there again on SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import structlog
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.serialization import encode_json

from delivery_svc.api_models import (
    OrderList,
    OrderTracking,
    status_change,
    summary_view,
    tracking_view,
)
from delivery_svc.domain import DeliveryStatus
from delivery_svc.feed import StatusFeed
from delivery_svc.handlers import TOPICS, EventHandler, codecs
from delivery_svc.service import DeliveryService
from delivery_svc.settings import CONSUMER_GROUP, DeliverySettings
from delivery_svc.store import DeliveryStore
from pizza_common.avro import registry_client
from pizza_common.consumer import ConsumerOptions, EventConsumer
from pizza_common.db import make_engine, migrate
from pizza_common.settings import KafkaSettings
from pizza_common.watchdog import exit_if_crashed
from pizza_common.web import PROBLEM_JSON, service_app

log = structlog.get_logger("delivery")

MIGRATIONS = "delivery_svc:migrations"


@dataclass
class Running:
    service: DeliveryService
    consumer: EventConsumer


def _not_found(order_id: str) -> NotFoundException:
    return NotFoundException(
        detail=f"no order {order_id} is known to delivery (yet): it appears once "
        "order.placed or order.ready for it was received"
    )


NOT_FOUND = ResponseSpec(None, description="No such order (problem+json)", media_type=PROBLEM_JSON)
BAD_QUERY = ResponseSpec(
    None,
    description="Invalid status or limit, each named in errors (problem+json)",
    media_type=PROBLEM_JSON,
)


def create_app(settings: DeliverySettings | None = None) -> Litestar:
    settings = settings or DeliverySettings()
    state: dict[str, Running] = {}

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        await migrate(engine, MIGRATIONS)
        kafka = KafkaSettings()
        registry = registry_client(kafka.schema_registry_url)
        stopping = asyncio.Event()
        service = DeliveryService(
            DeliveryStore(engine), StatusFeed(), settings.driver_names, settings.drive_time
        )
        consumer = EventConsumer(
            kafka,
            ConsumerOptions(group_id=CONSUMER_GROUP, instance=settings.instance_id, topics=TOPICS),
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
        state["running"] = Running(service, consumer)
        log.info("delivery open", drivers=settings.drivers, drive_seconds=settings.drive_seconds)
        try:
            yield
        finally:
            stopping.set()
            service.close()
            for result in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(result, BaseException):
                    log.error("stopped with an error", error=repr(result))
            await engine.dispose()
            log.info("delivery closed")

    def running() -> Running:
        return state["running"]

    async def consumer_ready() -> str | None:
        current = state.get("running")
        return "consumer not started" if current is None else current.consumer.problem()

    @get(
        "/orders/{order_id:str}",
        tags=["orders"],
        summary="Status and timeline of one order",
        responses={404: NOT_FOUND},
    )
    async def get_order(order_id: FromPath[str]) -> OrderTracking:
        found = await running().service.tracking(order_id)
        if found is None:
            raise _not_found(order_id)
        order, sent = found
        return tracking_view(order, sent)

    @get(
        "/orders/{order_id:str}/events",
        tags=["orders"],
        summary="Status changes of one order as server-sent events",
        description="Sends the current status at once, then each change (event `status`, "
        "data: JSON with order_id, status, at, driver); ends after `delivered`.",
        responses={404: NOT_FOUND},
    )
    async def order_events(order_id: FromPath[str]) -> ServerSentEvent:
        service = running().service
        if await service.get(order_id) is None:
            raise _not_found(order_id)
        return ServerSentEvent(_status_stream(service, order_id))

    @get(
        "/orders",
        tags=["orders"],
        summary="Orders, newest change first, optionally only those with a status",
        responses={400: BAD_QUERY},
    )
    async def list_orders(
        status: Annotated[DeliveryStatus | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> OrderList:
        found = await running().service.find(status, limit)
        return OrderList([summary_view(order) for order in found])

    return service_app(
        title="delivery_svc",
        description="Where each order is on its way to the door.",
        route_handlers=[get_order, order_events, list_orders],
        ready_checks={"consumer": consumer_ready},
        lifespan=[lifespan],
    )


async def _status_stream(
    service: DeliveryService, order_id: str
) -> AsyncIterator[ServerSentEventMessage]:
    async with aclosing(service.status_changes(order_id)) as changes:
        async for order in changes:
            data = encode_json(status_change(order)).decode()
            yield ServerSentEventMessage(data=data, event="status")
