"""`just schemas-check` refuses incompatible changes and lets compatible ones through."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from pizza_common.contracts import schemas_dir
from pizza_infra.config import InfraSettings
from tests import REPO_ROOT
from tests.conftest import infra_env

pytestmark = pytest.mark.integration


def _changed_schemas(tmp_path: Path, change: dict[str, Any]) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), folder)
    path = folder / "order.placed.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append(change)
    path.write_text(json.dumps(schema, indent=2))
    return folder


def _check(infra: InfraSettings, folder: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = ["just", "schemas-check"] + (["--schemas-dir", str(folder)] if folder else [])
    return subprocess.run(args, env=infra_env(infra), capture_output=True, text=True, check=False)


def test_registered_schemas_are_unchanged(infra: InfraSettings) -> None:
    result = _check(infra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("unchanged") == 2


def test_a_new_required_field_is_refused(infra: InfraSettings, tmp_path: Path) -> None:
    folder = _changed_schemas(tmp_path, {"name": "coupon", "type": "string"})
    result = _check(infra, folder)
    assert result.returncode == 1
    assert "order.placed-value     INCOMPATIBLE" in result.stdout
    assert "order.ready-value      unchanged" in result.stdout


def test_a_new_optional_field_with_default_passes(infra: InfraSettings, tmp_path: Path) -> None:
    folder = _changed_schemas(
        tmp_path, {"name": "coupon", "type": ["null", "string"], "default": None}
    )
    result = _check(infra, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "order.placed-value     compatible" in result.stdout


def test_subjects_use_backward_transitive_compatibility(registry: SchemaRegistryClient) -> None:
    assert registry.get_compatibility() == "BACKWARD_TRANSITIVE"  # the registry's global level
    for subject in ("order.placed-value", "order.ready-value"):
        assert registry.get_compatibility(subject) == "BACKWARD_TRANSITIVE"


@pytest.mark.parametrize(
    "broken",
    [
        '{"type": "record", "name": "X"}',
        '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}',
        '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int", "default": "1"}]}',
        "not json",
    ],
)
def test_an_invalid_schema_file_is_one_clear_error(
    infra: InfraSettings, tmp_path: Path, broken: str
) -> None:
    folder = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), folder)
    (folder / "order.ready.avsc").write_text(broken)
    result = _check(infra, folder)
    assert result.returncode == 1
    assert "error: the schema of order.ready" in result.stderr
    assert "is not valid Avro" in result.stderr
    assert "Traceback" not in result.stderr


def _versions_in_history(path: str) -> list[str]:
    """Every committed version of a schema file, oldest first."""
    commits = subprocess.run(
        ["git", "log", "--reverse", "--format=%H", "--", path],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    shown = (
        subprocess.run(
            ["git", "show", f"{commit}:{path}"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for commit in commits
    )
    return list(dict.fromkeys(json.dumps(json.loads(text), sort_keys=True) for text in shown))


def test_order_placed_reads_every_earlier_version(registry: SchemaRegistryClient) -> None:
    """BACKWARD_TRANSITIVE against every version ever committed: a subject of its own
    takes them oldest first, then the current file (a refusal raises)."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the repository's history")
    subject = f"history-{uuid.uuid4().hex[:8]}-order.placed-value"
    registry.set_compatibility(subject_name=subject, level="BACKWARD_TRANSITIVE")
    earlier = _versions_in_history("schemas/order.placed.avsc")
    current = (schemas_dir() / "order.placed.avsc").read_text()
    for text in [*earlier, current]:
        registry.register_schema(subject, Schema(text, "AVRO"))
    assert len(registry.get_versions(subject)) >= 2
