"""The HTTP shell every service runs in: one strict edge (UTF-8 JSON, depth and size
limits, strict parameters, problem+json errors), health and readiness, metrics, request
logs and traces, and serving with uvicorn."""

from pizza_common.web._app import (
    PROBLEM_JSON,
    empty_body_first,
    problem,
    run_service,
    service_app,
)

__all__ = [
    "PROBLEM_JSON",
    "empty_body_first",
    "problem",
    "run_service",
    "service_app",
]
