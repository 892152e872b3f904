"""The platform's processes: the four services, the lag exporter (``monitor``) and the web
board; which module, which port, how many.

Kitchen instances each listen on a port of their own (8011, 8012, …). Payment instances
(``PAYMENTS``, default 2) share one address, the payment port: circus holds that listening
socket and every instance inherits it, so whichever instance is alive takes the next
connection; each also has a port of its own (8021, 8022, …) for its health and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_common.contracts import ORDER_PLACED, TOPICS
from pizza_infra.config import HOST, InfraSettings
from pizza_infra.ports import DEFAULT_PORTS

# One partition of order.placed is cooked by one kitchen instance: one more would idle.
MAX_KITCHENS = next(topic.partitions for topic in TOPICS if topic.name == ORDER_PLACED)
# Payment instances share one socket; a few are enough for one machine.
MAX_PAYMENTS = 6


@dataclass(frozen=True)
class Service:
    name: str  # as used on the command line: order, payment, kitchen, delivery, monitor
    module: str  # python -m <module>
    env_prefix: str  # the service's own settings prefix, e.g. ORDER_
    scalable: bool = False  # several instances, each with its own port and id
    shared_socket: bool = False  # payment: the instances also share one listening socket
    instance: str | None = None  # its instance id, when not the module's name


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        Service("payment", "payment_svc", "PAYMENT_", scalable=True, shared_socket=True),
        Service("order", "order_svc", "ORDER_"),
        Service("kitchen", "kitchen_svc", "KITCHEN_", scalable=True),
        Service("delivery", "delivery_svc", "DELIVERY_"),
        # Not a service but the platform's lag monitoring, run and listed like one.
        Service("monitor", "pizza_infra.lag_exporter", "LAG_EXPORTER_", instance="lag-exporter"),
        # The web board: reads the others' public APIs, Kafka's admin API and the registry.
        Service("board", "board_svc", "BOARD_"),
    )
}
START_ORDER = ("payment", "order", "kitchen", "delivery", "monitor", "board")


class PlatformSettings(BaseSettings):
    """Ports and counts; the port variables are the ones each service reads itself."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    order_port: int = DEFAULT_PORTS["ORDER_PORT"]
    payment_port: int = DEFAULT_PORTS["PAYMENT_PORT"]  # the one address of all payment instances
    delivery_port: int = DEFAULT_PORTS["DELIVERY_PORT"]
    board_port: int = DEFAULT_PORTS["BOARD_PORT"]
    # Kitchen instance n listens on kitchen_port + n - 1 (8011, 8012, ...).
    kitchen_port: int = DEFAULT_PORTS["KITCHEN_PORT"]
    kitchens: int = Field(default=1, ge=0, le=MAX_KITCHENS)
    # Payment instance n has its own port payment_instance_port + n - 1 (8021, 8022, ...).
    payment_instance_port: int = DEFAULT_PORTS["PAYMENT_INSTANCE_PORT"]
    payments: int = Field(default=2, ge=1, le=MAX_PAYMENTS)  # two: one may die, no order lost
    monitor_port: int = Field(
        default=DEFAULT_PORTS["LAG_EXPORTER_PORT"], validation_alias="LAG_EXPORTER_PORT"
    )
    prometheus_port: int = DEFAULT_PORTS["PROMETHEUS_PORT"]
    circus_port: int = DEFAULT_PORTS["CIRCUS_PORT"]
    start_timeout_s: float = 60.0

    def port(self, service: str, instance: int = 1) -> int:
        """Where the service answers; for a scalable one, where its ``instance`` does."""
        field = "payment_instance_port" if service == "payment" else f"{service}_port"
        base: int = getattr(self, field)
        return base + instance - 1

    def service_port(self, service: str) -> int:
        """The service's one address: for payment the port its instances share."""
        port: int = getattr(self, f"{service}_port")
        return port

    def instances(self, service: str) -> int:
        """How many instances ``up`` starts."""
        return {"kitchen": self.kitchens, "payment": self.payments}.get(service, 1)

    def url(self, service: str, instance: int | None = None) -> str:
        """The service's address (payment: the shared one), or one instance's."""
        if instance is None:
            return f"http://{HOST}:{self.service_port(service)}"
        return f"http://{HOST}:{self.port(service, instance)}"

    @property
    def circus_endpoint(self) -> str:
        return f"tcp://{HOST}:{self.circus_port}"

    @property
    def circus_pubsub_endpoint(self) -> str:
        return f"tcp://{HOST}:{self.circus_port + 1}"


def shifted_platform_env(
    offset: int, var_dir: str, cache_dir: str, kafka_nodes: int = 1
) -> dict[str, str]:
    """Environment for a second, separate platform: every port + ``offset``, own data.

    The end-to-end tests and the benchmark run the whole platform this way, beside (and
    never touching) one a person may have running on the default ports.
    """
    env = {name: str(port + offset) for name, port in DEFAULT_PORTS.items()}
    kafka = InfraSettings(
        kafka_nodes=kafka_nodes,
        kafka_port=int(env["KAFKA_PORT"]),
        kafka_controller_port=int(env["KAFKA_CONTROLLER_PORT"]),
        kafka_bootstrap_servers=None,
    )
    return {
        **env,
        "KAFKA_NODES": str(kafka_nodes),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": f"http://{HOST}:{env['SCHEMA_REGISTRY_PORT']}/apis/ccompat/v7",
        "PIZZA_VAR_DIR": var_dir,
        "PIZZA_CACHE_DIR": cache_dir,
    }
