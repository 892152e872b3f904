"""What the rendered chart promises: every service, secure and probed; Kafka's topics
equal to the contracts, its users' ACLs equal to the table; kitchen scaled on its lag
up to order.placed's partitions; and the whole of it valid against the real schemas of
Kubernetes, Strimzi and KEDA."""

from __future__ import annotations

from typing import Any

import pytest

from board_svc.settings import BoardSettings
from delivery_svc.settings import DeliverySettings
from kitchen_svc.settings import KitchenSettings
from order_svc.settings import OrderSettings
from payment_svc.settings import PaymentSettings
from pizza_common.contracts import (
    BOARD_PRINCIPAL,
    DLQ_REPLAYER_PRINCIPAL,
    KITCHEN_GROUP,
    ORDER_PLACED,
    TOPICS,
)
from pizza_common.runtime import ServiceSettings
from pizza_infra.k8s.chart import TOPICS_FILE, topics_document
from pizza_infra.servers.keycloak import REALM_FILE
from tests.k8s.acl_spec import EXPECTED, granted
from tests.k8s.chart import RELEASE, Chart, Manifest, containers, dump, named, of_kind, workloads

# The first test builds the tools on a fresh machine (Helm compiles for minutes).
pytestmark = [pytest.mark.k8s, pytest.mark.timeout(1200)]

SERVICES: dict[str, type[ServiceSettings]] = {
    "order": OrderSettings,
    "payment": PaymentSettings,
    "kitchen": KitchenSettings,
    "delivery": DeliverySettings,
}
# The only container whose root filesystem is writable, and why: Keycloak's start-dev
# rebuilds its Quarkus application under /opt/keycloak/lib at every start.
WRITABLE_ROOT = {f"{RELEASE}-keycloak"}
# Feature sets the chart must render valid in, beside the defaults.
VARIANTS = {
    "defaults": (),
    "Kafka without authentication": ("features.kafkaAuthentication=false",),
    "no operators, all SQLite": (
        "features.strimzi=false",
        "features.keda=false",
        "features.identityProvider=false",
        "features.tracing=false",
        "kafka.bootstrapServers=kafka:9092",
        *(f"services.{name}.replicas=1" for name in SERVICES),
        *(f"services.{name}.database.kind=sqlite" for name in SERVICES),
    ),
}


def test_topics_file_is_generated_from_the_contracts() -> None:
    assert TOPICS_FILE.read_text(encoding="utf-8") == topics_document(), (
        "infra/helm/pizza-platform/topics.yaml drifted from pizza_common.contracts: "
        "run `just chart-topics`"
    )


