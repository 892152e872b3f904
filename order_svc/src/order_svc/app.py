"""order_svc as a litestar application: the composition root.

Creating the app touches nothing (so building it is free, e.g. for OpenAPI): the
database, Kafka producer, payment client and background workers exist only while it
runs, in :class:`Runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from litestar import Litestar, Router
from litestar.di import Provide

from order_svc.admission import Admission
from order_svc.api import get_order, menu, place_order
from order_svc.metrics import on_breaker_change
from order_svc.outbox import OutboxRelay
from order_svc.payment_client import PaymentClient
from order_svc.payment_http import payment_http
from order_svc.recovery import RecoveryWorker
from order_svc.service import OrderService
from order_svc.settings import OrderSettings
from order_svc.store import OrderStore
from order_svc.tracking import TrackingTokens
from pizza_common.contracts import OrderPlaced
from pizza_common.kafka import (
    AsyncProducer,
    AvroEventCodec,
    KafkaSettings,
    producer_config,
    registry_client,
)
from pizza_common.oauth import ClientCredentials, client_credentials
from pizza_common.runtime import database_problem, open_database
from pizza_common.web import TokenCheck, service_app

log = structlog.get_logger(__name__)
MIGRATIONS = "order_svc:migrations"


class Runtime:
    """What exists only while the app runs: the store and the service on top of it, the
    outbox relay and the recovery worker."""

    def __init__(self, settings: OrderSettings) -> None:
        self.settings = settings
        self._store: OrderStore | None = None
        self._service: OrderService | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        async with contextlib.AsyncExitStack() as stack:
            engine = await open_database(stack, settings.db_url, MIGRATIONS)
            kafka = KafkaSettings()
            producer = AsyncProducer(
                producer_config(
                    kafka,
                    client_id=settings.instance_id,
                    **{"message.timeout.ms": settings.relay_delivery_timeout_ms},
                )
            )
            stack.push_async_callback(asyncio.to_thread, producer.close, 5.0)
            relay = OutboxRelay(
                engine,
                producer,
                AvroEventCodec(registry_client(kafka.schema_registry_url), OrderPlaced),
                batch=settings.relay_batch,
            )
            # One connection per admitted placement, and a few for the recovery worker: an
            # attempt never waits for a connection (that wait would look like payment's).
            connections = settings.admission_limit + 4
            http = payment_http(settings.payment_url, connections=connections)
            stack.push_async_callback(http.aclose)
            tokens = _token_source(settings)
            if tokens is not None:
                stack.push_async_callback(tokens.aclose)
                stack.push_async_callback(_cancel, asyncio.create_task(tokens.run()))
            payments = PaymentClient(
                http,
                attempt_timeout_s=settings.payment_attempt_timeout_s,
                deadline_s=settings.payment_deadline_s,
                breaker_threshold=settings.breaker_threshold,
                breaker_open_s=settings.breaker_open_s,
                retry_after_s=settings.retry_after_s,
                on_breaker_change=on_breaker_change,
                tokens=tokens,
            )
            store = OrderStore(engine)
            service = OrderService(
                store,
                payments,
                TrackingTokens(settings.tracking_key()),
                currency=settings.currency,
                budget_s=settings.payment_deadline_s,
                reserve_s=settings.payment_answer_reserve_s,
                accept_within_s=settings.recovery_accept_within_s,
                on_event=relay.wake,
            )
            recovery = RecoveryWorker(
                service,
                interval_s=settings.recovery_interval_s,
                # Never an order whose request may still be running: that one settles it.
                after_s=max(settings.recovery_after_s, settings.payment_deadline_s),
                batch=settings.recovery_batch,
            )
            if settings.relay_enabled:
                stack.push_async_callback(_cancel, asyncio.create_task(relay.run()))
            if settings.recovery_enabled:
                stack.push_async_callback(_cancel, asyncio.create_task(recovery.run()))
            self._store, self._service = store, service
            log.info("order_svc started", port=settings.port, relay=settings.relay_enabled)
            try:
                yield
            finally:
                self._service = self._store = None

    def service(self) -> OrderService:
        if self._service is None:
            raise RuntimeError("order_svc has not started")
        return self._service

    def currency(self) -> str:
        return self.settings.currency

    async def database_ready(self) -> str | None:
        return await database_problem(self._store)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _token_source(settings: OrderSettings) -> ClientCredentials | None:
    if not settings.oauth_token_url:
        return None
    return client_credentials(
        settings.oauth_token_url,
        settings.oauth_client_id,
        settings.oauth_client_secret.get_secret_value(),
        settings.oauth_scope,
        timeout_s=settings.oauth_timeout_s,
        refresh_ahead_s=settings.oauth_refresh_ahead_s,
    )


def create_app(settings: OrderSettings | None = None) -> Litestar:
    """The app; nothing connects until it starts."""
    settings = settings or OrderSettings()
    runtime = Runtime(settings)
    tokens = settings.tokens(realm="order_svc")
    admission = Admission(
        limit=settings.admission_limit,
        budget_s=settings.payment_deadline_s,
        retry_after_s=settings.shed_retry_after_s,
    )
    return service_app(
        title="order_svc",
        description="Takes pizza orders: validates, charges through payment_svc, "
        "publishes order.placed. See docs/contracts.md.",
        # Admission wraps POST /orders alone: it sheds before the body is read.
        route_handlers=[
            menu,
            Router(path="/", route_handlers=[place_order], middleware=[admission]),
            get_order,
        ],
        ready_checks={"database": runtime.database_ready},
        dependencies={
            "orders": Provide(runtime.service, sync_to_thread=False),
            "currency": Provide(runtime.currency, sync_to_thread=False),
        },
        lifespan=[runtime.lifespan],
        request_max_body_size=settings.max_body_bytes,
        token_check=TokenCheck(tokens) if tokens is not None else None,
    )
