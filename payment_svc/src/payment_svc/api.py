"""HTTP routes: ``POST /pay``, ``GET /payments/{id}``, a key's status and its void, and the
simulation's admin endpoints."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import structlog
from litestar import Request, Response, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter

from payment_svc.api_models import (
    FieldError,
    KeyStatusJSON,
    PayBody,
    PaymentJSON,
    ProblemJSON,
    SimulationBody,
    SimulationJSON,
    key_status_view,
    payment_view,
    simulation_view,
)
from payment_svc.domain import (
    VOID_REASON,
    InProgress,
    KeyReused,
    KeyVoided,
)
from payment_svc.service import Charged, Hanging, PaymentService, Replayed, Unavailable
from payment_svc.shared_simulation import DEFAULT_REFRESH_S, SharedSimulation
from pizza_common.contracts import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_MIN_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    IDEMPOTENCY_KEY_RULE,
    is_valid_idempotency_key,
)
from pizza_common.web import PROBLEM_JSON, empty_body_first, problem, require_scope

log = structlog.get_logger(__name__)

# A payment body is a few hundred bytes; anything far larger is refused unread.
MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The client gave up (nginx's code): only our own log sees it.
CLIENT_CLOSED_REQUEST = 499
# Retry-After (seconds) of a 409 (a request holds the key) and of a simulated outage.
RETRY_AFTER_S = 1
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_S)}
# What a caller's token must grant per route, once tokens are checked (docs/security.md).
WRITE = require_scope("payments:write")
READ = require_scope("payments:read")
ADMIN = require_scope("payments:admin")


def _problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemJSON,
        description=description,
        media_type=PROBLEM_JSON,
        generate_examples=False,  # random examples would change the document on every start
    )


def _body_problem(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's body validation errors as 422 with one entry per field.

    A body that is not a JSON object at all has no fields to point at: that is 400.
    """
    errors: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        field = item.get("key") if isinstance(item, dict) else None
        if not field or field == "data":
            return problem(400, "Bad request", "the request body must be a JSON object")
        message = str(item.get("message", "is invalid")).removeprefix("Value error, ")
        errors.setdefault(str(field), message)
    if not errors:
        return problem(400, "Bad request", "the request body could not be read")
    field_errors = [FieldError(field=f, message=m) for f, m in errors.items()]
    return problem(
        422, "Invalid request", "some fields are not valid; see errors", errors=field_errors
    )


async def _require_idempotency_key(request: Request[Any, Any, Any]) -> Response[Any] | None:
    # Runs before the body is read, so a bad key is reported first, and always as 400.
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return problem(400, "Bad request", f"the {IDEMPOTENCY_HEADER} header is required")
    if not is_valid_idempotency_key(key):
        return problem(
            400,
            "Bad request",
            f"the {IDEMPOTENCY_HEADER} header must be {IDEMPOTENCY_KEY_RULE}",
        )
    return None


async def _until_disconnected(request: Request[Any, Any, Any]) -> None:
    # The body has been read, so the next ASGI message is the client going away.
    while (await request.receive())["type"] != "http.disconnect":
        pass


