"""Every port the platform listens on locally, written once.

Each service's settings take their default port from here, and the dev tooling reads the
same table to start, probe and list the processes; environment variables override each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LocalPorts:
    board: int = 8000  # the web board
    order: int = 8001
    payment: int = 8002  # the one address every payment instance shares
    delivery: int = 8004
    kitchen: int = 8011  # kitchen instance n listens on kitchen + n - 1
    payment_instance: int = 8021  # payment instance n's own port: payment_instance + n - 1
    lag_exporter: int = 8090
    kafka: int = 9092  # Kafka node n: kafka + 2(n - 1), its controller one above
    kafka_controller: int = 9093
    schema_registry: int = 8081
    schema_registry_management: int = 8091
    zipkin: int = 9411
    keycloak: int = 8180  # the identity provider: tokens, admin console
    keycloak_management: int = 8190  # its health
    prometheus: int = 9090
    supervisor: int = 5555  # the process manager's control endpoint


PORTS = LocalPorts()
