"""Infra settings: versions, ports and folders, each overridable from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pizza_infra.ports import DEFAULT_PORTS

# The checkout this dev tool runs in: it starts servers and services from here.
REPO_ROOT = Path(__file__).resolve().parents[3]

INFRA_DIR = REPO_ROOT / "infra"
HOST = "127.0.0.1"
MAX_KAFKA_NODES = 5
ZIPKIN_SPAN_KB = 3
REALM = "pizza"  # the platform's realm in Keycloak (infra/keycloak/pizza-realm.json)


class InfraSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_version: str = "4.4.0"
    registry_version: str = "3.3.3"
    zipkin_version: str = "3.6.1"
    keycloak_version: str = "26.7.3"
    # False: `up` starts no identity provider (the integration tests' infra: only the
    # tests that need tokens start one, it takes a while).
    keycloak_enabled: bool = True

    # 1: one broker+controller JVM. 3 (high availability): three such nodes on this
    # machine, node n listening on kafka_port + 2(n-1) and kafka_controller_port + 2(n-1).
    kafka_nodes: int = Field(default=1, ge=1, le=MAX_KAFKA_NODES)
    kafka_port: int = DEFAULT_PORTS["KAFKA_PORT"]
    kafka_controller_port: int = DEFAULT_PORTS["KAFKA_CONTROLLER_PORT"]
    schema_registry_port: int = DEFAULT_PORTS["SCHEMA_REGISTRY_PORT"]
    # Quarkus' management interface (health); kept on loopback like everything else.
    schema_registry_management_port: int = DEFAULT_PORTS["SCHEMA_REGISTRY_MANAGEMENT_PORT"]
    zipkin_port: int = DEFAULT_PORTS["ZIPKIN_PORT"]  # the trace UI and the spans' endpoint
    keycloak_port: int = DEFAULT_PORTS["KEYCLOAK_PORT"]  # the identity provider: tokens, console
    keycloak_management_port: int = DEFAULT_PORTS["KEYCLOAK_MANAGEMENT_PORT"]  # its health

    # Per node; None: 512m for a single node, 384m each when several share the machine.
    kafka_heap: str | None = None
    registry_heap: str = "384m"
    keycloak_heap: str = "384m"
    # Zipkin keeps this many spans in memory (about 15 an order); its heap follows from it.
    zipkin_max_spans: int = Field(default=50_000, ge=1000)
    # How long `up` waits for each server to answer.
    start_timeout_s: float = 120.0
    # A server that runs but has not answered for this long is taken for hung: `up` kills
    # it and starts it anew (a server still starting gets start_timeout_s).
    answer_timeout_s: float = 20.0

    var_dir: Path = Field(default=REPO_ROOT / "var", validation_alias="PIZZA_VAR_DIR")
    cache_override: Path | None = Field(default=None, validation_alias="PIZZA_CACHE_DIR")
    topic_replication_factor: int | None = None
    # Set to work on a broker and registry that run elsewhere (e.g. in Docker Compose):
    # topics-apply, topics, schemas-register and schemas-check then use them.
    kafka_bootstrap_servers: str | None = None
    schema_registry_url_override: str | None = Field(
        default=None, validation_alias="SCHEMA_REGISTRY_URL"
    )

    @property
    def cache_dir(self) -> Path:
        """Downloads; shared by every data folder (tests use their own data, not their own jars)."""
        return self.cache_override or self.var_dir / "cache"

    @property
    def data_dir(self) -> Path:
        return self.var_dir / "data"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def secrets_dir(self) -> Path:
        """Generated local secrets (Keycloak's admin, the clients'): never committed."""
        return self.var_dir / "secrets"

    @property
    def keycloak_url(self) -> str:
        return f"http://{HOST}:{self.keycloak_port}"

    @property
    def issuer(self) -> str:
        """The platform's realm as its tokens name it (``iss``)."""
        return f"{self.keycloak_url}/realms/{REALM}"

    @property
    def token_url(self) -> str:
        """Where a client of the platform's realm gets its tokens (client credentials)."""
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def zipkin_url(self) -> str:
        return f"http://{HOST}:{self.zipkin_port}"

    @property
    def kafka_heap_size(self) -> str:
        return self.kafka_heap or ("512m" if self.kafka_nodes == 1 else "384m")

    @property
    def zipkin_heap_mb(self) -> int:
        """Room for the span limit: a span like this platform's takes ~3 KB of heap in
        Zipkin's memory store (measured); twice that, for the collector's garbage, plus
        what Zipkin itself needs. 50,000 spans: 357 MB."""
        return 64 + -(-self.zipkin_max_spans * ZIPKIN_SPAN_KB * 2 // 1024)

    @property
    def replication_factor(self) -> int:
        """Of every topic, the platform's and Kafka's internal ones: one source of truth."""
        return self.topic_replication_factor or min(self.kafka_nodes, 3)

    @property
    def min_insync_replicas(self) -> int:
        # One replica may be down and acks=all writes still succeed.
        return max(1, self.replication_factor - 1)

    def kafka_node_ports(self, node: int) -> tuple[int, int]:
        """(broker, controller) port of node 1..kafka_nodes."""
        step = 2 * (node - 1)
        return self.kafka_port + step, self.kafka_controller_port + step

    @property
    def bootstrap_servers(self) -> str:
        """Every broker: a client still finds the cluster when one of them is down."""
        return self.kafka_bootstrap_servers or ",".join(
            f"{HOST}:{self.kafka_node_ports(n)[0]}" for n in range(1, self.kafka_nodes + 1)
        )

    @property
    def registry_base_url(self) -> str:
        return f"http://{HOST}:{self.schema_registry_port}"

    @property
    def schema_registry_url(self) -> str:
        """The Confluent-compatible API that confluent-kafka's client speaks."""
        return self.schema_registry_url_override or f"{self.registry_base_url}/apis/ccompat/v7"


class InfraError(Exception):
    """Something the user has to act on; the CLI prints it as one clear sentence."""
