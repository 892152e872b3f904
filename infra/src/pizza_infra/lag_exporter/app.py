"""``pizza-lag-exporter``: consumer lag per group and partition as Prometheus metrics.

Each scrape asks Kafka's admin API afresh with :func:`pizza_infra.admin.lag.consumer_lag`, the
function behind ``just lag``, so both always tell the same. The exporter joins no group
and consumes nothing: lag stays visible while a group has no consumer running, which is
when it matters most (the kitchen stopped and orders pile up).
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import structlog
from confluent_kafka import KafkaException
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pizza_common.kafka import KafkaSettings, connection_config
from pizza_common.runtime import configure_logging
from pizza_infra.admin.lag import PartitionLag, consumer_lag
from pizza_infra.lag_exporter.settings import LagExporterSettings

log = structlog.get_logger("pizza.lag_exporter")

PARTITION_LABELS = ["group", "topic", "partition"]


def lag_families(rows: Iterable[PartitionLag]) -> list[GaugeMetricFamily]:
    lag = GaugeMetricFamily(
        "pizza_consumer_lag", "Records the group has yet to process", labels=PARTITION_LABELS
    )
    committed = GaugeMetricFamily(
        "pizza_consumer_committed_offset",
        "The group's committed offset (absent where it never committed)",
        labels=PARTITION_LABELS,
    )
    end = GaugeMetricFamily(
        "pizza_topic_end_offset",
        "The partition's end offset: the next offset to be written",
        labels=["topic", "partition"],
    )
    ends: dict[tuple[str, str], int] = {}
    for row in rows:
        labels = [row.group, row.topic, str(row.partition)]
        lag.add_metric(labels, row.lag)
        if row.committed is not None:
            committed.add_metric(labels, row.committed)
        ends[(row.topic, str(row.partition))] = row.end  # one per partition, not per group
    for (topic, partition), offset in sorted(ends.items()):
        end.add_metric([topic, partition], offset)
    return [lag, committed, end]


class LagCollector(Collector):
    """Asks Kafka afresh on each scrape; never a stale number."""

    def __init__(self, kafka: KafkaSettings) -> None:
        # Its own principal (lag-exporter): allowed to describe, never to read records.
        self._client_config = connection_config(kafka)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("pizza_lag_exporter_up", "1 if Kafka answered this scrape")
        try:
            rows = consumer_lag(self._client_config)
        except KafkaException as exc:
            # Kafka down: say so, rather than fail the scrape or report a stale lag.
            log.warning("kafka did not answer", error=str(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from lag_families(rows)


def application(registry: CollectorRegistry) -> Any:
    """``/metrics`` from ``registry``, ``/health`` for the process manager, else 404."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer
        if path == "/health":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status":"ok"}']
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics\n"]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # every scrape is no news
        pass


def main() -> None:
    settings = LagExporterSettings()
    configure_logging("lag_exporter", settings.instance, settings.log_level)
    registry = CollectorRegistry()
    registry.register(LagCollector(KafkaSettings()))
    app = application(registry)
    server = make_server(settings.host, settings.port, app, handler_class=_QuietHandler)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    log.info("serving consumer lag", url=f"http://{settings.host}:{settings.port}/metrics")
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
