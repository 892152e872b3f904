"""Running the chart through Helm and kubeconform, as the tests need it.

Helm keeps its own configuration and caches in a folder of the test session, never in
the user's home; nothing here talks to a cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pizza_infra.k8s.chart import CHART_DIR
from pizza_infra.k8s.kube_schemas import KUBERNETES_VERSION
from pizza_infra.k8s.tools import Validators

RELEASE = "pizza"
Manifest = dict[str, Any]


@dataclass(frozen=True)
class Chart:
    validators: Validators
    helm_home: Path

    def helm(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "HELM_CACHE_HOME": str(self.helm_home / "cache"),
            "HELM_CONFIG_HOME": str(self.helm_home / "config"),
            "HELM_DATA_HOME": str(self.helm_home / "data"),
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            [str(self.validators.helm), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def template(self, *sets: str, values: Path | None = None) -> subprocess.CompletedProcess[str]:
        args = ["template", RELEASE, str(CHART_DIR), "--kube-version", KUBERNETES_VERSION]
        args += [part for item in sets for part in ("--set", item)]
        if values is not None:
            args += ["--values", str(values)]
        return self.helm(*args)

    def render(self, *sets: str, values: Path | None = None) -> list[Manifest]:
        result = self.template(*sets, values=values)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def kubeconform(self, manifests: str) -> subprocess.CompletedProcess[str]:
        locations = [
            part
            for where in self.validators.schema_locations
            for part in ("-schema-location", where)
        ]
        return subprocess.run(
            [
                str(self.validators.kubeconform),
                "-strict",
                "-summary",
                "-kubernetes-version",
                KUBERNETES_VERSION,
                *locations,
                "-",
            ],
            input=manifests,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def dump(manifests: Iterable[Manifest]) -> str:
    return yaml.safe_dump_all(list(manifests), sort_keys=False)


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: Iterable[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name]
    return found


def workloads(manifests: Iterable[Manifest]) -> dict[str, Manifest]:
    """Every Deployment, StatefulSet and Job by its name."""
    kinds = {"Deployment", "StatefulSet", "Job"}
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] in kinds}


def containers(workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]
