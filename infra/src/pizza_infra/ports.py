"""The platform's default ports (:data:`pizza_common.runtime.PORTS`, the one table the
services read too) keyed by the environment variable that moves each one.

A second platform on the same machine (tests, the benchmark, a chaos soak) shifts all of
them by one offset (:func:`pizza_infra.supervisor.services.shifted_platform_env`).
"""

from __future__ import annotations

from typing import Final

from pizza_common.runtime import PORTS

DEFAULT_PORTS: Final[dict[str, int]] = {
    # The services. Payment's instances share PAYMENT_PORT and each also has its own
    # (PAYMENT_INSTANCE_PORT + n - 1); kitchen instance n listens on KITCHEN_PORT + n - 1.
    "ORDER_PORT": PORTS.order,
    "PAYMENT_PORT": PORTS.payment,
    "DELIVERY_PORT": PORTS.delivery,
    "BOARD_PORT": PORTS.board,  # the web board
    "KITCHEN_PORT": PORTS.kitchen,
    "PAYMENT_INSTANCE_PORT": PORTS.payment_instance,
    # The platform's monitoring and process manager (circus uses this port and the next).
    "LAG_EXPORTER_PORT": PORTS.lag_exporter,
    "PROMETHEUS_PORT": PORTS.prometheus,
    "CIRCUS_PORT": PORTS.supervisor,
    # The infrastructure. Kafka node n of a cluster: KAFKA_PORT + 2(n-1), likewise its
    # controller port.
    "KAFKA_PORT": PORTS.kafka,
    "KAFKA_CONTROLLER_PORT": PORTS.kafka_controller,
    "SCHEMA_REGISTRY_PORT": PORTS.schema_registry,
    "SCHEMA_REGISTRY_MANAGEMENT_PORT": PORTS.schema_registry_management,
    "ZIPKIN_PORT": PORTS.zipkin,
    "KEYCLOAK_PORT": PORTS.keycloak,
    "KEYCLOAK_MANAGEMENT_PORT": PORTS.keycloak_management,
}
