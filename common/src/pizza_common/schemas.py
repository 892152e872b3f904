"""The Avro contracts in the repository's ``schemas/`` folder, one file per topic."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import fastavro


def schemas_dir() -> Path:
    """``PIZZA_SCHEMAS_DIR`` if set, else the ``schemas/`` folder of this checkout."""
    configured = os.environ.get("PIZZA_SCHEMAS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "schemas"


def subject_for(topic: str) -> str:
    """Subject of a topic's record values under the topic-name strategy."""
    return f"{topic}-value"


def schema_path(topic: str, directory: Path | None = None) -> Path:
    return (directory or schemas_dir()) / f"{topic}.avsc"


def load_schema_text(topic: str, directory: Path | None = None) -> str:
    """The schema of ``topic`` as JSON text, checked to be valid Avro."""
    path = schema_path(topic, directory)
    text = path.read_text(encoding="utf-8")
    parsed: dict[str, Any] = json.loads(text)
    fastavro.parse_schema(parsed)
    return text


def topics_with_schemas(directory: Path | None = None) -> list[str]:
    return sorted(p.name.removesuffix(".avsc") for p in (directory or schemas_dir()).glob("*.avsc"))
