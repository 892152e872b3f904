"""The chart's one generated input: the topics of ``pizza_common.contracts``.

Strimzi's ``KafkaTopic`` resources and KEDA's replica ceiling for kitchen (one instance
per partition of ``order.placed``) are rendered from ``topics.yaml`` in the chart, and
that file is written from ``TOPICS`` here, never by hand: the tests fail when it drifts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pizza_common.contracts import TOPICS
from pizza_infra.config import INFRA_DIR

CHART_DIR = INFRA_DIR / "helm" / "pizza-platform"
TOPICS_FILE = CHART_DIR / "topics.yaml"
HEADER = (
    "# Generated from pizza_common.contracts (TOPICS) by `pizza-ctl chart-topics`: do not\n"
    "# edit. The chart's KafkaTopics and kitchen's KEDA ceiling are rendered from it.\n"
)


def topics_data() -> dict[str, Any]:
    # Kafka's topic configs are strings; as strings they survive Helm's YAML round trip,
    # which turns numbers into floats.
    return {
        "topics": [
            {
                "name": topic.name,
                "partitions": topic.partitions,
                "config": {
                    "retention.ms": str(topic.retention_ms),
                    "cleanup.policy": topic.cleanup_policy,
                },
            }
            for topic in TOPICS
        ]
    }


def topics_document() -> str:
    return HEADER + yaml.safe_dump(topics_data(), sort_keys=False)


def write_topics(path: Path = TOPICS_FILE) -> bool:
    """Rewrite ``path`` from the contracts; True if it changed."""
    text = topics_document()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
