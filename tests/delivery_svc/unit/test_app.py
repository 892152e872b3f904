"""The composition root before its lifespan: nothing is connected, and it says so."""

from __future__ import annotations

import pytest

from delivery_svc.app import Runtime, create_app
from delivery_svc.settings import DeliverySettings


async def test_before_start_the_service_is_missing_and_the_consumer_not_ready() -> None:
    runtime = Runtime(DeliverySettings())
    with pytest.raises(RuntimeError, match="delivery_svc has not started"):
        runtime.service()
    assert await runtime.consumer_ready() == "consumer not started"
    assert await runtime.database_ready() == "not started"


def test_the_app_serves_the_three_routes_and_the_shared_ones() -> None:
    paths = set(create_app(DeliverySettings()).openapi_schema.paths or {})
    assert {"/orders", "/orders/{order_id}", "/orders/{order_id}/events"} <= paths
    assert {"/health", "/ready"} <= paths
