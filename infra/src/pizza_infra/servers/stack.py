"""The local infrastructure as a whole: Kafka with the platform's topics, the schema
registry, Zipkin and Keycloak; up, down and status. Each step is idempotent and says what
it did."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pizza_infra.admin.access import apply_access
from pizza_infra.admin.topics import apply_topics, load_topics
from pizza_infra.config import InfraSettings
from pizza_infra.servers.java_server import ServerStatus, status
from pizza_infra.servers.kafka import kafka_servers, start_kafka, stop_kafka
from pizza_infra.servers.keycloak import keycloak_process, keycloak_server, start_keycloak
from pizza_infra.servers.registry import registry_process, registry_server, start_registry
from pizza_infra.servers.zipkin import start_zipkin, zipkin_process, zipkin_server


def up(
    settings: InfraSettings,
    say: Callable[[str], None] = print,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Start Kafka, apply the topics and the services' users and ACLs; start the registry,
    Zipkin and Keycloak (unless disabled) meanwhile, fetching them the first time. None of
    those three needs Kafka, and a JVM's start is mostly waiting: side by side, the whole
    is up in about the time of the slowest.

    ``meanwhile`` runs once Kafka and the registry answer, while Zipkin and Keycloak may
    still be starting: the services can start then. They need neither to start (a token
    is asked for again until one comes), and `up` returns only once both answer, so no
    order is placed before.
    """
    with ThreadPoolExecutor(max_workers=3) as beside:
        registry = beside.submit(start_registry, settings)
        zipkin = beside.submit(start_zipkin, settings)
        keycloak = beside.submit(start_keycloak, settings) if settings.keycloak_enabled else None
        say(start_kafka(settings))
        for change in apply_topics(settings, load_topics(settings)) or ["topics up to date"]:
            say(f"  {change}")
        for change in apply_access(settings) or ["kafka users set, ACLs up to date"]:
            say(f"  {change}")
        say(registry.result())
        if meanwhile is not None:
            meanwhile()
        say(zipkin.result())
        if keycloak is not None:
            say(keycloak.result())


def down(settings: InfraSettings, say: Callable[[str], None] = print) -> None:
    # The registry first: it may still be talking to nothing, Kafka is what holds the data.
    servers = (keycloak_process(settings), zipkin_process(settings), registry_process(settings))
    for process in servers:
        say(f"{process.name}: {'stopped' if process.stop() else 'was not running'}")
    stopped = stop_kafka(settings)  # whichever nodes run, of either mode
    say(f"kafka: {'stopped ' + ', '.join(stopped) if stopped else 'was not running'}")


def statuses(settings: InfraSettings) -> list[ServerStatus]:
    """Every Kafka node, the registry, Zipkin and Keycloak (if enabled), each asked whether
    it answers."""
    servers = [*kafka_servers(settings), registry_server(settings), zipkin_server(settings)]
    if settings.keycloak_enabled:
        servers.append(keycloak_server(settings))
    return [status(server) for server in servers]