def test_helm_lint_passes(chart: Chart) -> None:
    result = chart.helm("lint", "--strict", str(TOPICS_FILE.parent))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rendered_chart_is_valid_against_the_schemas(chart: Chart, variant: str) -> None:
    manifests = chart.render(*VARIANTS[variant])
    result = chart.kubeconform(dump(manifests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Valid: {len(manifests)}, Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_service_runs_its_image_on_its_port_with_probes(
    rendered: list[Manifest], name: str
) -> None:
    workload = workloads(rendered)[f"{RELEASE}-{name}"]
    (container,) = containers(workload)
    port = SERVICES[name]().port
    assert container["image"].endswith(f"/pizza-{name}:0.1.0")
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    service = named(rendered, "Service", f"{RELEASE}-{name}")
    assert service["spec"]["ports"][0]["port"] == port
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert any(
        pdb["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        for pdb in of_kind(rendered, "PodDisruptionBudget")
    )


def test_payment_is_highly_available(rendered: list[Manifest]) -> None:
    payment = workloads(rendered)[f"{RELEASE}-payment"]
    assert payment["spec"]["replicas"] >= 2
    assert named(rendered, "PodDisruptionBudget", f"{RELEASE}-payment")["spec"] == {
        "minAvailable": 1,
        "selector": payment["spec"]["selector"],
    }


def test_kitchen_scales_on_its_lag_up_to_the_partitions(rendered: list[Manifest]) -> None:
    (scaled,) = of_kind(rendered, "ScaledObject")
    kitchen = workloads(rendered)[f"{RELEASE}-kitchen"]
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": kitchen["kind"],
        "name": kitchen["metadata"]["name"],
    }
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == KITCHEN_GROUP
    assert trigger["metadata"]["topic"] == ORDER_PLACED
    partitions = {t.name: t.partitions for t in TOPICS}[ORDER_PLACED]
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (1, partitions)
    assert "replicas" not in kitchen["spec"], "KEDA owns kitchen's replica count"


def test_kafka_is_a_three_node_kraft_cluster_with_scram_and_acls(rendered: list[Manifest]) -> None:
    (pool,) = of_kind(rendered, "KafkaNodePool")
    (kafka,) = of_kind(rendered, "Kafka")
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    config = kafka["spec"]["kafka"]["config"]
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == (3, 2)
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["authentication"] == {"type": "scram-sha-512"}


def test_kafka_topics_equal_the_contracts(rendered: list[Manifest]) -> None:
    topics = {
        t["spec"]["topicName"]: (
            t["spec"]["partitions"],
            t["spec"]["replicas"],
            t["spec"]["config"]["retention.ms"],
            t["spec"]["config"]["cleanup.policy"],
            t["spec"]["config"]["min.insync.replicas"],
        )
        for t in of_kind(rendered, "KafkaTopic")
    }
    assert topics == {
        t.name: (t.partitions, 3, str(t.retention_ms), t.cleanup_policy, "2") for t in TOPICS
    }


def test_kafka_users_have_exactly_the_acls_of_the_table(rendered: list[Manifest]) -> None:
    users = {u["metadata"]["name"]: u for u in of_kind(rendered, "KafkaUser")}
    assert {name: granted(user) for name, user in users.items()} == EXPECTED
    for user in users.values():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"


def _check_container(workload: Manifest, container: dict[str, Any]) -> None:
    name = workload["metadata"]["name"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is (name not in WRITABLE_ROOT)
    limits = container["resources"]["limits"]
    assert {"cpu", "memory"} <= set(limits) <= set(container["resources"]["requests"]) | set(limits)
    if workload["kind"] != "Job":  # a Job's container ends on its own
        assert {"livenessProbe", "readinessProbe"} <= set(container)


def test_the_board_runs_as_its_own_principal_and_client_with_probes(
    rendered: list[Manifest],
) -> None:
    workload = workloads(rendered)[f"{RELEASE}-board"]
    (container,) = containers(workload)
    port = BoardSettings().port
    assert (workload["kind"], workload["spec"]["replicas"]) == ("Deployment", 1)
    assert container["image"].endswith("/pizza-board:0.1.0")
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    env = {e["name"]: e for e in container["env"]}
    assert env["KAFKA_SASL_USERNAME"]["value"] == BOARD_PRINCIPAL
    assert env["BOARD_OAUTH_CLIENT_ID"]["value"] == "board"
    assert env["BOARD_OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == (
        "PIZZA_SECRET_BOARD"
    )
    assert env["BOARD_ORDER_URL"]["value"] == f"http://{RELEASE}-order:{OrderSettings().port}"
    assert env["BOARD_DELIVERY_URL"]["value"] == (
        f"http://{RELEASE}-delivery:{DeliverySettings().port}"
    )
    watched = env["BOARD_TARGETS"]["value"]
    for name, settings in SERVICES.items():
        assert f"http://{RELEASE}-{name}:{settings().port}" in watched
    service = named(rendered, "Service", f"{RELEASE}-board")
    assert service["spec"]["ports"][0]["port"] == port
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]


def test_no_pod_reaches_the_board_unless_allowed(chart: Chart, rendered: list[Manifest]) -> None:
    # It has no login and reads every order: only port-forward (and the kubelet) reach it.
    policy = named(rendered, "NetworkPolicy", f"{RELEASE}-board")
    selector = workloads(rendered)[f"{RELEASE}-board"]["spec"]["selector"]
    assert policy["spec"]["podSelector"] == selector
    assert (policy["spec"]["policyTypes"], policy["spec"]["ingress"]) == (["Ingress"], [])
    opened = chart.render("board.allowFrom[0].podSelector.matchLabels.app=prometheus")
    (rule,) = named(opened, "NetworkPolicy", f"{RELEASE}-board")["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app": "prometheus"}}}]


