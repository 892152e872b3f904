"""Apache Kafka in KRaft mode on loopback: one node, or a cluster of several on this machine.

Every node runs broker and controller in one JVM (combined mode). Three such nodes are
the smallest cluster that survives losing one: the two left still form the controller
quorum (2 of 3 voters) and still hold two in-sync replicas of every partition, which is
what ``min.insync.replicas=2`` asks of an ``acks=all`` write. Separate controller
processes would need six JVMs for the same guarantee.

A single node keeps its name (``kafka``: ``var/run/kafka.pid``, ``var/log/kafka.log``,
``var/data/kafka``); cluster nodes are ``kafka-1`` … ``kafka-n``, each with its own ports,
data, log and pid file, so the two modes never share data.
"""

from __future__ import annotations

import base64
import struct
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pizza_infra.config import HOST, INFRA_DIR, MAX_KAFKA_NODES, InfraError, InfraSettings
from pizza_infra.kafka_access import BROKER_PRINCIPAL, SUPER_USERS, admin_config, password
from pizza_infra.servers.fetch import kafka_libs
from pizza_infra.servers.java_server import JavaServer, start_servers
from pizza_infra.servers.process import ServerProcess, connect, stop_all

KAFKA_MIN_JAVA = 17


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    broker_port: int
    controller_port: int
    process: ServerProcess
    data_dir: Path
    config_file: Path

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def address(self) -> str:
        return f"{HOST}:{self.broker_port}"


def kafka_nodes(settings: InfraSettings) -> list[KafkaNode]:
    """The nodes of the configured mode (``KAFKA_NODES``), node 1 first."""
    nodes = []
    for node_id in range(1, settings.kafka_nodes + 1):
        name = "kafka" if settings.kafka_nodes == 1 else f"kafka-{node_id}"
        broker, controller = settings.kafka_node_ports(node_id)
        nodes.append(
            KafkaNode(
                node_id=node_id,
                broker_port=broker,
                controller_port=controller,
                process=ServerProcess(name, settings.run_dir, settings.log_dir),
                data_dir=settings.data_dir / name,
                config_file=settings.run_dir / f"{name}-server.properties",
            )
        )
    return nodes


def kafka_node(settings: InfraSettings, node_id: int) -> KafkaNode:
    nodes = kafka_nodes(settings)
    if not 1 <= node_id <= len(nodes):
        raise InfraError(f"there is no Kafka node {node_id}; nodes are 1 to {len(nodes)}")
    return nodes[node_id - 1]


def all_kafka_processes(settings: InfraSettings) -> list[ServerProcess]:
    """The processes of both modes, whichever runs: what ``down`` stops."""
    single = ServerProcess("kafka", settings.run_dir, settings.log_dir)
    cluster = [
        ServerProcess(f"kafka-{n}", settings.run_dir, settings.log_dir)
        for n in range(1, MAX_KAFKA_NODES + 1)
    ]
    return [single, *cluster]


def _plain_jaas(settings: InfraSettings, users: tuple[str, ...]) -> str:
    """SASL PLAIN's static user list, and the credentials this node itself logs in with."""
    broker = password(settings, BROKER_PRINCIPAL)
    listed = " ".join(f'user_{user}="{password(settings, user)}"' for user in users)
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{BROKER_PRINCIPAL}" password="{broker}" {listed};'
    )


def security_properties(settings: InfraSettings) -> list[str]:
    """Every client authenticates; nothing is allowed that an ACL does not allow.

    Services use SCRAM-SHA-512 (their credentials live in the cluster's metadata, set by
    the admin). The admin and the nodes among themselves use PLAIN against the static
    list here: it works before any SCRAM credential exists, and on the controller
    listener, where SCRAM cannot be used (the controllers hold the credentials).
    """
    return [
        "listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
        "listener.name.broker.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        f"listener.name.broker.plain.sasl.jaas.config={_plain_jaas(settings, SUPER_USERS)}",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        "listener.name.controller.plain.sasl.jaas.config="
        f"{_plain_jaas(settings, (BROKER_PRINCIPAL,))}",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        "sasl.mechanism.controller.protocol=PLAIN",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=" + ";".join(f"User:{user}" for user in SUPER_USERS),
    ]


def server_properties(settings: InfraSettings, node: KafkaNode) -> str:
    """A node's config: loopback listeners, SASL and ACLs, replication from the node
    count, instant rebalances. It holds passwords: written with mode 0600."""
    replicas, min_isr = settings.replication_factor, settings.min_insync_replicas
    voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in kafka_nodes(settings))
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=BROKER://{node.address},CONTROLLER://{HOST}:{node.controller_port}",
            f"advertised.listeners=BROKER://{node.address}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=BROKER",
            *security_properties(settings),
            f"log.dirs={node.data_dir}",
            # Topics are created deliberately (pizza_common.contracts.TOPICS), never by accident.
            "auto.create.topics.enable=false",
            "num.partitions=1",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
            # Kafka's own topics (group offsets, transactions) replicated like ours.
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            # A consumer group forms at once instead of after 3 s: one machine, few members.
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


