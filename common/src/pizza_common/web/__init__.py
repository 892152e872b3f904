"""The HTTP shell every service runs in: one strict edge (UTF-8 JSON, depth and size
limits, strict parameters, problem+json errors), health and readiness, metrics, request
logs and traces, bearer-token checks per scope, who may read a customer's order, and
serving with uvicorn."""

from pizza_common.web._app import (
    PROBLEM_JSON,
    empty_body_first,
    problem,
    run_service,
    service_app,
)
from pizza_common.web._order_access import (
    ORDERS_READ,
    TRACKING_TOKEN_HEADER,
    ReadGrant,
    order_read_grant,
    tracking_token_matches,
    tracking_token_sha256,
)
from pizza_common.web._token_settings import TokenCheckSettings
from pizza_common.web._tokens import (
    Claims,
    KeysUnavailable,
    ScopeMissing,
    TokenCheck,
    TokenRejected,
    TokenSettings,
    require_scope,
)

__all__ = [
    "ORDERS_READ",
    "PROBLEM_JSON",
    "TRACKING_TOKEN_HEADER",
    "Claims",
    "KeysUnavailable",
    "ReadGrant",
    "ScopeMissing",
    "TokenCheck",
    "TokenCheckSettings",
    "TokenRejected",
    "TokenSettings",
    "empty_body_first",
    "order_read_grant",
    "problem",
    "require_scope",
    "run_service",
    "service_app",
    "tracking_token_matches",
    "tracking_token_sha256",
]
