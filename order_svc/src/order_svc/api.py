"""order_svc's REST API: ``GET /menu``, ``POST /orders``, ``GET /orders/{order_id}``.

An order holds a customer's name, phone, email and address: it is read only with its
tracking token (handed out with the 201) or an operator's ``orders:read`` token."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from pydantic import BaseModel

from order_svc.api_models import (
    AddressOut,
    CustomerOut,
    EventOut,
    ItemOut,
    MenuOut,
    MenuPizzaOut,
    OrderIn,
    OrderOut,
    PaymentOut,
    PlacedOrderOut,
)
from order_svc.domain import LineRequest, Order, OrderView, PlaceOrder
from order_svc.i18n import Language, field_message, field_path, pick_language, text
from order_svc.menu import MENU
from order_svc.metrics import ORDERS
from order_svc.service import RETRY_SOON_S, IdempotencyConflict, OrderService, Placement
from order_svc.settings import DEFAULT_MAX_BODY_BYTES
from pizza_common.contracts import (
    IDEMPOTENCY_KEY_RULE,
    ORDER_PLACED,
    Address,
    Customer,
    is_valid_idempotency_key,
)
from pizza_common.web import (
    PROBLEM_JSON,
    TRACKING_TOKEN_HEADER,
    empty_body_first,
    order_read_grant,
    problem,
)


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the platform is answered."""

    type: str
    title: str
    status: int
    detail: str
    order_id: str | None = None
    # With every answer about the customer's own order: an order answered 503 may still
    # be accepted later (docs/saga.md), and its customer must be able to follow it.
    tracking_token: str | None = None
    errors: list[dict[str, str]] | None = None


def _problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )


@get("/menu", tags=["menu"], summary="What can be ordered, with prices")
async def menu(currency: NamedDependency[str]) -> MenuOut:
    return MenuOut(
        currency=currency,
        pizzas=[
            MenuPizzaOut(
                pizza_id=p.pizza_id, name=p.name, description=p.description, prices=p.prices
            )
            for p in MENU.values()
        ],
    )


