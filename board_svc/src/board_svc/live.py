"""The board's live parts and its one write: placing an order through order_svc, an
order's tracking and the operators' board as server-sent events."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage

from board_svc.i18n import Language, texts
from board_svc.pages import TRACKING_COOKIE, customer_of, language_of
from board_svc.platform_api import Reader
from board_svc.rendering import render
from board_svc.runtime import Board
from board_svc.tracking import TrackingView, tracking_view
from pizza_common.web import problem

log = structlog.get_logger(__name__)

AnyRequest = Request[Any, Any, Any]
BOARD_EVERY_S = 1.0
APPEAR_WITHIN_S = 60.0  # delivery learns of an order from order.placed, moments after 201
POLL_S = 1.0
FOLLOW_AT_MOST_S = 15 * 60.0
# The customer's tracking token travels in a cookie (TRACKING_COOKIE), one per order: sent
# only to that order's tracking page and its live stream (HttpOnly, same site), kept a day.
TRACKING_COOKIE_S = 24 * 3600
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def tracking_paths(order_id: str) -> tuple[str, str]:
    """Where the order's tracking cookie goes: its page and its live stream."""
    return f"/track/{order_id}", f"/api/orders/{order_id}/events"


def tracking_cookies(order_id: str, token: str) -> list[Cookie]:
    if not SAFE_ID.fullmatch(order_id):
        return []  # not a path a cookie can be scoped to: the order is tracked without it
    return [
        Cookie(
            key=TRACKING_COOKIE,
            value=token,
            path=path,
            max_age=TRACKING_COOKIE_S,
            httponly=True,
            samesite="strict",
        )
        for path in tracking_paths(order_id)
    ]


@post("/api/orders", include_in_schema=False)
async def place_order(request: AnyRequest, board: NamedDependency[Board]) -> Response[Any]:
    """order_svc's answer passed on (problem+json included), with the link to the order's
    trace when it is accepted. The tracking token of a 201 goes into the order's tracking
    cookie instead of the body: the page's script never holds it."""
    try:
        order = await request.json()
    except Exception:  # noqa: BLE001 - the body is the browser's: order_svc judges it
        order = None
    try:
        answer = await board.api.place_order(
            order if isinstance(order, dict) else {},
            language=language_of(request),
            idempotency_key=request.headers.get("idempotency-key"),
        )
    except httpx.HTTPError as exc:
        log.warning("order_svc not reachable", error=repr(exc))
        return problem(502, "order_svc not reachable", "the order service does not answer")
    body = answer.body if isinstance(answer.body, dict) else {"detail": str(answer.body)}
    token = body.pop("tracking_token", None)
    cookies = []
    if answer.status == 201 and isinstance(token, str) and isinstance(body.get("order_id"), str):
        cookies = tracking_cookies(body["order_id"], token)
    body = {**body, "trace_id": answer.trace_id}
    return Response(
        body, status_code=answer.status, media_type=answer.content_type, cookies=cookies
    )


def _tracking_message(view: TrackingView, language: Language) -> ServerSentEventMessage:
    html = render("_tracking.html", view=view, t=texts(language))
    data = {"status": view.status, "finished": view.finished, "html": html}
    return ServerSentEventMessage(data=json.dumps(data), event="tracking")


async def _tracking_views(
    board: Board, order_id: str, language: Language, reader: Reader
) -> AsyncIterator[TrackingView]:
    """The order's view each time it changes, until it is delivered: delivery's own status
    stream, polling instead while that is not (yet) available."""
    started = time.monotonic()
    last: TrackingView | None = None

    async def current() -> TrackingView | None:
        try:
            answer = await board.api.tracking(order_id, reader)
        except httpx.HTTPError:
            return None
        return tracking_view(order_id, answer.body, language) if answer.status == 200 else None

    while time.monotonic() - started < FOLLOW_AT_MOST_S:
        view = await current()
        if view is not None and view != last:
            last = view
            yield view
        if last is not None and last.finished:
            return
        if last is not None:
            try:
                async for _change in board.api.status_changes(order_id, reader):
                    view = await current()
                    if view is not None and view != last:
                        last = view
                        yield view
                    if last.finished:
                        return
            except (httpx.HTTPError, ValueError) as exc:
                log.info("status stream ended", order_id=order_id, error=repr(exc))
        elif time.monotonic() - started > APPEAR_WITHIN_S:
            return
        await asyncio.sleep(POLL_S)


@get("/api/orders/{order_id:str}/events", include_in_schema=False)
async def order_events(
    request: AnyRequest, board: NamedDependency[Board], order_id: FromPath[str]
) -> ServerSentEvent:
    language = language_of(request)
    reader = customer_of(request)

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        async for view in _tracking_views(board, order_id, language, reader):
            yield _tracking_message(view, language)

    return ServerSentEvent(messages())


@get("/api/board/events", include_in_schema=False)
async def board_events(request: AnyRequest, board: NamedDependency[Board]) -> ServerSentEvent:
    """The live part of the board, rendered, once a second while the page is open."""
    t = texts(language_of(request))

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        while True:
            view = await board.observer.board()
            html = render("_board_live.html", view=view, t=t)
            yield ServerSentEventMessage(data=json.dumps({"html": html}), event="board")
            await asyncio.sleep(BOARD_EVERY_S)

    return ServerSentEvent(messages())


@get("/api/board", include_in_schema=False)
async def board_json(board: NamedDependency[Board]) -> dict[str, Any]:
    """The board's numbers for scripts and tests: lag per group, processes, rates."""
    view = await board.observer.board()
    return {
        "lag_by_group": view.lag_by_group,
        "processes": [
            {"job": p.job, "instance": p.instance, "healthy": p.healthy, "not_ready": p.not_ready}
            for p in view.processes
        ],
        "kitchens": [{"instance": k.instance, "partitions": k.partitions} for k in view.kitchens],
        "orders_per_minute": view.orders_per_minute,
        "outbox_backlog": view.outbox_backlog,
        "circuit_open": view.circuit_open,
        "dead_letters": view.dead_letters,
        "broker_cost": {
            "requests": board.cluster.cost.requests,
            "bytes_sent": board.cluster.cost.bytes_sent,
            "bytes_received": board.cluster.cost.bytes_received,
            "snapshots": board.cluster.cost.snapshots,
        },
    }
