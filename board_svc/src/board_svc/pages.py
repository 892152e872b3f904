"""The board's pages (HTML): order, tracking, board, topics, one topic's records, and
following one order. Each takes the :class:`Board` as the dependency ``board``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter

from board_svc.i18n import Language, pick_language, texts
from board_svc.lag import lag_rows
from board_svc.log_search import search_logs, services_of
from board_svc.platform_api import Answer, OperatorTokenMissing, Reader
from board_svc.record_view import instant_ms, is_trace_id, order_of_trace
from board_svc.rendering import render
from board_svc.replay import is_dead_letter_topic
from board_svc.runtime import Board
from board_svc.schemas import schema_versions
from board_svc.topic_size import topic_sizes
from board_svc.tracking import tracking_view
from pizza_common.contracts import TOPICS

AnyRequest = Request[Any, Any, Any]


def language_of(request: AnyRequest) -> Language:
    return pick_language(request.headers.get("accept-language"))


# The customer's tracking token, set by board_svc.live on a 201 (a cookie per order).
TRACKING_COOKIE = "pizza_tracking_token"
REFUSED = (401, 403)


def customer_of(request: AnyRequest) -> Reader:
    """The customer on a tracking page, with the order's tracking token when their browser
    has it (the cookie is sent only to that order's pages)."""
    return Reader(tracking_token=request.cookies.get(TRACKING_COOKIE) or None)


def page(request: AnyRequest, template: str, **values: Any) -> Response[str]:
    language = language_of(request)
    html = render(template, t=texts(language), lang=language, path=request.url.path, **values)
    return Response(html, media_type=MediaType.HTML, headers={"Content-Language": language})


@get("/", include_in_schema=False)
async def order_page(request: AnyRequest, board: NamedDependency[Board]) -> Response[str]:
    menu = await _or_none(board.api.menu())
    return page(request, "order.html", menu=menu.body if menu and menu.status == 200 else None)


@get("/track/{order_id:str}", include_in_schema=False)
async def track_page(
    request: AnyRequest,
    board: NamedDependency[Board],
    order_id: FromPath[str],
    trace: Annotated[str | None, QueryParameter()] = None,
) -> Response[str]:
    answer = await _or_none(board.api.tracking(order_id, customer_of(request)))
    known = answer.body if answer and answer.status == 200 else None
    return page(
        request,
        "track.html",
        order_id=order_id,
        view=tracking_view(order_id, known, language_of(request)),
        trace_url=board.trace_link(trace),
        refused=answer is not None and answer.status in REFUSED,
    )


@get("/board", include_in_schema=False)
async def board_page(request: AnyRequest, board: NamedDependency[Board]) -> Response[str]:
    return page(request, "board.html", view=await board.observer.board())


@get("/topics", include_in_schema=False)
async def topics_page(request: AnyRequest, board: NamedDependency[Board]) -> Response[str]:
    snapshot = await board.cluster.snapshot()
    configs = {name: await board.cluster.topic_configs(name) for name in snapshot.topics}
    group_topics = {
        group_id: sorted({topic for topic, _ in state.committed})
        for group_id, state in snapshot.groups.items()
    }
    versions, registry_error = await schema_versions(board.registry)
    return page(
        request,
        "topics.html",
        snapshot=snapshot,
        configs=configs,
        sizes=topic_sizes(snapshot, await board.cluster.log_dirs()),
        lag=lag_rows(snapshot, group_topics),
        versions=versions,
        registry_error=registry_error,
    )


@get("/topics/{topic:str}", include_in_schema=False)
async def records_page(
    request: AnyRequest,
    board: NamedDependency[Board],
    topic: FromPath[str],
    partition_text: Annotated[str | None, QueryParameter(query="partition", max_length=20)] = None,
    offset_text: Annotated[str | None, QueryParameter(query="offset", max_length=20)] = None,
    since: Annotated[str | None, QueryParameter(max_length=40)] = None,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[str]:
    # The browse form sends every field, an empty one as "": that means "any", not an error.
    partition, offset = whole_number(partition_text), whole_number(offset_text)
    since_ms = instant_ms(since)
    snapshot = await board.cluster.snapshot()
    state = snapshot.topics.get(topic)
    sizes = topic_sizes(snapshot, await board.cluster.log_dirs()) if state else {}
    if q:
        records = (await board.topics.search([topic], q.strip())).get(topic, [])
    else:
        records = await board.topics.page(topic, partition, offset, since_ms)
    return page(
        request,
        "records.html",
        topic=topic,
        state=state,
        topic_size=sizes.get(topic),
        records=records,
        partition=partition,
        offset=offset,
        since=(since or "").strip() if since_ms is not None else "",
        q=q or "",
        trace_link=board.trace_link,
        # Each dead letter's Replay button, and whether it can be used.
        replay=board.replayer.access if is_dead_letter_topic(topic) else None,
    )


@get("/follow", include_in_schema=False)
async def follow_page(
    request: AnyRequest,
    board: NamedDependency[Board],
    order_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
    trace_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
) -> Response[str]:
    asked = (order_id or trace_id or "").strip()
    if not asked:
        return page(request, "follow.html", order_id="", found=None)
    order_id, trace = asked, None
    if is_trace_id(asked.lower()):
        # A trace id: its order is the key of the records that carry it.
        trace = asked.lower()
        by_trace = await board.topics.search([topic.name for topic in TOPICS], trace)
        found_order = order_of_trace(by_trace, trace)
        if found_order is None:
            return page(request, "follow.html", order_id=asked, found=None, unknown_trace=trace)
        order_id = found_order
    no_token: str | None = None
    try:
        order, tracking = await asyncio.gather(
            _or_none(board.api.order(order_id)), _or_none(board.api.tracking(order_id))
        )
    except OperatorTokenMissing as exc:
        order = tracking = None
        no_token = str(exc) or "the identity provider gives no token now"
    records = await board.topics.search([topic.name for topic in TOPICS], order_id)
    logs = await asyncio.to_thread(search_logs, board.settings.logs, order_id)
    order_body = order.body if order and order.status == 200 else None
    tracking_body = tracking.body if tracking and tracking.status == 200 else None
    return page(
        request,
        "follow.html",
        order_id=order_id,
        trace=trace,
        found=True,
        access=_operator_access(board, no_token, order, tracking),
        order=order_body,
        tracking=tracking_view(order_id, tracking_body, language_of(request)),
        tracking_known=tracking_body is not None,
        records=records,
        logs=logs,
        log_services=services_of(logs),
        trace_link=board.trace_link,
    )


def _operator_access(board: Board, no_token: str | None, *answers: Answer | None) -> str | None:
    """Why the services did not show the order to the operator, in a sentence; None when
    nothing was refused."""
    if no_token is not None:
        return (
            f"The board has no orders:read token now ({no_token}): order_svc and "
            "delivery_svc show the order only with its tracking token."
        )
    if not any(answer is not None and answer.status in REFUSED for answer in answers):
        return None
    if board.api.tokens is None:
        return (
            "order_svc and delivery_svc show an order only with its tracking token or an "
            "orders:read token, and the board has no token client (BOARD_OAUTH_TOKEN_URL "
            "is not set, as with KEYCLOAK_ENABLED=false): the order's records and log "
            "lines are below."
        )
    return "order_svc or delivery_svc refused the board's orders:read token."


def whole_number(text: str | None) -> int | None:
    """A form field's non-negative whole number; None when empty or not one."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


async def _or_none(call: Any) -> Any:
    """An upstream answer, or None when the service could not be reached (the page then
    says so instead of failing)."""
    try:
        return await call
    except httpx.HTTPError:
        return None