def _board_env(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    (container,) = containers(workloads(manifests)[f"{RELEASE}-board"])
    return {e["name"]: e for e in container["env"]}


def test_the_board_is_read_only_unless_replay_is_enabled(
    chart: Chart, rendered: list[Manifest]
) -> None:
    # By default it holds no credential that writes, and replay is off.
    assert not [name for name in _board_env(rendered) if name.startswith("BOARD_REPLAY")]
    env = _board_env(chart.render("board.replay.enabled=true"))
    assert env["BOARD_REPLAY_ENABLED"]["value"] == "true"
    assert env["BOARD_REPLAY_SASL_USERNAME"]["value"] == DLQ_REPLAYER_PRINCIPAL
    assert env["BOARD_REPLAY_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": DLQ_REPLAYER_PRINCIPAL,
        "key": "password",
    }
    # Each replay then needs an operator's dlq:replay token for the board.
    assert env["BOARD_AUTH_ISSUER"]["value"].endswith("/realms/pizza")
    assert env["BOARD_AUTH_AUDIENCE"]["value"] == "board"


def test_the_board_can_be_left_out(chart: Chart) -> None:
    manifests = chart.render("board.enabled=false")
    assert not [m for m in manifests if m["metadata"]["name"] == f"{RELEASE}-board"]


def test_every_container_is_non_root_read_only_limited_and_probed(
    rendered: list[Manifest],
) -> None:
    found = workloads(rendered)
    assert len(found) >= len(SERVICES) + 7  # + board, registry, keycloak, otel, jaeger, lag, setup
    for workload in found.values():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["automountServiceAccountToken"] is False
        for container in containers(workload):
            _check_container(workload, container)
        mounts = {m["mountPath"] for c in containers(workload) for m in c.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{workload['metadata']['name']}: no writable /tmp"


def test_a_sqlite_service_is_one_statefulset_replica_with_a_volume(
    rendered: list[Manifest],
) -> None:
    delivery = workloads(rendered)[f"{RELEASE}-delivery"]
    assert (delivery["kind"], delivery["spec"]["replicas"]) == ("StatefulSet", 1)
    (claim,) = delivery["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    env = {e["name"] for e in containers(delivery)[0]["env"]}
    assert "DELIVERY_DATABASE_URL" not in env


def test_postgresql_services_take_their_url_from_a_secret(rendered: list[Manifest]) -> None:
    for name in ("order", "payment", "kitchen"):
        (container,) = containers(workloads(rendered)[f"{RELEASE}-{name}"])
        (url,) = [e for e in container["env"] if e["name"] == f"{name.upper()}_DATABASE_URL"]
        assert url["valueFrom"]["secretKeyRef"]["key"] == "url"


def test_set_up_job_registers_the_schemas_as_a_hook(rendered: list[Manifest]) -> None:
    job = workloads(rendered)[f"{RELEASE}-setup"]
    assert "post-install" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert containers(job)[0]["command"] == ["pizza-ctl", "schemas-register"]


def test_realm_is_the_platform_realm_file(rendered: list[Manifest]) -> None:
    realm = named(rendered, "ConfigMap", f"{RELEASE}-keycloak-realm")
    assert realm["data"]["pizza-realm.json"].strip() == REALM_FILE.read_text("utf-8").strip()


def test_lag_exporter_is_scraped_by_annotation_or_service_monitor(chart: Chart) -> None:
    # The Prometheus operator's CRD is not among the checked schemas: its fields are
    # checked here, the rest of this rendering by the variants above.
    manifests = chart.render("lagExporter.serviceMonitor.enabled=true")
    exporter = workloads(manifests)[f"{RELEASE}-lag-exporter"]
    annotations = exporter["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"]) == (
        "true",
        "8090",
    )
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    service = named(manifests, "Service", f"{RELEASE}-lag-exporter")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_without_kafka_authentication_no_client_is_given_credentials(chart: Chart) -> None:
    manifests = chart.render("features.kafkaAuthentication=false")
    (kafka,) = of_kind(manifests, "Kafka")
    assert "authorization" not in kafka["spec"]["kafka"]
    assert all("authentication" not in lis for lis in kafka["spec"]["kafka"]["listeners"])
    assert not of_kind(manifests, "KafkaUser") + of_kind(manifests, "TriggerAuthentication")
    for workload in workloads(manifests).values():
        for container in containers(workload):
            names = {e["name"] for e in container.get("env", [])}
            assert not {n for n in names if "SASL" in n}, workload["metadata"]["name"]


def test_with_kafka_authentication_every_kafka_client_has_its_user(
    rendered: list[Manifest],
) -> None:
    users = {u["metadata"]["name"] for u in of_kind(rendered, "KafkaUser")}
    for workload in workloads(rendered).values():
        for container in containers(workload):
            env = {e["name"]: e for e in container.get("env", [])}
            if "KAFKA_BOOTSTRAP_SERVERS" not in env:
                continue
            user = env["KAFKA_SASL_USERNAME"]["value"]
            assert user in users
            assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": user,
                "key": "password",
            }
