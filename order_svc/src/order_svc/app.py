"""order_svc as a litestar application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog
from litestar import Litestar
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from sqlalchemy.exc import SQLAlchemyError

from order_svc.api import get_order, menu, place_order
from order_svc.outbox import OutboxRelay
from order_svc.payment_client import PaymentClient
from order_svc.placing import OrderPlacer
from order_svc.settings import OrderSettings
from pizza_common.avro import AvroEventCodec, registry_client
from pizza_common.db import make_engine, migrate
from pizza_common.events import OrderPlaced
from pizza_common.kafka import producer_config
from pizza_common.producer import AsyncProducer
from pizza_common.settings import KafkaSettings
from pizza_common.web import service_app

log = structlog.get_logger("order_svc")


def create_app(settings: OrderSettings | None = None) -> Litestar:
    """The app; nothing connects until it starts (so building it is free, e.g. for OpenAPI)."""
    settings = settings or OrderSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        await migrate(engine, "order_svc:migrations")
        kafka = KafkaSettings()
        producer = AsyncProducer(
            producer_config(
                kafka,
                client_id=settings.instance_id,
                **{"message.timeout.ms": settings.relay_delivery_timeout_ms},
            )
        )
        relay = OutboxRelay(
            engine,
            producer,
            AvroEventCodec(registry_client(kafka.schema_registry_url), OrderPlaced),
            batch=settings.relay_batch,
        )
        http = httpx.AsyncClient(base_url=settings.payment_url)
        HTTPXClientInstrumentor.instrument_client(http)  # client spans, traceparent to payment
        payments = PaymentClient(
            http,
            attempt_timeout_s=settings.payment_attempt_timeout_s,
            deadline_s=settings.payment_deadline_s,
            breaker_threshold=settings.breaker_threshold,
            breaker_open_s=settings.breaker_open_s,
            retry_after_s=settings.retry_after_s,
        )
        app.state.engine = engine
        app.state.currency = settings.currency
        app.state.placer = OrderPlacer(
            engine,
            payments,
            currency=settings.currency,
            stale_after_s=settings.payment_deadline_s * 10,
            on_event=relay.wake,
        )
        relay_task = asyncio.create_task(relay.run()) if settings.relay_enabled else None
        log.info("order_svc started", port=settings.port, relay=settings.relay_enabled)
        try:
            yield
        finally:
            if relay_task:
                relay_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay_task
            await asyncio.to_thread(producer.close, 5.0)
            await http.aclose()
            await engine.dispose()

    async def database_ready() -> str | None:
        try:
            async with app.state.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except (SQLAlchemyError, OSError) as exc:  # readiness reports, it never raises
            return f"database: {exc}"
        return None

    app = service_app(
        title="order_svc",
        description="Takes pizza orders: validates, charges through payment_svc, "
        "publishes order.placed. See docs/contracts.md.",
        route_handlers=[menu, place_order, get_order],
        ready_checks={"database": database_ready},
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
    )
    return app
