"""OpenTelemetry tracing for every service, configured only by the standard ``OTEL_*``
environment variables, and W3C trace context carried in Kafka record headers.

- ``OTEL_TRACES_EXPORTER``: ``zipkin`` (``OTEL_EXPORTER_ZIPKIN_ENDPOINT``), ``otlp``
  (``OTEL_EXPORTER_OTLP_ENDPOINT``, HTTP), ``console`` or ``none`` (the default: spans
  are still made, so trace ids reach logs and ``traceresponse``, but not exported).
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the service; the
  service's own name and instance are the defaults. ``OTEL_TRACES_SAMPLER``,
  ``OTEL_BSP_*`` and the rest are read by the SDK itself.

Across a topic the consumer's span is a **child** of the producer's span (not a link):
one record is one unit of work here, so one order is one trace from ``POST /orders`` to
its delivery, and the gap between the produce span and the consume span is the time the
record waited in the topic.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind

# The spec's short names, and the exporter packages' entry points behind them.
EXPORTER_ENTRY_POINTS = {"zipkin": "zipkin_json", "otlp": "otlp_proto_http"}
TRACER = "pizza"


def configure_tracing(service: str, instance: str) -> None:
    """Install the tracer provider for this process (once, before the app starts)."""
    resource = Resource.create(
        {
            SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service,
            SERVICE_INSTANCE_ID: instance,
        }
    )
    provider = TracerProvider(resource=resource)
    for name in os.environ.get("OTEL_TRACES_EXPORTER", "none").split(","):
        exporter = _exporter(name.strip())
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def _exporter(name: str) -> SpanExporter | None:
    if name in ("", "none"):
        return None
    wanted = EXPORTER_ENTRY_POINTS.get(name, name)
    found = entry_points(group="opentelemetry_traces_exporter", name=wanted)
    if not found:
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: no such exporter is installed")
    exporter: SpanExporter = next(iter(found)).load()()
    return exporter


@functools.cache
def tracer() -> trace.Tracer:
    # Once: asking the provider builds a new tracer each time, half the cost of a span.
    # Taken before configure_tracing, it is a proxy that follows the provider set later.
    return trace.get_tracer(TRACER)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as hex, or None outside any span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


def traceresponse() -> str | None:
    """The W3C Trace Context level 2 ``traceresponse`` value for the current span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    flags = int(span_context.trace_flags)
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}"


def inject_headers() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``, ``tracestate``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


Headers = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None


def extract_headers(headers: Headers) -> context.Context:
    """A context from Kafka record headers, as a list of pairs or a dict (or none)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or []
    carrier = {
        key: value.decode() if isinstance(value, bytes) else value
        for key, value in pairs
        if value is not None
    }
    return propagate.extract(carrier)


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    with tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current
