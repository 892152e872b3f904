"""Apicurio Registry 3 on loopback, storing schemas in an H2 file so they survive a restart.

It serves the Confluent Schema Registry API under ``/apis/ccompat/v7``, which
confluent-kafka's ``SchemaRegistryClient`` (and kafka-ui) speak.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from pizza_infra.config import HOST, InfraSettings
from pizza_infra.servers.fetch import registry_app
from pizza_infra.servers.java_server import JavaServer, start_servers
from pizza_infra.servers.process import ServerProcess

REGISTRY_MIN_JAVA = 21


def registry_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("registry", settings.run_dir, settings.log_dir)


def registry_answers(settings: InfraSettings) -> bool:
    try:
        response = httpx.get(f"{settings.schema_registry_url}/subjects", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def registry_server(settings: InfraSettings) -> JavaServer:
    database = settings.data_dir / "registry" / "registry"

    def prepare(_java: Path, _app: Path) -> None:
        database.parent.mkdir(parents=True, exist_ok=True)

    return JavaServer(
        process=registry_process(settings),
        title=f"Apicurio Registry {settings.registry_version}",
        min_java=REGISTRY_MIN_JAVA,
        fetch=lambda: registry_app(settings),
        jvm_options=(
            f"-Xmx{settings.registry_heap}",
            "-XX:+ExitOnOutOfMemoryError",  # exit rather than hang; `up` starts it again
            # The quick compiler only: half the CPU to start; clients cache what they
            # look up, so it never serves enough to need the optimising one.
            "-XX:TieredStopAtLevel=1",
        ),
        main=lambda _app: ["-jar", "quarkus-run.jar"],
        ports=(settings.schema_registry_port, settings.schema_registry_management_port),
        port_settings="SCHEMA_REGISTRY_PORT and SCHEMA_REGISTRY_MANAGEMENT_PORT",
        answers=lambda: registry_answers(settings),
        address=settings.schema_registry_url,
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
        workdir=None,  # the app's folder: quarkus-run.jar finds its lib/ beside it
        prepare=prepare,
    )


def start_registry(settings: InfraSettings) -> str:
    server = registry_server(settings)
    started = start_servers([server], settings)
    return started.summary("schema registry", server.title, settings.schema_registry_url)
