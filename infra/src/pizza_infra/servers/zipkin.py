"""Zipkin on loopback: the trace UI and the endpoint the services export spans to.

Spans are kept in memory (the newest ``ZIPKIN_MAX_SPANS``), with a heap sized for that
many: a trace UI for the running platform, not an archive.
"""

from __future__ import annotations

import httpx

from pizza_infra.config import HOST, InfraSettings
from pizza_infra.servers.fetch import zipkin_jar
from pizza_infra.servers.java_server import JavaServer, start_servers
from pizza_infra.servers.process import ServerProcess

ZIPKIN_MIN_JAVA = 17


def zipkin_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("zipkin", settings.run_dir, settings.log_dir)


def zipkin_answers(settings: InfraSettings) -> bool:
    try:
        return httpx.get(f"{settings.zipkin_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def zipkin_server(settings: InfraSettings) -> JavaServer:
    return JavaServer(
        process=zipkin_process(settings),
        title=f"Zipkin {settings.zipkin_version}",
        min_java=ZIPKIN_MIN_JAVA,
        fetch=lambda: zipkin_jar(settings),
        jvm_options=(
            f"-Xmx{settings.zipkin_heap_mb}m",
            # Out of heap it would hang, half alive: exit instead, and `up` starts it again.
            "-XX:+ExitOnOutOfMemoryError",
        ),
        main=lambda jar: [
            "-jar",
            str(jar),
            f"--armeria.ports[0].port={settings.zipkin_port}",
            f"--armeria.ports[0].ip={HOST}",
            "--armeria.ports[0].protocols=http",
        ],
        ports=(settings.zipkin_port,),
        port_settings="ZIPKIN_PORT",
        answers=lambda: zipkin_answers(settings),
        address=settings.zipkin_url,
        env={
            "MEM_MAX_SPANS": str(settings.zipkin_max_spans),
            # Spans come over HTTP only. Zipkin would read an inherited
            # KAFKA_BOOTSTRAP_SERVERS as a broker to collect spans from, and report itself
            # unhealthy while it cannot (Kafka refuses a client without credentials).
            "KAFKA_BOOTSTRAP_SERVERS": "",
        },
        workdir=settings.var_dir,
    )


def start_zipkin(settings: InfraSettings) -> str:
    server = zipkin_server(settings)
    return start_servers([server], settings).summary("Zipkin", server.title, settings.zipkin_url)
