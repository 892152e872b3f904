"""Each service serves exactly the OpenAPI document committed in docs/openapi/."""

from __future__ import annotations

import pytest

from tests.openapi_snapshots import SERVICES_WITH_REST, served_document, snapshot_path


@pytest.mark.parametrize("service", SERVICES_WITH_REST)
def test_served_openapi_equals_committed_copy(service: str) -> None:
    served = served_document(service)
    if served is None:
        pytest.skip(f"{service} has no app yet")
    committed = snapshot_path(service)
    assert committed.exists(), f"run `just openapi` to write {committed.name}"
    assert served == committed.read_text(), (
        f"{service}'s API differs from {committed.name}: if deliberate, run `just openapi`"
    )
