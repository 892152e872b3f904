"""The platform's default ports, in one table: every module of pizza_infra reads them
from here, and each can be moved by the environment variable it is keyed by.

A second platform on the same machine (tests, the benchmark, a chaos soak) shifts all of
them by one offset (:func:`pizza_infra.supervisor.services.shifted_platform_env`).
"""

from __future__ import annotations

from typing import Final

DEFAULT_PORTS: Final[dict[str, int]] = {
    # The services. Payment's instances share PAYMENT_PORT and each also has its own
    # (PAYMENT_INSTANCE_PORT + n - 1); kitchen instance n listens on KITCHEN_PORT + n - 1.
    "ORDER_PORT": 8001,
    "PAYMENT_PORT": 8002,
    "DELIVERY_PORT": 8004,
    "KITCHEN_PORT": 8011,
    "PAYMENT_INSTANCE_PORT": 8021,
    # The platform's monitoring and process manager (circus uses this port and the next).
    "LAG_EXPORTER_PORT": 8090,
    "PROMETHEUS_PORT": 9090,
    "CIRCUS_PORT": 5555,
    # The infrastructure. Kafka node n of a cluster: KAFKA_PORT + 2(n-1), likewise its
    # controller port.
    "KAFKA_PORT": 9092,
    "KAFKA_CONTROLLER_PORT": 9093,
    "SCHEMA_REGISTRY_PORT": 8081,
    "SCHEMA_REGISTRY_MANAGEMENT_PORT": 8091,
    "ZIPKIN_PORT": 9411,
}
