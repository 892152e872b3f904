"""The platform's processes: the four services and the lag exporter (``monitor``); which
module, which port, how many."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_infra.config import HOST


@dataclass(frozen=True)
class Service:
    name: str  # as used on the command line: order, payment, kitchen, delivery, monitor
    module: str  # python -m <module>
    env_prefix: str  # the service's own settings prefix, e.g. ORDER_
    scalable: bool = False  # kitchen: several instances, one port each
    instance: str | None = None  # its instance id, when not the module's name


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        Service("payment", "payment_svc", "PAYMENT_"),
        Service("order", "order_svc", "ORDER_"),
        Service("kitchen", "kitchen_svc", "KITCHEN_", scalable=True),
        Service("delivery", "delivery_svc", "DELIVERY_"),
        # Not a service but the platform's lag monitoring, run and listed like one.
        Service("monitor", "pizza_infra.lag_exporter", "LAG_EXPORTER_", instance="lag-exporter"),
    )
}
START_ORDER = ("payment", "order", "kitchen", "delivery", "monitor")


class PlatformSettings(BaseSettings):
    """Ports and counts; the port variables are the ones each service reads itself."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    order_port: int = 8001
    payment_port: int = 8002
    delivery_port: int = 8004
    # Kitchen instance n listens on kitchen_port + n - 1 (8011, 8012, ...).
    kitchen_port: int = 8011
    kitchens: int = Field(default=1, ge=0, le=6)  # 6 partitions: a 7th would idle
    monitor_port: int = Field(default=8090, validation_alias="LAG_EXPORTER_PORT")
    prometheus_port: int = 9090
    circus_port: int = 5555
    start_timeout_s: float = 60.0

    def port(self, service: str, instance: int = 1) -> int:
        base: int = getattr(self, f"{service}_port")
        return base + instance - 1

    def url(self, service: str, instance: int = 1) -> str:
        return f"http://{HOST}:{self.port(service, instance)}"

    @property
    def circus_endpoint(self) -> str:
        return f"tcp://{HOST}:{self.circus_port}"

    @property
    def circus_pubsub_endpoint(self) -> str:
        return f"tcp://{HOST}:{self.circus_port + 1}"


DEFAULT_PORTS = {
    "KAFKA_PORT": 9092,
    "KAFKA_CONTROLLER_PORT": 9093,
    "SCHEMA_REGISTRY_PORT": 8081,
    "SCHEMA_REGISTRY_MANAGEMENT_PORT": 8091,
    "ORDER_PORT": 8001,
    "PAYMENT_PORT": 8002,
    "DELIVERY_PORT": 8004,
    "KITCHEN_PORT": 8011,
    "CIRCUS_PORT": 5555,
    "LAG_EXPORTER_PORT": 8090,
    "PROMETHEUS_PORT": 9090,
    "ZIPKIN_PORT": 9411,
}


def shifted_platform_env(offset: int, var_dir: str, cache_dir: str) -> dict[str, str]:
    """Environment for a second, separate platform: every port + ``offset``, own data.

    The end-to-end tests and the benchmark run the whole platform this way, beside (and
    never touching) one a person may have running on the default ports.
    """
    env = {name: str(port + offset) for name, port in DEFAULT_PORTS.items()}
    return {
        **env,
        "KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{env['KAFKA_PORT']}",
        "SCHEMA_REGISTRY_URL": f"http://{HOST}:{env['SCHEMA_REGISTRY_PORT']}/apis/ccompat/v7",
        "PIZZA_VAR_DIR": var_dir,
        "PIZZA_CACHE_DIR": cache_dir,
    }
