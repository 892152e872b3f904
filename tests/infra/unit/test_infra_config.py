"""Topic declarations and Java discovery, without starting anything."""

from __future__ import annotations

import json
import os
import socket
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from pizza_common.contracts import (
    DLQ_REPLAYER_PRINCIPAL,
    ORDER_PLACED,
    ORDER_READY,
    PRINCIPALS,
    TOPICS,
    dead_letter_topic,
)
from pizza_infra.admin.topics import load_topics
from pizza_infra.config import InfraError, InfraSettings
from pizza_infra.identity import CLIENTS, placeholder, secret_file
from pizza_infra.kafka_access import SERVICE_PRINCIPALS, java_client_properties
from pizza_infra.servers.java import find_java
from pizza_infra.servers.java_server import Started, start_servers
from pizza_infra.servers.kafka import kafka_nodes, kafka_servers, server_properties
from pizza_infra.servers.keycloak import (
    REALM_FILE,
    admin_hint,
    dev_build_cache,
    keycloak_server,
    server_options,
)
from pizza_infra.servers.registry import registry_server
from pizza_infra.servers.stack import statuses
from pizza_infra.servers.zipkin import zipkin_server
from pizza_infra.supervisor.platform import circus_ini
from pizza_infra.supervisor.services import MAX_KITCHENS, PlatformSettings


def test_event_topics_have_six_partitions_and_dead_letter_topics() -> None:
    specs = {spec.name: spec for spec in load_topics(InfraSettings())}
    for topic in (ORDER_PLACED, ORDER_READY):
        assert specs[topic].partitions == 6
        assert dead_letter_topic(topic) in specs


def test_no_more_kitchens_than_order_placed_has_partitions() -> None:
    partitions = {topic.name: topic.partitions for topic in TOPICS}[ORDER_PLACED]
    assert partitions == MAX_KITCHENS
    assert PlatformSettings(kitchens=partitions).kitchens == partitions
    with pytest.raises(ValueError, match="kitchens"):
        PlatformSettings(kitchens=partitions + 1)


def test_replication_follows_the_number_of_kafka_nodes() -> None:
    single = load_topics(InfraSettings(kafka_nodes=1))
    assert {(s.replication_factor, s.config["min.insync.replicas"]) for s in single} == {(1, "1")}
    cluster = load_topics(InfraSettings(kafka_nodes=3))
    assert {(s.replication_factor, s.config["min.insync.replicas"]) for s in cluster} == {(3, "2")}


def test_replication_factor_can_be_overridden_for_a_cluster_elsewhere() -> None:
    specs = load_topics(InfraSettings(topic_replication_factor=3))
    assert {spec.replication_factor for spec in specs} == {3}


def test_the_applied_topics_are_the_declared_ones() -> None:
    specs = load_topics(InfraSettings())
    assert [(s.name, s.partitions, s.retention_ms, s.cleanup_policy) for s in specs] == [
        (t.name, t.partitions, t.retention_ms, t.cleanup_policy) for t in TOPICS
    ]


def test_a_missing_java_is_one_clear_sentence() -> None:
    with pytest.raises(InfraError, match=r"needs Java 999 or newer.*Install a JDK 999\+"):
        find_java(999, "A future server")


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_broker_listens_on_loopback_only(tmp_path: Path) -> None:
    settings = InfraSettings(kafka_port=1234, var_dir=tmp_path)
    [node] = kafka_nodes(settings)
    props = _properties(server_properties(settings, node))
    assert props["listeners"] == "BROKER://127.0.0.1:1234,CONTROLLER://127.0.0.1:9093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert node.process.pid_file.name == "kafka.pid"  # the single node keeps its old names


