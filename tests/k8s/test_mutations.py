"""The checks must reject what is broken: each case breaks one value or one field of
the rendered chart, and Helm (values.schema.json, the templates' own checks) or
kubeconform (the real schemas, strictly) must refuse it. A check that passes everything
would pass these by mistake, so these keep the other tests honest."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.k8s.acl_spec import EXPECTED, granted
from tests.k8s.chart import RELEASE, Chart, Manifest, dump, named, of_kind, workloads

# The first test builds the tools on a fresh machine (Helm compiles for minutes).
pytestmark = [pytest.mark.k8s, pytest.mark.timeout(1200)]

# --set values Helm must refuse, and a word of its complaint.
BROKEN_VALUES = {
    "a number as text": ("services.payment.replicas=two", "want integer"),
    "a misspelled key": ("services.order.replcas=3", "additional properties"),
    "an unknown ACL operation": (
        "kafka.users.order-svc.acls[0].operations[0]=Wrtie",
        "operations/0",
    ),
    "an unknown database": ("services.order.database.kind=mysql", "database/kind"),
    "SQLite with two replicas": ("services.payment.database.kind=sqlite", "SQLite holds"),
    "no Kafka at all": ("features.strimzi=false", "kafka.bootstrapServers"),
}


@pytest.mark.parametrize("case", list(BROKEN_VALUES))
def test_helm_refuses_broken_values(chart: Chart, case: str) -> None:
    setting, complaint = BROKEN_VALUES[case]
    result = chart.template(setting)
    assert result.returncode != 0, f"{case} was rendered"
    assert complaint in result.stderr, result.stderr


def test_helm_refuses_a_wrongly_typed_values_file(chart: Chart, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("kitchenScaling:\n  lagThreshold: [5]\n", encoding="utf-8")
    result = chart.template(values=values)
    assert result.returncode != 0
    assert "kitchenScaling/lagThreshold" in result.stderr


def _workload(name: str) -> Callable[[list[Manifest]], Manifest]:
    def find(manifests: list[Manifest]) -> Manifest:
        return workloads(manifests)[f"{RELEASE}-{name}"]

    return find


def _misspell_probe(manifests: list[Manifest]) -> Manifest:
    broken = _workload("order")(manifests)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    return broken


def _string_replicas(manifests: list[Manifest]) -> Manifest:
    broken = _workload("payment")(manifests)
    broken["spec"]["replicas"] = "2"
    return broken


def _unknown_security_field(manifests: list[Manifest]) -> Manifest:
    broken = _workload("kitchen")(manifests)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesytem"] = True
    return broken


def _topic_partitions_as_text(manifests: list[Manifest]) -> Manifest:
    broken = of_kind(manifests, "KafkaTopic")[0]
    broken["spec"]["partitions"] = "six"
    return broken


def _acl_operation_misspelled(manifests: list[Manifest]) -> Manifest:
    broken = named(manifests, "KafkaUser", "order-svc")
    broken["spec"]["authorization"]["acls"][0]["operations"] = ["Wrtie"]
    return broken


def _listener_auth_unknown(manifests: list[Manifest]) -> Manifest:
    (broken,) = of_kind(manifests, "Kafka")
    broken["spec"]["kafka"]["listeners"][0]["authentication"]["type"] = "scram-sha-256"
    return broken


def _scaled_object_field_misspelled(manifests: list[Manifest]) -> Manifest:
    (broken,) = of_kind(manifests, "ScaledObject")
    broken["spec"]["maxReplicasCount"] = broken["spec"].pop("maxReplicaCount")
    return broken


def _node_pool_without_roles(manifests: list[Manifest]) -> Manifest:
    (broken,) = of_kind(manifests, "KafkaNodePool")
    del broken["spec"]["roles"]
    return broken


# Each breaks one manifest and returns it (alone it is quicker to check than the chart).
BROKEN_MANIFESTS: dict[str, Callable[[list[Manifest]], Manifest]] = {
    "misspelled probe (Deployment)": _misspell_probe,
    "replicas as text (Deployment)": _string_replicas,
    "unknown securityContext field (StatefulSet)": _unknown_security_field,
    "partitions as text (KafkaTopic)": _topic_partitions_as_text,
    "unknown ACL operation (KafkaUser)": _acl_operation_misspelled,
    "unknown listener authentication (Kafka)": _listener_auth_unknown,
    "misspelled maxReplicaCount (ScaledObject)": _scaled_object_field_misspelled,
    "missing required roles (KafkaNodePool)": _node_pool_without_roles,
}


@pytest.mark.parametrize("case", list(BROKEN_MANIFESTS))
def test_kubeconform_refuses_broken_manifests(
    chart: Chart, rendered: list[Manifest], case: str
) -> None:
    broken = BROKEN_MANIFESTS[case](copy.deepcopy(rendered))
    result = chart.kubeconform(dump([broken]))
    assert result.returncode != 0, f"{case} passed kubeconform"
    assert "Valid: 0, Invalid: 1, Errors: 0" in result.stdout, result.stdout


def test_an_acl_beyond_the_table_is_caught(chart: Chart, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "kafka:\n  users:\n    order-svc:\n      acls:\n"
        "        - resource: {type: topic, name: order.placed}\n"
        "          operations: [Write, Describe, Read]\n",
        encoding="utf-8",
    )
    manifests = chart.render(values=values)
    found = {u["metadata"]["name"]: granted(u) for u in of_kind(manifests, "KafkaUser")}
    assert found != EXPECTED
    assert found["order-svc"] != EXPECTED["order-svc"]
