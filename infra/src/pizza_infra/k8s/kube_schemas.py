"""The JSON schemas kubeconform checks the rendered chart against, all on local disk.

Kubernetes' own come from the ``kubernetes-validate`` package (a dev dependency), whose
files name each other by absolute ``$id``/``$ref`` URLs that kubeconform would try to
download: here they are rewritten to refer to the file beside them. The CRDs' schemas
(Strimzi, KEDA) are converted from each served version's ``openAPIV3Schema`` into
kubeconform's ``{group}/{kind}_{version}.json`` layout, strict like Kubernetes' own:
an unknown field is an error unless the CRD lets unknown fields through.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from pizza_infra.config import InfraError

KUBERNETES_VERSION = "1.35.0"
# Raise when the conversion below changes: the cached folders are then built anew.
FORMAT = 2
DEFINITIONS = "_definitions.json"
_ABSOLUTE_DEFINITIONS = f"/api/{DEFINITIONS}#"
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"


def _kubernetes_validate() -> tuple[Path, str]:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        raise InfraError("kubernetes-validate is missing: run `uv sync` (a dev dependency)")
    return Path(spec.origin).parent, importlib.metadata.version("kubernetes-validate")


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace(_ABSOLUTE_DEFINITIONS, f"{DEFINITIONS}#", 1)
                if key == "$ref" and isinstance(value, str)
                else _local_refs(value)
            )
            for key, value in node.items()
            if key != "$id"
        }
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def openapi_to_json_schema(node: Any) -> Any:
    """One CRD version's ``openAPIV3Schema`` as a strict JSON schema."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: openapi_to_json_schema(value)
        for key, value in node.items()
        if key not in {"nullable", INT_OR_STRING}
    }
    if node.get(INT_OR_STRING):
        converted.pop("type", None)
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    if "properties" in node and "additionalProperties" not in node and not node.get(PRESERVE):
        converted["additionalProperties"] = False
    return converted


def _resource_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    # A CRD need not declare the fields every object has; strict, they must be allowed.
    schema: dict[str, Any] = openapi_to_json_schema(openapi)
    fields = schema.setdefault("properties", {})
    fields.setdefault("apiVersion", {"type": "string"})
    fields.setdefault("kind", {"type": "string"})
    fields.setdefault("metadata", {"type": "object"})
    return schema


def _write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def _kubernetes_schemas(target: Path) -> None:
    package, _ = _kubernetes_validate()
    source = package / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    if not source.is_dir():
        raise InfraError(f"kubernetes-validate has no schemas for Kubernetes {KUBERNETES_VERSION}")
    for file in source.glob("*.json"):
        _write_json(target / file.name, _local_refs(json.loads(file.read_text("utf-8"))))


def _crd_schemas(crd_files: Iterable[Path], target: Path) -> None:
    for file in crd_files:
        for crd in yaml.safe_load_all(file.read_text("utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            kind = spec["names"]["kind"].lower()
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema is not None:
                    name = f"{kind}_{version['name']}.json"
                    _write_json(target / spec["group"] / name, _resource_schema(schema))


def schema_locations(root: Path, crd_files: Iterable[Path], crd_versions: str) -> list[str]:
    """kubeconform's ``-schema-location`` templates for Kubernetes and the CRDs.

    The folder is built once per set of versions (its name says which, ``crd_versions``
    naming the CRDs' sources) and reused.
    """
    _, kv_version = _kubernetes_validate()
    name = f"v{FORMAT}-k{KUBERNETES_VERSION}-kv{kv_version}-{crd_versions}"
    target = root / "schemas" / name
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as staging:
            built = Path(staging) / "schemas"
            _kubernetes_schemas(built / "kubernetes")
            _crd_schemas(crd_files, built / "crds")
            try:
                built.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
    kinds = "{{ .ResourceKind }}"
    return [
        f"{target / 'kubernetes'}/{kinds}{{{{ .KindSuffix }}}}.json",
        f"{target / 'crds'}/{{{{ .Group }}}}/{kinds}_{{{{ .ResourceAPIVersion }}}}.json",
    ]
