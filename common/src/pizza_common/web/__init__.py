"""The HTTP shell every service runs in: one strict edge (UTF-8 JSON, depth and size
limits, strict parameters, problem+json errors), health and readiness, metrics, request
logs and traces, bearer-token checks per scope, and serving with uvicorn."""

from pizza_common.web._app import (
    PROBLEM_JSON,
    empty_body_first,
    problem,
    run_service,
    service_app,
)
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
    "PROBLEM_JSON",
    "Claims",
    "KeysUnavailable",
    "ScopeMissing",
    "TokenCheck",
    "TokenRejected",
    "TokenSettings",
    "empty_body_first",
    "problem",
    "require_scope",
    "run_service",
    "service_app",
]
