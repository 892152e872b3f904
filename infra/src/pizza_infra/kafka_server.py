"""A single-node Apache Kafka in KRaft mode (broker and controller in one JVM) on loopback."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pizza_infra.config import HOST, INFRA_DIR, InfraError, InfraSettings
from pizza_infra.fetch import kafka_libs
from pizza_infra.java import find_java
from pizza_infra.process import ServerProcess, port_open

KAFKA_MIN_JAVA = 17


def kafka_process(settings: InfraSettings) -> ServerProcess:
    return ServerProcess("kafka", settings.run_dir, settings.log_dir)


def server_properties(settings: InfraSettings, log_dir: Path) -> str:
    """Broker config: loopback listeners, single-replica internal topics, instant rebalances."""
    broker, controller = settings.kafka_port, settings.kafka_controller_port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{HOST}:{controller}",
            f"listeners=PLAINTEXT://{HOST}:{broker},CONTROLLER://{HOST}:{controller}",
            f"advertised.listeners=PLAINTEXT://{HOST}:{broker}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={log_dir}",
            # Topics are created deliberately from infra/topics.toml, never by accident.
            "auto.create.topics.enable=false",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # One local node: let a consumer group form at once instead of after 3 s.
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def kafka_answers(settings: InfraSettings) -> bool:
    if not port_open(settings.kafka_port):
        return False
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    try:
        metadata = admin.list_topics(timeout=2)
    except KafkaException:  # not ready yet
        return False
    return bool(metadata.brokers)


def start_kafka(settings: InfraSettings) -> str:
    """Start the broker unless it runs; format its storage the first time. Returns what it did."""
    process = kafka_process(settings)
    if process.pid() is not None:
        process.wait_ready(lambda: kafka_answers(settings), settings.start_timeout_s)
        return f"Kafka already running on {settings.bootstrap_servers}"
    for port in (settings.kafka_port, settings.kafka_controller_port):
        if port_open(port):
            raise InfraError(
                f"port {port} is taken by another process; stop it or set KAFKA_PORT and "
                "KAFKA_CONTROLLER_PORT"
            )
    libs = kafka_libs(settings)
    java = find_java(KAFKA_MIN_JAVA, f"Apache Kafka {settings.kafka_version}")
    log_dir = settings.data_dir / "kafka"
    config = settings.run_dir / "kafka-server.properties"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(server_properties(settings, log_dir))
    classpath = f"{libs}/*"
    if not (log_dir / "meta.properties").exists():
        log_dir.mkdir(parents=True, exist_ok=True)
        formatted = subprocess.run(
            [str(java), "-cp", classpath, "kafka.tools.StorageTool", "format",
             "-t", _cluster_id(), "-c", str(config)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if formatted.returncode != 0:
            raise InfraError(f"formatting Kafka's storage failed:\n{formatted.stderr.strip()}")
    process.start(
        [
            str(java),
            f"-Xmx{settings.kafka_heap}",
            f"-Xms{settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={INFRA_DIR / 'kafka' / 'log4j2.properties'}",
            process.marker,
            "-cp",
            classpath,
            "kafka.Kafka",
            str(config),
        ],
        env={},
        cwd=settings.var_dir,
    )
    process.wait_ready(lambda: kafka_answers(settings), settings.start_timeout_s)
    return f"Kafka {settings.kafka_version} started on {settings.bootstrap_servers}"
