"""HTTP routes of a kitchen instance: ``GET /status`` (``/health``, ``/ready`` and
``/metrics`` come with :func:`pizza_common.web.service_app`)."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from kitchen_svc.api_models import KitchenStatus, StartingStatus


@get("/status", tags=["operations"])
async def status(
    kitchen_status: NamedDependency[SkipValidation[KitchenStatus | StartingStatus]],
) -> KitchenStatus | StartingStatus:
    """What this instance is doing now: partitions, the orders in its ovens, counts (only its name
    while it starts). The runtime maps it (:func:`~kitchen_svc.api_models.status_view`):
    it alone knows whether the kitchen and its consumer exist yet."""
    return kitchen_status
