"""Registering the Avro contracts and checking changes against what is registered.

Subjects follow the topic-name strategy (``<topic>-value``) with BACKWARD_TRANSITIVE
compatibility: every new version must read data written with every earlier version. The
registry's global level is set to the same, so that a subject registered by anyone else
gets the same rule instead of the registry's default (none at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from pizza_common.contracts import (
    SchemaFileError,
    load_schema_text,
    subject_for,
    topics_with_schemas,
)
from pizza_infra.config import InfraError

COMPATIBILITY = "BACKWARD_TRANSITIVE"
NOT_FOUND_CODES = {40401, 40402}


@dataclass(frozen=True)
class Registered:
    subject: str
    schema_id: int
    version: int


def _local_schema(topic: str, directory: Path | None) -> Schema:
    try:
        return Schema(load_schema_text(topic, directory), "AVRO")
    except SchemaFileError as exc:
        raise InfraError(str(exc)) from exc


def register_all(client: SchemaRegistryClient, directory: Path | None = None) -> list[Registered]:
    """Register every schema file (idempotent: an unchanged schema keeps its id and version)."""
    registered = []
    client.set_compatibility(level=COMPATIBILITY)
    for topic in topics_with_schemas(directory):
        subject = subject_for(topic)
        schema = _local_schema(topic, directory)
        client.set_compatibility(subject, COMPATIBILITY)
        try:
            client.register_schema(subject, schema)
        except SchemaRegistryError as exc:
            raise InfraError(f"{subject}: the registry refused the schema: {exc}") from exc
        found = client.lookup_schema(subject, schema)
        assert found.schema_id is not None
        assert found.version is not None
        registered.append(Registered(subject, found.schema_id, found.version))
    return registered


@dataclass(frozen=True)
class CheckResult:
    subject: str
    verdict: str  # "unchanged", "new subject", "compatible" or "INCOMPATIBLE"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict != "INCOMPATIBLE"


def check_all(client: SchemaRegistryClient, directory: Path | None = None) -> list[CheckResult]:
    """Check each schema file against every registered version of its subject."""
    results = []
    for topic in topics_with_schemas(directory):
        subject = subject_for(topic)
        schema = _local_schema(topic, directory)
        try:
            versions = client.get_versions(subject)
        except SchemaRegistryError as exc:
            if exc.error_code in NOT_FOUND_CODES or exc.http_status_code == 404:
                results.append(CheckResult(subject, "new subject"))
                continue
            raise
        if _is_registered(client, subject, schema):
            results.append(CheckResult(subject, "unchanged"))
            continue
        try:
            broken = [v for v in versions if not client.test_compatibility(subject, schema, v)]
        except SchemaRegistryError as exc:
            raise InfraError(f"{subject}: the registry refused the schema: {exc}") from exc
        if broken:
            results.append(
                CheckResult(
                    subject,
                    "INCOMPATIBLE",
                    f"cannot read data written with version(s) {', '.join(map(str, broken))}",
                )
            )
        else:
            results.append(CheckResult(subject, "compatible"))
    return results


def _is_registered(client: SchemaRegistryClient, subject: str, schema: Schema) -> bool:
    try:
        client.lookup_schema(subject, schema)
    except SchemaRegistryError:
        return False
    return True