@post(
    "/pay",
    summary="Charge a card for an order",
    description=(
        "Approves or declines (both 201, both recorded). The Idempotency-Key makes retries "
        "safe: the same key with the same body replays the first answer with "
        "`Idempotent-Replayed: true`."
    ),
    tags=["payments"],
    guards=[WRITE],
    before_request=_require_idempotency_key,
    exception_handlers={ValidationException: empty_body_first(_body_problem)},
    request_max_body_size=MAX_BODY_BYTES,
    status_code=201,
    responses={
        201: ResponseSpec(
            generate_examples=False,
            data_container=PaymentJSON,
            description="a new payment, approved or declined; or, replayed, the first answer",
        ),
        400: _problem_spec(
            "missing or invalid Idempotency-Key, or a body that is empty, not UTF-8 or not JSON"
        ),
        409: _problem_spec(
            "the key was used for another body, or a request with it is in progress "
            "(then with Retry-After)"
        ),
        410: _problem_spec("the key was voided: nothing is charged under it, ever"),
        413: _problem_spec("the body is too large"),
        422: _problem_spec("invalid fields, one entry per field in errors"),
        503: _problem_spec("simulated outage, nothing charged; retry with the same key"),
    },
)
async def pay(
    request: Request[Any, Any, Any],
    data: JSONBody[PayBody],
    payments: NamedDependency[PaymentService],
    idempotency_key: Annotated[
        str,
        HeaderParameter(
            name=IDEMPOTENCY_HEADER,
            min_length=IDEMPOTENCY_KEY_MIN_LENGTH,
            max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
            pattern=f"^{IDEMPOTENCY_KEY_PATTERN.pattern}$",
            description="chosen by the client, one per payment attempt; retries reuse it",
        ),
    ],
) -> Response[Any]:
    payment_request = data.to_domain()
    with structlog.contextvars.bound_contextvars(order_id=payment_request.order_id):
        result = await payments.pay(idempotency_key, payment_request)
        match result:
            case Charged(response):
                headers = {"Location": f"/payments/{response.body['payment_id']}"}
                return Response(response.body, status_code=response.status_code, headers=headers)
            case Replayed(response):
                headers = {
                    "Location": f"/payments/{response.body['payment_id']}",
                    "Idempotent-Replayed": "true",
                }
                return Response(response.body, status_code=response.status_code, headers=headers)
            case KeyReused():
                return problem(
                    409,
                    "Idempotency key reused",
                    f"this {IDEMPOTENCY_HEADER} was used for a different request",
                )
            case InProgress():
                return problem(
                    409,
                    "Request in progress",
                    f"a request with this {IDEMPOTENCY_HEADER} is being processed; retry",
                    headers=RETRY_AFTER,
                )
            case KeyVoided():
                return problem(
                    410,
                    "Payment voided",
                    f"this {IDEMPOTENCY_HEADER} was voided: nothing is charged under it",
                )
            case Unavailable():
                return problem(
                    503,
                    "Service unavailable",
                    "payments are unavailable (simulated outage); nothing was charged",
                    headers=RETRY_AFTER,
                )
            case Hanging():
                await _until_disconnected(request)
                log.info("client gave up on a hanging request")
                return problem(CLIENT_CLOSED_REQUEST, "Client closed request", "nobody listens")


@get(
    "/payments/{payment_id:str}",
    summary="A payment of the ledger",
    tags=["payments"],
    guards=[READ],
    responses={
        200: ResponseSpec(
            data_container=PaymentJSON, description="the payment", generate_examples=False
        ),
        404: _problem_spec("no payment with this id"),
    },
)
async def get_payment(
    payment_id: Annotated[str, PathParameter(description="as answered by POST /pay")],
    payments: NamedDependency[PaymentService],
) -> Response[Any]:
    payment = await payments.payment(payment_id)
    if payment is None:
        return problem(404, "Not found", f"no payment {payment_id}")
    return Response(payment_view(payment))


KeyPath = Annotated[
    str,
    PathParameter(
        min_length=IDEMPOTENCY_KEY_MIN_LENGTH,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=f"^{IDEMPOTENCY_KEY_PATTERN.pattern}$",
        description="the Idempotency-Key the payment was (or may be) requested with",
    ),
]


@get(
    "/payments/by-key/{key:str}",
    summary="What an idempotency key stands for: its state and its payment",
    description=(
        "`state` is `none` (nothing charged under it; a request may still come), "
        "`in_progress`, `approved`, `declined` or `voided`. For reconciling a caller's "
        "records with the ledger."
    ),
    tags=["payments"],
    guards=[READ],
    responses={
        200: ResponseSpec(
            data_container=KeyStatusJSON, description="the key's state", generate_examples=False
        ),
        400: _problem_spec(f"the key is not {IDEMPOTENCY_KEY_RULE}"),
    },
)
async def get_key_status(key: KeyPath, payments: NamedDependency[PaymentService]) -> KeyStatusJSON:
    return key_status_view(await payments.key_status(key))


@post(
    "/payments/by-key/{key:str}/void",
    summary="Void what a key charged, or close it so that it never charges",
    description=(
        "Idempotent. An approved payment becomes `voided` (taken back, recorded in the "
        "ledger with `voided_at` and `void_reason`); a declined one stays declined (nothing "
        "was charged); a key not used yet is closed: a later `POST /pay` with it answers 410 "
        "and charges nothing. Answers the key's state after the void."
    ),
    tags=["payments"],
    guards=[WRITE],
    status_code=200,
    responses={
        200: ResponseSpec(
            data_container=KeyStatusJSON,
            description="the key's state after the void: voided, or declined",
            generate_examples=False,
        ),
        400: _problem_spec("an invalid key or reason"),
        409: _problem_spec("a request with this key is in progress: retry after Retry-After"),
    },
)
async def void_key(
    key: KeyPath,
    payments: NamedDependency[PaymentService],
    reason: Annotated[
        str,
        QueryParameter(
            pattern=f"^{VOID_REASON.pattern}$",
            description="why, kept in the ledger (a-z, 0-9 and _, at most 64)",
        ),
    ] = "voided_by_client",
) -> Response[Any]:
    result = await payments.void(key, reason)
    if isinstance(result, InProgress):
        return problem(
            409,
            "Request in progress",
            "a request with this key is being processed; void it after Retry-After",
            headers=RETRY_AFTER,
        )
    return Response(key_status_view(result))


def bearer_guard(token: str) -> Any:
    """A guard that lets through requests carrying ``Authorization: Bearer <token>``: the
    admin API's static token, used only while tokens of the identity provider are not."""
    expected = f"Bearer {token}".encode()

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        given = connection.headers.get("Authorization", "").encode()
        if not secrets.compare_digest(given, expected):
            raise NotAuthorizedException(
                detail="a valid Authorization: Bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="payment_svc admin"'},
            )

    return guard


_ADMIN_RESPONSES = {
    401: _problem_spec("missing or wrong bearer token"),
}


@get(
    "/admin/simulation",
    summary="The simulation in force, on every instance",
    description="Read from the service's database, where PUT stores it for every instance.",
    tags=["admin"],
    guards=[ADMIN],
    responses=_ADMIN_RESPONSES,
    security=[{"adminToken": []}],
)
async def get_simulation(simulation: NamedDependency[SharedSimulation]) -> SimulationJSON:
    return simulation_view(await simulation.reload())


@put(
    "/admin/simulation",
    summary="Replace the whole simulation, for every instance",
    description=(
        "Stored in the service's database. The instance that takes the request applies it "
        "at once, every other instance within PAYMENT_SIMULATION_REFRESH_S "
        f"(default {DEFAULT_REFRESH_S} s)."
    ),
    tags=["admin"],
    guards=[ADMIN],
    exception_handlers={ValidationException: empty_body_first(_body_problem)},
    request_max_body_size=MAX_BODY_BYTES,
    responses={
        **_ADMIN_RESPONSES,
        400: _problem_spec("a body that is empty, not UTF-8, not JSON or not a JSON object"),
        413: _problem_spec("the body is too large"),
        422: _problem_spec("invalid fields, one entry per field in errors"),
    },
    security=[{"adminToken": []}],
)
async def put_simulation(
    data: JSONBody[SimulationBody], simulation: NamedDependency[SharedSimulation]
) -> SimulationJSON:
    config = data.to_domain()
    await simulation.replace(config)
    view = simulation_view(config)
    log.info("simulation replaced", **view)
    return view
