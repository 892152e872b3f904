"""What every service's HTTP side shares: problem+json errors, health and readiness,
request logging, and serving with uvicorn on loopback.

Errors follow RFC 9457 (``application/problem+json``): ``type``, ``title``, ``status``,
``detail``, plus ``errors`` (one entry per invalid field) where that applies.

Request bodies are strict at the edge, for every service alike: the bytes must be UTF-8
JSON nested at most :data:`MAX_JSON_DEPTH` deep (else 400), not empty (400), not larger
than the app's limit (413); pydantic models are validated as JSON, so a model's strict
mode refuses ``"2"``, ``2.0`` and ``true`` for an integer while a decimal or UUID may still
be a string, as JSON has no such types. Query and path parameters are as strict (400):
an integer is spelled as a JSON integer, not ``2.0`` or ``1e2`` (see ``_parameters``).
"""

from __future__ import annotations

import copy
import dataclasses
import faulthandler
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import pydantic
import pydantic_core
import structlog
import uvicorn
from litestar import Litestar, MediaType, Request, Response, get
from litestar._signature.types import ExtendedMsgSpecValidationError
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.pydantic import PydanticInitPlugin
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, ControllerRouterHandler, Message, Receive, Scope, Send

from pizza_common.runtime._logging import configure_logging
from pizza_common.runtime._settings import ServiceSettings
from pizza_common.runtime._tracing import configure_tracing, traceresponse
from pizza_common.web import _parameters as parameters
from pizza_common.web._metrics import metrics_handler, record_request
from pizza_common.web._tokens import BEARER_SCHEME, STATE_KEY, ScopeGuard, TokenCheck

PROBLEM_JSON = "application/problem+json"
S = TypeVar("S", bound=ServiceSettings)
log = structlog.get_logger("pizza.web")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


# pydantic's JSON parser (jiter) refuses deeper nesting; a body of this platform needs 4.
MAX_JSON_DEPTH = 200
EMPTY_BODY = "the request body is empty: a JSON object is expected"


class JSONRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by pydantic's parser rather than msgspec's.

    msgspec lets invalid UTF-8 out as ``UnicodeDecodeError`` and deep nesting as
    ``RecursionError`` (both a 500); here every bad body is a ``SerializationException``,
    which litestar answers 400.
    """

    async def json(self) -> Any:
        body = await self.body()
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            raise SerializationException(
                f"the body is not valid UTF-8: byte {body[exc.start]:#04x} at offset {exc.start}"
            ) from exc
        try:
            return pydantic_core.from_json(body, allow_inf_nan=False)
        except ValueError as exc:
            if str(exc).startswith("recursion limit exceeded"):
                raise SerializationException(
                    f"the body is nested too deeply: at most {MAX_JSON_DEPTH} levels"
                ) from exc
            raise SerializationException(f"the body is not valid JSON: {exc}") from exc


def _validate_as_json(model: type[pydantic.BaseModel], value: Any) -> pydantic.BaseModel:
    # The body was JSON: validating it as JSON again (rather than as the Python objects it
    # was decoded to) gives pydantic's JSON rules, under which strict mode still takes
    # "49.00" for a Decimal or a UUID string for a UUID.
    try:
        return model.model_validate_json(pydantic_core.to_json(value))
    except pydantic.ValidationError as exc:
        hide_input = model.model_config.get("hide_input_in_errors", False)
        # The form litestar's pydantic plugin raises: one error per field, each with its path.
        errors = [dict(error) for error in exc.errors(include_input=not hide_input)]
        raise ExtendedMsgSpecValidationError(errors=errors) from exc


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


class JSONBodyPydanticPlugin(PydanticInitPlugin):
    """litestar's pydantic plugin, validating models from JSON with their own strictness
    (litestar's would pass ``strict=False`` and so override a model's ``strict=True``)."""

    @classmethod
    def decoders(
        cls, validate_strict: bool = False
    ) -> list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]]:
        return [(_is_model, _validate_as_json), *super().decoders(validate_strict)]


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail or "the request could not be processed"
    if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        detail = exc.__cause__.detail
    extra: dict[str, Any] = {}
    if exc.extra and isinstance(exc.extra, list):
        extra["errors"] = exc.extra
    title = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed", 413: "Request too large", 415: "Unsupported media type",
             503: "Service unavailable"}.get(
        exc.status_code, "Request failed"
    )  # fmt: skip
    return problem(exc.status_code, title, detail, headers=exc.headers, **extra)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal error",
        "an unexpected error occurred; it is logged",
    )


ValidationHandler = Callable[[Request[Any, Any, Any], ValidationException], Response[Any]]


def _body_missing(exc: ValidationException) -> bool:
    # litestar does not decode an empty body, so its `data` argument is missing: an error
    # msgspec reports itself (pydantic's errors about the body's fields come wrapped).
    if isinstance(exc.__cause__, ExtendedMsgSpecValidationError):
        return False
    extra = exc.extra if isinstance(exc.extra, list) else []
    return any(
        isinstance(item, dict) and item.get("key") == "data" and item.get("source") == "body"
        for item in extra
    )


def _invalid_input(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """400 naming each invalid parameter, in the ``{"field", "message"}`` of the services."""
    errors = [
        {"field": str(item.get("key") or "body"), "message": str(item.get("message", ""))}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    return problem(400, "Bad request", exc.detail or "the request is not valid", errors=errors)


def empty_body_first(handler: ValidationHandler) -> ValidationHandler:
    """``handler`` for invalid input, but an empty body is a 400 that says so, whatever
    the service would answer about its fields."""

    def handle(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
        if _body_missing(exc):
            return problem(400, "Bad request", EMPTY_BODY)
        return handler(request, exc)

    return handle


EXCEPTION_HANDLERS: Mapping[type[Exception] | int, Any] = {
    HTTPException: _http_exception,
    Exception: _unexpected,
}

ReadyCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else a short reason why not."""


