"""The Avro contracts, one file per topic.

The repository keeps them in its top-level ``schemas/`` folder; this package links to it
(``contracts/schemas``), so a built wheel carries them as package data and a container
needs no repository layout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException


def schemas_dir() -> Path:
    """``PIZZA_SCHEMAS_DIR`` if set (a contract under trial), else the shipped contracts."""
    configured = os.environ.get("PIZZA_SCHEMAS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent / "schemas"


def subject_for(topic: str) -> str:
    """Subject of a topic's record values under the topic-name strategy."""
    return f"{topic}-value"


def schema_path(topic: str, directory: Path | None = None) -> Path:
    return (directory or schemas_dir()) / f"{topic}.avsc"


class SchemaFileError(ValueError):
    """A schema file is missing, not JSON, or not an Avro record schema."""


def load_schema_text(topic: str, directory: Path | None = None) -> str:
    """The schema of ``topic`` as JSON text, checked to be an Avro record schema."""
    path = schema_path(topic, directory)
    try:
        text = path.read_text(encoding="utf-8")
        parsed: Any = json.loads(text)
        # Every event is a record; fastavro alone would accept a record without fields.
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            raise SchemaFileError("the top level must be a record")
        if not isinstance(parsed.get("fields"), list):
            raise SchemaFileError("a record needs a list of fields")
        fastavro.parse_schema(parsed)
    except (OSError, ValueError, SchemaParseException) as exc:
        raise SchemaFileError(f"the schema of {topic} ({path}) is not valid Avro: {exc}") from exc
    return text


def topics_with_schemas(directory: Path | None = None) -> list[str]:
    return sorted(p.name.removesuffix(".avsc") for p in (directory or schemas_dir()).glob("*.avsc"))