def invalid_order(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """422 with one message per invalid field, in the customer's language."""
    ORDERS.labels("invalid").inc()
    language = pick_language(request.headers.get("accept-language"))
    errors: list[dict[str, str]] = []
    details = getattr(exc.__cause__, "errors", None)
    if isinstance(details, list):
        for error in details:
            errors.append(
                {
                    "field": field_path(error.get("loc", ())) or "body",
                    "code": str(error.get("type", "invalid")),
                    "message": field_message(str(error.get("type")), error.get("ctx"), language),
                }
            )
    else:  # not a body error (e.g. a header): litestar's own per-field messages
        for extra in exc.extra if isinstance(exc.extra, list) else []:
            errors.append(
                {
                    "field": str(extra.get("key", "")),
                    "code": "invalid",
                    "message": str(extra.get("message", "")),
                }
            )
    return problem(
        422,
        text("invalid_order", language),
        text("invalid_fields", language, count=len(errors)),
        headers={"Content-Language": language},
        errors=errors,
    )


@post(
    "/orders",
    tags=["orders"],
    summary="Place an order: validate, charge, publish order.placed",
    exception_handlers={ValidationException: empty_body_first(invalid_order)},
    responses={
        201: ResponseSpec(
            data_container=PlacedOrderOut,
            description="Accepted and paid: the order, with the tracking token to read it "
            f"with ({TRACKING_TOKEN_HEADER}); a replay with the same Idempotency-Key "
            "answers the same token",
            generate_examples=False,
        ),
        402: _problem_spec("Payment declined (a decline is not an outage)"),
        409: _problem_spec(
            "Idempotency-Key reused for another order, or the same order still in progress "
            "(then with Retry-After)"
        ),
        410: _problem_spec("The order was cancelled: its payment was never confirmed"),
        400: _problem_spec(
            "Body empty, not UTF-8, not JSON or nested too deeply; or a bad Idempotency-Key"
        ),
        413: _problem_spec(f"Body larger than the limit ({DEFAULT_MAX_BODY_BYTES // 1024} KiB)"),
        422: _problem_spec("Invalid order: one message per field"),
        503: _problem_spec(
            "Payment not confirmed yet, or too many orders at once: try again after "
            "Retry-After seconds"
        ),
    },
)
async def place_order(
    data: JSONBody[OrderIn],
    orders: NamedDependency[OrderService],
    idempotency_key: Annotated[
        str | None,
        HeaderParameter(
            name="Idempotency-Key",
            required=False,
            description="Send the same key when retrying: you get the same order, charged once.",
        ),
    ] = None,
    accept_language: Annotated[
        str | None, HeaderParameter(name="Accept-Language", required=False)
    ] = None,
) -> Response[Any]:
    language = pick_language(accept_language)
    if idempotency_key is not None and not is_valid_idempotency_key(idempotency_key):
        return problem(400, "Bad request", f"Idempotency-Key must be {IDEMPOTENCY_KEY_RULE}")
    try:
        placement = await orders.place(place_order_command(data, idempotency_key))
    except IdempotencyConflict as exc:
        return problem(
            409,
            "Idempotency-Key reused",
            "this Idempotency-Key was already used for a different order",
            order_id=str(exc),
        )
    with structlog.contextvars.bound_contextvars(order_id=placement.order.order_id):
        return await _answer(placement, orders, language)


async def _answer(placement: Placement, orders: OrderService, language: Language) -> Response[Any]:
    order = placement.order
    tracking_token = orders.tracking_token(order)
    headers: dict[str, str] = {"Content-Language": language}
    if placement.replayed:
        headers["Idempotent-Replayed"] = "true"
    match placement.outcome:
        case "accepted":
            # As GET /orders/{order_id} serves it. Accepted just now: its event as saved
            # a moment ago (a read more per order cost a tenth of order_svc's CPU).
            view = (
                OrderView(order, placement.event)
                if placement.event is not None
                else await orders.find(order.order_id)
            )
            body = placed_order_out(view, tracking_token) if view else None
            headers["Location"] = f"/orders/{order.order_id}"
            return Response(body, status_code=201, headers=headers)
        case "declined":
            reason = order.payment_reason or "card_declined"
            reason_text = text(reason, language) if reason in _REASONS else reason
            return problem(
                402,
                text("payment_declined_title", language),
                text("payment_declined", language, reason=reason_text),
                headers=headers,
                order_id=order.order_id,
                tracking_token=tracking_token,
                reason=reason,
            )
        case "unavailable":
            retry_after = placement.retry_after_s or RETRY_SOON_S
            return problem(
                503,
                text("payment_unavailable_title", language),
                text("payment_unavailable", language),
                headers={**headers, "Retry-After": str(retry_after)},
                order_id=order.order_id,
                tracking_token=tracking_token,
            )
        case "in_progress":
            # Another request with this key is placing the order right now: not an outage.
            return problem(
                409,
                text("order_in_progress_title", language),
                text("order_in_progress", language),
                # Nothing is replayed yet: the answer comes once the first request ends.
                headers={
                    "Content-Language": language,
                    "Retry-After": str(placement.retry_after_s or RETRY_SOON_S),
                },
                order_id=order.order_id,
                tracking_token=tracking_token,
            )
        case "cancelled":
            return problem(
                410,
                text("order_cancelled_title", language),
                text("order_cancelled", language),
                headers=headers,
                order_id=order.order_id,
                tracking_token=tracking_token,
            )
        case "refused":
            return problem(
                422,
                text("invalid_order", language),
                text("payment_rejected_request", language, detail=placement.detail or ""),
                headers=headers,
                order_id=order.order_id,
                tracking_token=tracking_token,
                errors=[
                    {
                        "field": "payment.card_number",
                        "code": "payment_rejected",
                        "message": placement.detail or "",
                    }
                ],
            )


_REASONS = {"card_declined", "insufficient_funds", "amount_over_limit"}


@get(
    "/orders/{order_id:str}",
    tags=["orders"],
    summary="An order as order_svc knows it",
    description=f"For the customer with the order's tracking token in {TRACKING_TOKEN_HEADER}, "
    "or for an operator with a bearer token carrying orders:read (docs/security.md).",
    responses={
        200: ResponseSpec(
            data_container=OrderOut,
            description="The order, with the customer's contact and address",
            generate_examples=False,
        ),
        401: _problem_spec(
            "No tracking token and no bearer token, or a bearer token that "
            "does not pass (WWW-Authenticate)"
        ),
        403: _problem_spec("A bearer token without the scope orders:read"),
        404: _problem_spec("No such order, or not the order of this tracking token"),
    },
)
async def get_order(
    request: Request[Any, Any, Any],
    order_id: FromPath[str],
    orders: NamedDependency[OrderService],
    tracking_token: Annotated[
        str | None,
        HeaderParameter(
            name=TRACKING_TOKEN_HEADER,
            required=False,
            description="The tracking token the order's 201 answer carried",
        ),
    ] = None,
) -> Response[Any]:
    grant = await order_read_grant(request, tracking_token)
    view = await orders.find(order_id)
    # A wrong tracking token gets the very answer an unknown order gets: ids cannot be probed.
    if view is None or not grant.allows(view.order.tracking_token_sha256):
        return problem(404, "Not found", f"there is no order {order_id}")
    return Response(order_out(view))


def place_order_command(order: OrderIn, idempotency_key: str | None) -> PlaceOrder:
    """What the customer asks for, as the service takes it."""
    customer, address = order.customer, order.delivery_address
    return PlaceOrder(
        customer=Customer(name=customer.name, phone=customer.phone, email=customer.email),
        delivery_address=Address(
            street=address.street,
            postal_code=address.postal_code,
            city=address.city,
            instructions=address.instructions,
        ),
        lines=tuple(LineRequest(item.pizza_id, item.size, item.quantity) for item in order.items),
        card_number=order.payment.card_number,
        idempotency_key=idempotency_key,
    )


def placed_order_out(view: OrderView, tracking_token: str | None) -> PlacedOrderOut:
    """The 201 answer: the order as read later, and the token to read it with."""
    return PlacedOrderOut(**order_out(view).model_dump(), tracking_token=tracking_token)


def order_out(view: OrderView) -> OrderOut:
    order: Order = view.order
    event = view.event
    customer, address = order.customer, order.delivery_address
    return OrderOut(
        order_id=order.order_id,
        status=order.status,
        items=[
            ItemOut(
                pizza_id=item.pizza_id,
                name=item.name,
                size=item.size,
                quantity=item.quantity,
                unit_price=item.unit_price,
                line_total=item.unit_price * item.quantity,
            )
            for item in order.lines
        ],
        total=order.total,
        currency=order.currency,
        customer=CustomerOut(name=customer.name, phone=customer.phone, email=customer.email),
        delivery_address=AddressOut(
            street=address.street,
            postal_code=address.postal_code,
            city=address.city,
            instructions=address.instructions,
        ),
        payment=PaymentOut(
            payment_id=order.payment_id,
            outcome=order.payment_outcome.value if order.payment_outcome else None,
            reason=order.payment_reason,
        ),
        event=EventOut(
            topic=ORDER_PLACED,
            event_id=event.event_id,
            published=event.published_at is not None,
            published_at=event.published_at,
        )
        if event
        else None,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )
