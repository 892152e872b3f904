"""The chart's validators, built once per session from the registries into var/cache.

A tool that cannot be built (no Go, no Java 21+, no registry) skips these tests with the
reason, except in CI (``CI`` set), where the chart must be checked and so it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pizza_infra.config import InfraError
from pizza_infra.k8s.tools import build
from tests.k8s.chart import Chart, Manifest


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Chart:
    try:
        validators = build()
    except InfraError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the chart's validators could not be built: {exc}")
        pytest.skip(f"the chart's validators could not be built: {exc}")
    return Chart(validators, Path(tmp_path_factory.mktemp("helm-home")))


@pytest.fixture(scope="session")
def rendered(chart: Chart) -> list[Manifest]:
    """The chart with its default values."""
    return chart.render()
