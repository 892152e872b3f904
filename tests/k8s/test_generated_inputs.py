"""The chart's inputs that the project generates or converts, checked without any tool:
the topics file follows the contracts, and a CRD's openAPIV3Schema becomes a strict JSON
schema that still lets through what the CRD lets through."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pizza_common.contracts import TOPICS, Topic
from pizza_infra.k8s import chart
from pizza_infra.k8s.kube_schemas import _resource_schema, openapi_to_json_schema

pytestmark = pytest.mark.k8s


def test_topics_file_changes_with_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    committed = chart.TOPICS_FILE.read_text(encoding="utf-8")
    more = dataclasses.replace(TOPICS[0], partitions=TOPICS[0].partitions + 1)
    monkeypatch.setattr(chart, "TOPICS", (more, *TOPICS[1:]))
    assert chart.topics_document() != committed
    monkeypatch.setattr(chart, "TOPICS", (*TOPICS, Topic("audit", 1, 1000)))
    assert "name: audit" in chart.topics_document()


def test_write_topics_rewrites_only_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    assert chart.write_topics(path) is True
    assert chart.write_topics(path) is False
    assert path.read_text(encoding="utf-8") == chart.topics_document()


def test_crd_schema_becomes_strict_json_schema() -> None:
    crd = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {"x-kubernetes-int-or-string": True},
                    "note": {"type": "string", "nullable": True},
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {"type": "array", "items": {"type": "object", "properties": {}}},
                },
            }
        },
    }
    spec = openapi_to_json_schema(crd)["properties"]["spec"]
    assert spec["additionalProperties"] is False
    fields = spec["properties"]
    assert fields["port"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert fields["note"] == {"type": ["string", "null"]}
    assert "additionalProperties" not in fields["config"]  # the CRD lets anything through
    assert fields["labels"]["additionalProperties"] == {"type": "string"}
    assert fields["items"]["items"]["additionalProperties"] is False


def test_a_crd_schema_always_allows_the_fields_every_object_has() -> None:
    schema = _resource_schema({"type": "object", "properties": {"spec": {"type": "object"}}})
    assert {"apiVersion", "kind", "metadata", "spec"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