def test_three_nodes_form_one_quorum_with_their_own_ports_and_files(tmp_path: Path) -> None:
    settings = InfraSettings(
        kafka_nodes=3, kafka_port=1000, kafka_controller_port=1001, var_dir=tmp_path
    )
    nodes = kafka_nodes(settings)
    assert [(n.broker_port, n.controller_port) for n in nodes] == [
        (1000, 1001),
        (1002, 1003),
        (1004, 1005),
    ]
    assert len({n.data_dir for n in nodes} | {n.process.pid_file for n in nodes}) == 6
    assert len({n.process.log_file for n in nodes}) == 3
    assert settings.bootstrap_servers == "127.0.0.1:1000,127.0.0.1:1002,127.0.0.1:1004"
    props = _properties(server_properties(settings, nodes[1]))
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:1001,2@127.0.0.1:1003,3@127.0.0.1:1005"
    )
    assert props["listeners"] == "BROKER://127.0.0.1:1002,CONTROLLER://127.0.0.1:1003"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in ("min.insync.replicas", "transaction.state.log.min.isr"):
        assert props[key] == "2", key


def test_broker_requires_sasl_and_denies_what_no_acl_allows(tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path)
    [node] = kafka_nodes(settings)
    props = _properties(server_properties(settings, node))
    assert props["listener.security.protocol.map"] == (
        "BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["listener.name.broker.sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"
    # SCRAM cannot authenticate the nodes to the controllers: they hold its credentials.
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:broker;User:admin"
    # PLAIN knows only the super users; the services' passwords are never in the file.
    admin = (tmp_path / "secrets" / "kafka-admin.secret").read_text()
    assert f'user_admin="{admin}"' in props["listener.name.broker.plain.sasl.jaas.config"]
    assert "user_admin" not in props["listener.name.controller.plain.sasl.jaas.config"]
    assert not (tmp_path / "secrets" / "kafka-order-svc.secret").exists()


def test_each_service_gets_its_own_kafka_principal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = InfraSettings(var_dir=tmp_path)
    ini = circus_ini(PlatformSettings(), settings)

    def env(service: str) -> str:
        return ini.split(f"[env:{service}]")[1].split("\n[")[0]

    for service, principal in SERVICE_PRINCIPALS.items():
        secret = (tmp_path / "secrets" / f"kafka-{principal}.secret").read_text()
        assert f"KAFKA_SASL_USERNAME = {principal}" in env(service)
        assert f"KAFKA_SASL_PASSWORD = {secret}" in env(service)
    assert "KAFKA_SASL" not in env("payment")  # payment speaks HTTP only
    # The board's too, and the principal its replays of dead letters write as.
    assert sorted([*SERVICE_PRINCIPALS.values(), DLQ_REPLAYER_PRINCIPAL]) == sorted(PRINCIPALS)
    replayer = (tmp_path / "secrets" / f"kafka-{DLQ_REPLAYER_PRINCIPAL}.secret").read_text()
    assert f"BOARD_REPLAY_SASL_USERNAME = {DLQ_REPLAYER_PRINCIPAL}" in env("board")
    assert f"BOARD_REPLAY_SASL_PASSWORD = {replayer}" in env("board")
    assert "BOARD_REPLAY_ENABLED" not in env("board")  # read-only unless asked


def test_order_svc_is_pointed_at_the_payment_port_in_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ORDER_PAYMENT_URL", raising=False)
    ini = circus_ini(
        PlatformSettings(payment_port=28002, kitchens=2), InfraSettings(var_dir=tmp_path)
    )
    order_env = ini.split("[env:order]")[1].split("[")[0]
    assert "ORDER_PAYMENT_URL = http://127.0.0.1:28002" in order_env
    assert "numprocesses = 2" in ini.split("[watcher:kitchen]")[1].split("[")[0]
    assert "$(circus.wid)" in ini


def test_payment_instances_share_one_socket_that_lives_with_the_watcher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ORDER_PAYMENT_URL", raising=False)
    platform = PlatformSettings(payment_port=28002, payment_instance_port=28021, payments=3)
    ini = circus_ini(platform, InfraSettings(var_dir=tmp_path))
    socket = ini.split("[socket:payment]")[1].split("[")[0]
    assert "host = 127.0.0.1" in socket
    assert "port = 28002" in socket
    watcher = ini.split("[watcher:payment]")[1].split("\n[")[0]
    assert "--fd $(circus.sockets.payment)" in watcher
    assert "numprocesses = 3" in watcher
    assert "use_sockets = True" in watcher
    assert "hooks.after_stop = pizza_infra.supervisor.circus_hooks.close" in watcher
    assert [platform.port("payment", n) for n in (1, 2)] == [28021, 28022]
    order_env = ini.split("[env:order]")[1].split("[")[0]
    assert "ORDER_PAYMENT_URL = http://127.0.0.1:28002" in order_env


def test_services_are_given_every_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = InfraSettings(var_dir=tmp_path, kafka_nodes=3, kafka_port=1000)
    ini = circus_ini(PlatformSettings(), settings)
    delivery_env = ini.split("[env:delivery]")[1].split("[")[0]
    assert "KAFKA_BOOTSTRAP_SERVERS = 127.0.0.1:1000,127.0.0.1:1002,127.0.0.1:1004" in delivery_env


def test_every_java_server_runs_with_its_marker_after_the_jvm_options(tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path)
    for server in (
        *kafka_servers(settings),
        registry_server(settings),
        zipkin_server(settings),
        keycloak_server(settings),
    ):
        command = server.command(Path("/jdk/bin/java"), tmp_path / "artifact")
        marker = command.index(server.process.marker)
        assert command[0] == "/jdk/bin/java"
        assert command[1:marker] == list(server.jvm_options)
        assert command[marker + 1] in ("-jar", "-cp")
        assert all(port > 0 for port in server.ports)


def test_a_kafka_cluster_is_one_server_per_node_each_with_its_own_ports(tmp_path: Path) -> None:
    servers = kafka_servers(InfraSettings(var_dir=tmp_path, kafka_nodes=3))
    assert [s.name for s in servers] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [s.ports for s in servers] == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert servers[1].main(Path("/libs"))[-1].endswith("kafka-2-server.properties")


def test_what_starting_servers_did_is_said_in_one_line() -> None:
    nothing = Started(started=[], replaced=[], count=1)
    assert nothing.summary("Zipkin", "Zipkin 3", "URL") == "Zipkin already running on URL"
    hung = Started(started=[], replaced=["zipkin"], count=1)
    assert hung.summary("Zipkin", "Zipkin 3", "URL") == "Zipkin 3 replaced a hung Zipkin on URL"
    fresh = Started(started=["registry"], replaced=[], count=1)
    assert fresh.summary("registry", "Apicurio 3", "URL") == "Apicurio 3 started on URL"
    one_of_three = Started(started=["kafka-2"], replaced=[], count=3)
    assert one_of_three.summary("Kafka", "Kafka 4", "B") == "Kafka 4 on B: started kafka-2"
    replaced = Started(started=[], replaced=["kafka-1"], count=3)
    assert replaced.summary("Kafka", "Kafka 4", "B") == (
        "Kafka 4 on B: replaced kafka-1, which ran but did not answer"
    )


def test_a_taken_port_is_one_clear_sentence_before_anything_is_fetched(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = InfraSettings(var_dir=tmp_path, zipkin_port=port)
        server = replace(zipkin_server(settings), fetch=_never)
        with pytest.raises(InfraError, match=rf"port {port} \(zipkin\) is taken.*ZIPKIN_PORT"):
            start_servers([server], settings)


def _never() -> Path:
    raise AssertionError("fetched although the port is taken")


def test_keycloak_runs_in_dev_mode_on_loopback_with_a_bounded_heap(tmp_path: Path) -> None:
    settings = InfraSettings(
        var_dir=tmp_path, keycloak_port=1180, keycloak_management_port=1190, keycloak_heap="300m"
    )
    server = keycloak_server(settings)
    assert server.ports == (1180, 1190)
    assert server.address == "http://127.0.0.1:1180"
    assert server.min_java == 21
    assert "-Xmx300m" in server.jvm_options
    assert f"-Dkc.home.dir={tmp_path / 'data' / 'keycloak'}" in server.jvm_options
    command = server.command(Path("/jdk/bin/java"), tmp_path / "dist")
    options = command[command.index("start-dev") :]
    assert options == server_options(settings)
    for option in (
        "--http-host=127.0.0.1",
        "--http-port=1180",
        "--http-management-host=127.0.0.1",
        "--http-management-port=1190",
        "--health-enabled=true",
        "--import-realm",
    ):
        assert option in options
    assert not server.env  # the secrets come only when it starts: see the next test
    assert not (tmp_path / "secrets").exists()


def test_keycloak_secrets_are_generated_once_into_var_and_private(tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path)
    secret_env = keycloak_server(settings).secret_env
    assert secret_env is not None
    first, again = secret_env(), secret_env()
    assert first == again
    assert first["KC_BOOTSTRAP_ADMIN_USERNAME"] == "admin"
    assert len(first["KC_BOOTSTRAP_ADMIN_PASSWORD"]) >= 32
    assert {placeholder(client) for client in CLIENTS} <= set(first)
    assert len(set(first.values())) == len(first)  # each secret its own
    for client in CLIENTS:
        mode = stat.S_IMODE(os.stat(secret_file(settings, client)).st_mode)
        assert mode == 0o600, client


def test_the_realm_file_names_every_client_secret_as_a_placeholder_only() -> None:
    realm = json.loads(REALM_FILE.read_text())
    assert realm["realm"] == "pizza"
    assert realm["accessTokenLifespan"] == 300
    clients = {c["clientId"]: c for c in realm["clients"]}
    assert set(clients) == {*CLIENTS, "payment-svc"}
    assert clients["payment-svc"]["bearerOnly"] is True
    for name in CLIENTS:
        client = clients[name]
        assert client["secret"] == f"${{{placeholder(name)}}}"
        assert client["serviceAccountsEnabled"] is True
        assert not client["standardFlowEnabled"]
        assert not client["directAccessGrantsEnabled"]


def test_services_get_their_own_client_and_payment_the_issuer_it_trusts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "ORDER_OAUTH_CLIENT_ID",
        "ORDER_OAUTH_CLIENT_SECRET",
        "ORDER_OAUTH_TOKEN_URL",
        "BOARD_OAUTH_CLIENT_ID",
        "BOARD_OAUTH_CLIENT_SECRET",
        "BOARD_OAUTH_TOKEN_URL",
        "PAYMENT_AUTH_ISSUER",
        "PAYMENT_AUTH_AUDIENCE",
        "ORDER_AUTH_ISSUER",
        "ORDER_AUTH_AUDIENCE",
        "DELIVERY_AUTH_ISSUER",
        "DELIVERY_AUTH_AUDIENCE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = InfraSettings(var_dir=tmp_path, keycloak_port=1180, keycloak_enabled=True)
    ini = circus_ini(PlatformSettings(), settings)
    order_env = ini.split("[env:order]")[1].split("[")[0]
    assert "ORDER_OAUTH_CLIENT_ID = order-svc" in order_env
    secret = secret_file(settings, "order-svc").read_text()
    assert f"ORDER_OAUTH_CLIENT_SECRET = {secret}" in order_env
    token_url = "http://127.0.0.1:1180/realms/pizza/protocol/openid-connect/token"
    assert f"ORDER_OAUTH_TOKEN_URL = {token_url}" in order_env
    monitor_env = ini.split("[env:monitor]")[1].split("[")[0]
    assert "LAG_EXPORTER_OAUTH_CLIENT_ID = lag-exporter" in monitor_env
    payment_env = ini.split("[env:payment]")[1].split("[")[0]
    assert "OAUTH" not in payment_env  # a resource, no client
    assert "PAYMENT_AUTH_ISSUER = http://127.0.0.1:1180/realms/pizza" in payment_env
    assert "PAYMENT_AUTH_AUDIENCE = payment-svc" in payment_env
    # Order and delivery check the operator's orders:read tokens, each as its own audience.
    issuer = "http://127.0.0.1:1180/realms/pizza"
    assert f"ORDER_AUTH_ISSUER = {issuer}" in order_env
    assert "ORDER_AUTH_AUDIENCE = order-svc" in order_env
    delivery_env = ini.split("[env:delivery]")[1].split("[")[0]
    assert f"DELIVERY_AUTH_ISSUER = {issuer}" in delivery_env
    assert "DELIVERY_AUTH_AUDIENCE = delivery-svc" in delivery_env
    # The board reads any order for operators with its own client's orders:read tokens,
    # and checks the operator's dlq:replay tokens (its audience) for replays.
    board_env = ini.split("[env:board]")[1].split("\n[")[0]
    assert "BOARD_OAUTH_CLIENT_ID = board" in board_env
    assert f"BOARD_OAUTH_CLIENT_SECRET = {secret_file(settings, 'board').read_text()}" in board_env
    assert f"BOARD_OAUTH_TOKEN_URL = {token_url}" in board_env
    assert f"BOARD_AUTH_ISSUER = {issuer}" in board_env
    assert "BOARD_AUTH_AUDIENCE = board" in board_env


def test_without_keycloak_no_service_sends_or_checks_tokens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "ORDER_OAUTH_TOKEN_URL",
        "BOARD_OAUTH_TOKEN_URL",
        "PAYMENT_AUTH_ISSUER",
        "ORDER_AUTH_ISSUER",
        "DELIVERY_AUTH_ISSUER",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = InfraSettings(var_dir=tmp_path, keycloak_enabled=False)
    ini = circus_ini(PlatformSettings(), settings)
    assert "OAUTH" not in ini
    assert "AUTH_ISSUER" not in ini
    # No client secret made either (Kafka's passwords are, Kafka always authenticates).
    made = {path.name for path in (tmp_path / "secrets").iterdir()}
    assert made
    assert all(name.startswith("kafka-") for name in made)


def test_up_says_where_the_console_is_and_where_its_password_is(tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path, keycloak_port=1180)
    hint = admin_hint(settings)
    assert hint.startswith("http://127.0.0.1:1180/admin/master/console/#/pizza")
    assert str(tmp_path / "secrets" / "keycloak-admin.secret") in hint
    assert not (tmp_path / "secrets").exists()  # said, not made


def test_the_development_build_is_cached_per_version_and_build_options(tmp_path: Path) -> None:
    settings = InfraSettings(var_dir=tmp_path)
    cached = dev_build_cache(settings, tmp_path / "keycloak-26.7.3")
    assert cached.parent == settings.cache_dir
    assert cached.name.startswith("keycloak-26.7.3-dev-")


def test_a_disabled_keycloak_is_not_listed(tmp_path: Path) -> None:
    listed = [s.name for s in statuses(InfraSettings(var_dir=tmp_path, keycloak_enabled=False))]
    assert "keycloak" not in listed
    assert "keycloak" in [s.name for s in statuses(InfraSettings(var_dir=tmp_path))]


def test_kafkas_own_tools_get_the_admins_credentials_in_a_private_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    path = java_client_properties(InfraSettings(var_dir=tmp_path, kafka_bootstrap_servers=None))
    props = _properties(path.read_text())
    admin = (tmp_path / "secrets" / "kafka-admin.secret").read_text()
    assert props["security.protocol"] == "SASL_PLAINTEXT"
    assert props["sasl.mechanism"] == "PLAIN"
    assert props["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="admin" password="{admin}";'
    )
    assert path.stat().st_mode & 0o777 == 0o600


def test_zipkin_collects_no_spans_from_kafka(tmp_path: Path) -> None:
    # An inherited KAFKA_BOOTSTRAP_SERVERS would start Zipkin's Kafka collector, which
    # cannot authenticate: Zipkin would then never report healthy.
    assert zipkin_server(InfraSettings(var_dir=tmp_path)).env["KAFKA_BOOTSTRAP_SERVERS"] == ""
