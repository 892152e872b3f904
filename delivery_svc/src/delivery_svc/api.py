"""HTTP routes: one order's status and timeline, its changes as server-sent events, and the
list of orders. Each takes the :class:`DeliveryService` as the dependency ``delivery``.

One order is read with its tracking token (the customer) or a bearer token with
``orders:read`` (an operator); the list is the operator's alone (docs/security.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.serialization import encode_json

from delivery_svc.api_models import (
    OrderList,
    OrderTracking,
    status_change,
    summary_view,
    tracking_view,
)
from delivery_svc.domain import DeliveryStatus, TrackedOrder
from delivery_svc.service import DeliveryService
from pizza_common.web import (
    ORDERS_READ,
    PROBLEM_JSON,
    TRACKING_TOKEN_HEADER,
    order_read_grant,
    require_scope,
)

NOT_FOUND = ResponseSpec(
    None,
    description="No such order, or not the order of this tracking token (problem+json)",
    media_type=PROBLEM_JSON,
)
UNAUTHORIZED = ResponseSpec(
    None,
    description="No tracking token and no bearer token, or a bearer token that does not "
    "pass (problem+json, WWW-Authenticate)",
    media_type=PROBLEM_JSON,
)
NO_OPERATOR = ResponseSpec(
    None,
    description="No bearer token, or one that does not pass, once tokens are checked "
    "(problem+json, WWW-Authenticate)",
    media_type=PROBLEM_JSON,
)
FORBIDDEN = ResponseSpec(
    None, description="A bearer token without orders:read (problem+json)", media_type=PROBLEM_JSON
)
READ_ONE = (
    f"For the customer with the order's tracking token in {TRACKING_TOKEN_HEADER}, or for "
    "an operator with a bearer token carrying orders:read."
)
TrackingToken = Annotated[
    str | None,
    HeaderParameter(
        name=TRACKING_TOKEN_HEADER,
        required=False,
        description="The tracking token order_svc's answer to POST /orders carried",
    ),
]
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


async def _readable_order(
    request: Request[Any, Any, Any],
    tracking_token: str | None,
    delivery: DeliveryService,
    order_id: str,
) -> TrackedOrder:
    """The order if the caller may read it; an unknown order and a wrong tracking token
    get the same 404, so order ids cannot be probed."""
    grant = await order_read_grant(request, tracking_token)
    order = await delivery.get(order_id)
    if order is None or not grant.allows(order.tracking_token_sha256):
        raise _not_found(order_id)
    return order


@get(
    "/orders/{order_id:str}",
    tags=["orders"],
    summary="Status and timeline of one order",
    description=READ_ONE,
    responses={401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND},
)
async def get_order(
    request: Request[Any, Any, Any],
    order_id: FromPath[str],
    delivery: NamedDependency[DeliveryService],
    tracking_token: TrackingToken = None,
) -> OrderTracking:
    order = await _readable_order(request, tracking_token, delivery, order_id)
    return tracking_view(order, await delivery.notifications(order_id))


@get(
    "/orders/{order_id:str}/events",
    tags=["orders"],
    summary="Status changes of one order as server-sent events",
    description="Sends the current status at once, then each change (event `status`, "
    "data: JSON with order_id, status, at, driver); ends after `delivered`. " + READ_ONE,
    responses={401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND},
)
async def order_events(
    request: Request[Any, Any, Any],
    order_id: FromPath[str],
    delivery: NamedDependency[DeliveryService],
    tracking_token: TrackingToken = None,
) -> ServerSentEvent:
    await _readable_order(request, tracking_token, delivery, order_id)
    return ServerSentEvent(_status_messages(delivery, order_id))


@get(
    "/orders",
    tags=["orders"],
    summary="Orders, newest change first, optionally only those with a status",
    description="The operator's view (a bearer token with orders:read once tokens are "
    "checked): ids, status, driver; no customer data.",
    responses={400: BAD_QUERY, 401: NO_OPERATOR, 403: FORBIDDEN},
    guards=[require_scope(ORDERS_READ)],
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