def health_handlers(checks: Mapping[str, ReadyCheck]) -> list[HTTPRouteHandler]:
    """``GET /health`` (the process runs) and ``GET /ready`` (its dependencies answer)."""

    @get("/health", media_type=MediaType.JSON, tags=["operations"], sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", media_type=MediaType.JSON, tags=["operations"])
    async def ready() -> Response[dict[str, Any]]:
        problems = {name: reason for name, check in checks.items() if (reason := await check())}
        status = 200 if not problems else 503
        body = {"status": "ready" if not problems else "not ready", "checks": problems}
        return Response(body, status_code=status)

    return [health, ready]


QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def request_logging(app: ASGIApp) -> ASGIApp:
    """ASGI middleware, once per request: a log line (method, path, status, duration),
    the request metrics, and a ``traceresponse`` header naming the request's trace."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] == "/metrics":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # W3C Trace Context level 2: tell the caller which trace its request made.
                if (value := traceresponse()) is not None:
                    message["headers"] = [*message["headers"], (b"traceresponse", value.encode())]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - started
            handler = scope.get("route_handler")
            route = next(iter(handler.paths)) if handler is not None else "unmatched"
            record_request(scope["method"], route, status, seconds)
            if scope["path"] not in QUIET_PATHS:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 1),
                )

    return middleware


def service_app(
    *,
    title: str,
    description: str,
    route_handlers: Sequence[ControllerRouterHandler],
    ready_checks: Mapping[str, ReadyCheck],
    exception_handlers: Mapping[type[Exception] | int, Any] | None = None,
    openapi_config: OpenAPIConfig | None = None,
    token_check: TokenCheck | None = None,
    **kwargs: Any,
) -> Litestar:
    """A service's litestar app with what every service has: problem+json errors, request
    logging, ``/health``, ``/ready``, ``/metrics``, an OpenAPI document at ``/schema``, and
    strict JSON bodies (see the module's doc).

    A handler of the service's own for ``ValidationException`` is wrapped in
    :func:`empty_body_first` here; one on a route must be wrapped where it is declared.

    With ``token_check``, routes guarded by :func:`require_scope` demand a bearer token
    with their scope, and the OpenAPI document says so; without it they are open.
    """
    handlers = {**EXCEPTION_HANDLERS, **(exception_handlers or {})}
    handlers[ValidationException] = empty_body_first(
        handlers.get(ValidationException, _invalid_input)
    )
    app = Litestar(
        route_handlers=[*route_handlers, *health_handlers(ready_checks), metrics_handler],
        exception_handlers=handlers,
        middleware=[request_logging],
        plugins=[
            # Outermost (the plugin puts its middleware first): a server span per request.
            # Without the ASGI "http receive"/"http send" spans: three more per request
            # that say only that bytes moved, each made, exported and stored.
            OpenTelemetryPlugin(
                OpenTelemetryConfig(exclude=list(QUIET_PATHS), exclude_spans=["receive", "send"])
            ),
            JSONBodyPydanticPlugin(),
        ],
        request_class=JSONRequest,
        # Logging belongs to pizza_common.runtime (JSON lines): litestar must not replace it.
        logging_config=None,
        openapi_config=_with_bearer(
            openapi_config or OpenAPIConfig(title=title, version="1.0.0", description=description),
            on=token_check is not None,
        ),
        # App-level guards run before those of routers and handlers (payment's admin token).
        guards=[parameters.guard, *kwargs.pop("guards", ())],
        **kwargs,
    )
    parameters.install(app)
    if token_check is not None:
        app.state[STATE_KEY] = token_check
        app.on_shutdown.append(token_check.aclose)
        _declare_scopes(app)
    return app


def _with_bearer(config: OpenAPIConfig, *, on: bool) -> OpenAPIConfig:
    if not on:
        return config
    components = config.components if isinstance(config.components, Components) else Components()
    scheme = SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="an access token of the identity provider (OAuth2 client credentials)",
    )
    # The bearer scheme replaces any other: with tokens on, nothing else gets in.
    config = copy.copy(config)  # not replace(): that would re-run its deprecation checks
    config.components = dataclasses.replace(components, security_schemes={BEARER_SCHEME: scheme})
    return config


def _declare_scopes(app: Litestar) -> None:
    """Each route guarded by a scope names it as its OpenAPI security requirement."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or ())]
            scopes = [g.scope for g in guards if isinstance(g, ScopeGuard)]
            if scopes:
                handler.security = [{BEARER_SCHEME: scopes}]


def run_service(settings: S, create_app: Callable[[S], Litestar]) -> None:
    """A service's ``main``: JSON logging for its instance, then serve its app.

    ``kill -USR1 <pid>`` prints every thread's stack to the log: the way to see where a
    stuck process is stuck.
    """
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    configure_tracing(settings.service_name, settings.instance_id)
    configure_logging(settings.service_name, settings.instance_id, settings.log_level)
    app = create_app(settings)
    serve(app, settings.host, settings.port, log_level=settings.log_level, fd=settings.listen_fd)


def serve(
    app: Litestar, host: str, port: int, *, log_level: str = "info", fd: int | None = None
) -> None:
    """Run ``app`` with uvicorn; logging stays with structlog (no uvicorn access log).

    With ``fd``, a listening socket shared with other instances, it serves there as well
    as on its own ``host:port``; both listen only once the app has started.
    """
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, log_level=log_level.lower()
    )
    server = uvicorn.Server(config)
    server.run(sockets=None if fd is None else [socket.socket(fileno=fd), config.bind_socket()])
    if not server.started:
        sys.exit(3)  # uvicorn's own exit code for an app that failed to start
