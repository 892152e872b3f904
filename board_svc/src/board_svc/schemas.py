"""The schema registry's subjects and their versions, for the topics page (read-only)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from confluent_kafka.schema_registry.error import SchemaRegistryError

from pizza_common.kafka import SchemaRegistryClient


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    subject: str
    version: int
    schema_id: int
    schema: str


def _read(registry: SchemaRegistryClient) -> list[SchemaVersion]:
    found = []
    for subject in sorted(registry.get_subjects()):
        for version in registry.get_versions(subject):
            registered = registry.get_version(subject, version)
            found.append(
                SchemaVersion(
                    subject,
                    version,
                    registered.schema_id or 0,
                    registered.schema.schema_str or "",
                )
            )
    return found


async def schema_versions(registry: SchemaRegistryClient) -> tuple[list[SchemaVersion], str | None]:
    """Every subject's versions, or why the registry could not be read."""
    try:
        return await asyncio.to_thread(_read, registry), None
    except (SchemaRegistryError, OSError, ValueError) as exc:
        return [], str(exc)
    except Exception as exc:  # noqa: BLE001 - the HTTP library's errors: shown, never a 500
        return [], repr(exc)
