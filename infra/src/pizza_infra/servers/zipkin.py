"""Zipkin on loopback: the trace UI and the endpoint the services export spans to.

Spans are kept in memory (the newest ``ZIPKIN_MAX_SPANS``), with a heap sized for that
many: a trace UI for the running platform, not an archive.
"""

from __future__ import annotations

import httpx

from pizza_infra.config import HOST, InfraError, InfraSettings
from pizza_infra.servers.fetch import zipkin_jar
from pizza_infra.servers.java import find_java
from pizza_infra.servers.kafka import KAFKA_MIN_JAVA
from pizza_infra.servers.process import ServerProcess, port_open


def zipkin_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("zipkin", settings.run_dir, settings.log_dir)


def zipkin_answers(settings: InfraSettings) -> bool:
    try:
        return httpx.get(f"{settings.zipkin_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_zipkin(settings: InfraSettings) -> str:
    process = zipkin_process(settings)
    settled = process.settle(
        lambda: zipkin_answers(settings),
        start_timeout_s=settings.start_timeout_s,
        answer_timeout_s=settings.answer_timeout_s,
    )
    if settled == "answers":
        return f"Zipkin already running on {settings.zipkin_url}"
    if port_open(settings.zipkin_port):
        raise InfraError(
            f"port {settings.zipkin_port} is taken by another process; stop it or set ZIPKIN_PORT"
        )
    jar = zipkin_jar(settings)
    java = find_java(KAFKA_MIN_JAVA, f"Zipkin {settings.zipkin_version}")
    process.start(
        [
            str(java),
            f"-Xmx{settings.zipkin_heap_mb}m",
            # Out of heap it would hang, half alive: exit instead, and `up` starts it again.
            "-XX:+ExitOnOutOfMemoryError",
            process.marker,
            "-jar",
            str(jar),
            f"--armeria.ports[0].port={settings.zipkin_port}",
            f"--armeria.ports[0].ip={HOST}",
            "--armeria.ports[0].protocols=http",
        ],
        env={"MEM_MAX_SPANS": str(settings.zipkin_max_spans)},
        cwd=settings.var_dir,
    )
    process.wait_ready(lambda: zipkin_answers(settings), settings.start_timeout_s)
    done = "replaced a hung Zipkin" if settled == "hung" else "started"
    return f"Zipkin {settings.zipkin_version} {done} on {settings.zipkin_url}"
