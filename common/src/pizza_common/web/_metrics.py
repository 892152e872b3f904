"""Prometheus metrics every service shares: ``GET /metrics`` and HTTP request metrics
(recorded by :func:`pizza_common.web._app.request_logging`).

Service-specific metrics are defined next to the code they measure, on the default
registry, and so appear on the same endpoint.
"""

from __future__ import annotations

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "pizza_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "pizza_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)


@get("/metrics", tags=["operations"], include_in_schema=False, sync_to_thread=False)
def metrics_handler() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count and time one answered request, by route template (not by raw path)."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
