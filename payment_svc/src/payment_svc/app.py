"""The composition root of payment_svc: what exists while the app runs (:class:`Runtime`)
and the app itself (:func:`create_app`).

Creating the app touches nothing: the database is opened and migrated at start-up.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from payment_svc.api import (
    MAX_BODY_BYTES,
    bearer_guard,
    get_key_status,
    get_payment,
    get_simulation,
    pay,
    put_simulation,
    void_key,
)
from payment_svc.api_models import payment_view
from payment_svc.service import PaymentService
from payment_svc.settings import PaymentSettings
from payment_svc.shared_simulation import SharedSimulation
from payment_svc.store import PaymentStore, SimulationStore
from pizza_common.runtime import database_problem, open_database
from pizza_common.web import TokenCheck, service_app

MIGRATIONS = "payment_svc:migrations"


class Runtime:
    """What exists only while the app runs: the store and the live simulation on it, and
    the service on top of them. Everything opened is closed again, whatever fails."""

    def __init__(self, settings: PaymentSettings) -> None:
        self.settings = settings
        self._store: PaymentStore | None = None
        self._simulation: SharedSimulation | None = None
        self._service: PaymentService | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        async with AsyncExitStack() as stack:
            engine = await open_database(stack, settings.db_url, MIGRATIONS)
            store = PaymentStore(engine)
            simulation = await SharedSimulation.open(
                SimulationStore(engine),
                seed=settings.simulation(),
                refresh_s=settings.simulation_refresh_s,
            )
            service = PaymentService(
                store,
                simulation,
                random.Random(),
                stale_claim=timedelta(seconds=settings.stale_claim_s),
                answer_body=payment_view,
            )
            self._store, self._simulation, self._service = store, simulation, service
            try:
                yield
            finally:
                self._service = self._store = self._simulation = None

    def service(self) -> PaymentService:
        if self._service is None:
            raise RuntimeError("payment_svc has not started")
        return self._service

    def simulation(self) -> SharedSimulation:
        if self._simulation is None:
            raise RuntimeError("payment_svc has not started")
        return self._simulation

    async def database_ready(self) -> str | None:
        return await database_problem(self._store)


def create_app(settings: PaymentSettings | None = None) -> Litestar:
    settings = settings or PaymentSettings()
    runtime = Runtime(settings)
    tokens = settings.tokens()
    # With tokens checked, only a payments:admin token opens the admin API, never the
    # static token; without, the static token does (a local default).
    admin = Router(
        path="/",
        route_handlers=[get_simulation, put_simulation],
        guards=[bearer_guard(settings.admin_token)] if tokens is None else [],
    )
    description = "Simulated payments with configurable latency, failures and declines."
    return service_app(
        title="payment_svc",
        description=description,
        route_handlers=[pay, get_payment, get_key_status, void_key, admin],
        ready_checks={"database": runtime.database_ready},
        dependencies={
            "payments": Provide(runtime.service, sync_to_thread=False),
            "simulation": Provide(runtime.simulation, sync_to_thread=False),
        },
        lifespan=[runtime.lifespan],
        request_max_body_size=MAX_BODY_BYTES,
        token_check=TokenCheck(tokens) if tokens is not None else None,
        openapi_config=OpenAPIConfig(
            title="payment_svc",
            version="1.0.0",
            description=description,
            components=Components(
                security_schemes={
                    "adminToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="PAYMENT_ADMIN_TOKEN (local default: pizza-admin)",
                    )
                }
            ),
        ),
    )
