"""Apicurio Registry 3 on loopback, storing schemas in an H2 file so they survive a restart.

It serves the Confluent Schema Registry API under ``/apis/ccompat/v7``, which
confluent-kafka's ``SchemaRegistryClient`` (and kafka-ui) speak.
"""

from __future__ import annotations

import httpx

from pizza_infra.config import HOST, InfraError, InfraSettings
from pizza_infra.servers.fetch import registry_app
from pizza_infra.servers.java import find_java
from pizza_infra.servers.process import ServerProcess, port_open

REGISTRY_MIN_JAVA = 21


def registry_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("registry", settings.run_dir, settings.log_dir)


def registry_answers(settings: InfraSettings) -> bool:
    try:
        response = httpx.get(f"{settings.schema_registry_url}/subjects", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def start_registry(settings: InfraSettings) -> str:
    process = registry_process(settings)
    settled = process.settle(
        lambda: registry_answers(settings),
        start_timeout_s=settings.start_timeout_s,
        answer_timeout_s=settings.answer_timeout_s,
    )
    if settled == "answers":
        return f"schema registry already running on {settings.schema_registry_url}"
    for port in (settings.schema_registry_port, settings.schema_registry_management_port):
        if port_open(port):
            raise InfraError(
                f"port {port} is taken by another process; stop it or set SCHEMA_REGISTRY_PORT "
                "and SCHEMA_REGISTRY_MANAGEMENT_PORT"
            )
    app = registry_app(settings)
    java = find_java(REGISTRY_MIN_JAVA, f"Apicurio Registry {settings.registry_version}")
    database = settings.data_dir / "registry" / "registry"
    database.parent.mkdir(parents=True, exist_ok=True)
    process.start(
        [
            str(java),
            f"-Xmx{settings.registry_heap}",
            "-XX:+ExitOnOutOfMemoryError",  # exit rather than hang; `up` starts it again
            process.marker,
            "-jar",
            "quarkus-run.jar",
        ],
        env={
            "QUARKUS_HTTP_HOST": HOST,
            "QUARKUS_HTTP_PORT": str(settings.schema_registry_port),
            "QUARKUS_MANAGEMENT_HOST": HOST,
            "QUARKUS_MANAGEMENT_PORT": str(settings.schema_registry_management_port),
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_STORAGE_SQL_KIND": "h2",
            "APICURIO_DATASOURCE_URL": f"jdbc:h2:file:{database}",
            "APICURIO_DATASOURCE_USERNAME": "sa",
            "APICURIO_DATASOURCE_PASSWORD": "sa",  # a local file database
        },
        cwd=app,
    )
    process.wait_ready(lambda: registry_answers(settings), settings.start_timeout_s)
    done = "replaced a hung registry" if settled == "hung" else "started"
    return f"Apicurio Registry {settings.registry_version} {done} on {settings.schema_registry_url}"
