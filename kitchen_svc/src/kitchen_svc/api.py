"""HTTP routes of a kitchen instance: ``GET /status`` (``/health``, ``/ready`` and
``/metrics`` come with :func:`pizza_common.web.service_app`)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from kitchen_svc.api_models import status_view
from kitchen_svc.service import KitchenService
from pizza_common.kafka import EventConsumer


@get("/status", tags=["operations"])
async def status(
    instance: NamedDependency[str],
    kitchen: NamedDependency[KitchenService | None],
    consumer: NamedDependency[EventConsumer | None],
) -> dict[str, Any]:
    """What this instance is doing now: partitions, current order, counts."""
    return status_view(instance, kitchen, consumer)