def _existing_cluster_id(nodes: list[KafkaNode]) -> str | None:
    """The id a node was formatted with: a node formatted anew must join the same cluster."""
    for node in nodes:
        meta = node.data_dir / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.partition("=")[2].strip()
    return None


def node_answers(node: KafkaNode, timeout_s: float = 2.0) -> bool:
    """The node's own broker answers an ApiVersions request.

    Asked over a plain socket: a Kafka client would send its request to whichever broker
    it likes. A broker accepts requests only once it has started and caught up with the
    cluster; a stopped or hung JVM still accepts connections but answers nothing.
    """
    correlation_id = node.node_id
    client = b"pizza-infra"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client)) + client  # ApiVersions v0
    sock = connect(node.broker_port, timeout_s)
    if sock is None:
        return False
    try:
        with sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            answer = sock.recv(10)  # size, correlation id, error code
    except OSError:
        return False
    if len(answer) < 10:
        return False
    _size, answered_id, error = struct.unpack(">iih", answer[:10])
    return bool(answered_id == correlation_id and error == 0)


def cluster_answers(settings: InfraSettings, timeout_s: float = 2.0) -> bool:
    """Kafka is usable: the cluster's metadata lists every node (a remote one: a broker)."""
    # log_level 0: refused connections to a node still starting are expected here.
    admin = AdminClient(admin_config(settings, log_level=0))
    try:
        brokers = admin.list_topics(timeout=timeout_s).brokers
    except KafkaException:  # not ready yet
        return False
    if settings.kafka_bootstrap_servers:
        return bool(brokers)
    return {n.node_id for n in kafka_nodes(settings)} <= set(brokers)


def node_server(settings: InfraSettings, node: KafkaNode) -> JavaServer:
    """A node as a Java server: loopback listeners, its own config, data, log and pid."""
    heap = settings.kafka_heap_size

    def prepare(java: Path, libs: Path) -> None:
        """Write the node's config; format its storage the first time."""
        node.config_file.parent.mkdir(parents=True, exist_ok=True)
        node.config_file.unlink(missing_ok=True)
        node.config_file.touch(mode=0o600)  # it holds the admin's and the nodes' passwords
        node.config_file.write_text(server_properties(settings, node))
        if (node.data_dir / "meta.properties").exists():
            return
        node.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = _existing_cluster_id(kafka_nodes(settings)) or _cluster_id()
        formatted = subprocess.run(
            [str(java), "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
             "-t", cluster_id, "-c", str(node.config_file)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if formatted.returncode != 0:
            raise InfraError(f"formatting Kafka's storage failed:\n{formatted.stderr.strip()}")

    return JavaServer(
        process=node.process,
        title=f"Apache Kafka {settings.kafka_version}",
        min_java=KAFKA_MIN_JAVA,
        fetch=lambda: kafka_libs(settings),
        jvm_options=(
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-XX:+UseG1GC",
            # Out of heap is no state to limp on in: exit, and `up` starts it again.
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={INFRA_DIR / 'kafka' / 'log4j2.properties'}",
        ),
        main=lambda libs: ["-cp", f"{libs}/*", "kafka.Kafka", str(node.config_file)],
        ports=(node.broker_port, node.controller_port),
        port_settings="KAFKA_PORT and KAFKA_CONTROLLER_PORT",
        answers=lambda: node_answers(node),
        address=node.address,
        workdir=settings.var_dir,
        prepare=prepare,
    )


def kafka_servers(settings: InfraSettings) -> list[JavaServer]:
    """The nodes of the configured mode as Java servers, node 1 first."""
    return [node_server(settings, node) for node in kafka_nodes(settings)]


def start_kafka(settings: InfraSettings) -> str:
    """Start every node that does not run (replacing hung ones); format storage the first
    time. Returns what it did."""
    started = start_servers(
        kafka_servers(settings), settings, together=lambda: cluster_answers(settings)
    )
    return started.summary("Kafka", f"Kafka {settings.kafka_version}", settings.bootstrap_servers)


def stop_kafka(settings: InfraSettings) -> list[str]:
    """Stop every node of either mode, all at once (one by one, the last of a cluster
    waits for a quorum that is gone). Returns the names of those that ran."""
    return stop_all(all_kafka_processes(settings))


def stop_broker(settings: InfraSettings, node_id: int, *, kill: bool = False) -> bool:
    """Stop one node: SIGTERM (controlled shutdown), or SIGKILL with ``kill``. False if it
    was not running. The others go on: with 3 nodes, 2 keep the quorum and the ISR."""
    process = kafka_node(settings, node_id).process
    return process.kill() if kill else process.stop()


def start_broker(settings: InfraSettings, node_id: int, *, wait: bool = True) -> bool:
    """Start one node again (and wait until it answers). False if it was running."""
    node = kafka_node(settings, node_id)
    if node.process.pid() is not None:
        return False
    server = node_server(settings, node)
    start_servers([server], settings, together=lambda: cluster_answers(settings), wait=wait)
    return True
