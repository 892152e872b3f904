"""Reading /metrics as Prometheus does, and what docs/metrics.md promises."""

from __future__ import annotations

import re

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests import REPO_ROOT

DOC = REPO_ROOT / "docs" / "metrics.md"


def scrape(url: str) -> dict[str, Metric]:
    """The families at ``url``/metrics by name (counters without their ``_total``)."""
    answer = httpx.get(f"{url}/metrics", timeout=15)
    answer.raise_for_status()
    return {family.name: family for family in text_string_to_metric_families(answer.text)}


def family_name(documented: str) -> str:
    return documented.removesuffix("_total")


def documented(section: str) -> set[str]:
    """The metric names in the table under ``## <section>`` of docs/metrics.md."""
    text = DOC.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    names = re.findall(r"^\| `(pizza_\w+)` \|", text[start : end if end > 0 else None], re.M)
    assert names, f"no metrics documented under {section}"
    return set(names)


def value(families: dict[str, Metric], sample: str, **labels: str) -> float | None:
    """The value of one sample (e.g. ``pizza_orders_total`` with ``outcome="accepted"``)."""
    for family in families.values():
        for found in family.samples:
            if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None
