"""HTTP routes: one order's status and timeline, its changes as server-sent events, and the
list of orders. Each takes the :class:`DeliveryService` as the dependency ``delivery``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
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
from delivery_svc.service import DeliveryService
from pizza_common.web import PROBLEM_JSON

NOT_FOUND = ResponseSpec(None, description="No such order (problem+json)", media_type=PROBLEM_JSON)
BAD_QUERY = ResponseSpec(
    None,
    description="Invalid status or limit, each named in errors (problem+json)",
    media_type=PROBLEM_JSON,
)


def _not_found(order_id: str) -> NotFoundException:
    return NotFoundException(
        detail=f"no order {order_id} is known to delivery (yet): it appears once "
        "order.placed or order.ready for it was received"
    )


@get(
    "/orders/{order_id:str}",
    tags=["orders"],
    summary="Status and timeline of one order",
    responses={404: NOT_FOUND},
)
async def get_order(
    order_id: FromPath[str], delivery: NamedDependency[DeliveryService]
) -> OrderTracking:
    found = await delivery.tracking(order_id)
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
async def order_events(
    order_id: FromPath[str], delivery: NamedDependency[DeliveryService]
) -> ServerSentEvent:
    if await delivery.get(order_id) is None:
        raise _not_found(order_id)
    return ServerSentEvent(_status_messages(delivery, order_id))


@get(
    "/orders",
    tags=["orders"],
    summary="Orders, newest change first, optionally only those with a status",
    responses={400: BAD_QUERY},
)
async def list_orders(
    delivery: NamedDependency[DeliveryService],
    status: Annotated[DeliveryStatus | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> OrderList:
    found = await delivery.find(status, limit)
    return OrderList([summary_view(order) for order in found])


async def _status_messages(
    delivery: DeliveryService, order_id: str
) -> AsyncIterator[ServerSentEventMessage]:
    async with aclosing(delivery.status_changes(order_id)) as changes:
        async for order in changes:
            data = encode_json(status_change(order)).decode()
            yield ServerSentEventMessage(data=data, event="status")
