"""Which processes the board watches: from ``BOARD_TARGETS`` or a Prometheus ``file_sd``
targets file (``just up`` keeps one that follows ``just scale``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Target:
    job: str
    """The service: order, payment, kitchen, delivery, monitor."""
    instance: str
    url: str


def parse_targets(spec: str) -> list[Target]:
    """``order/order_svc=http://127.0.0.1:8001,kitchen/kitchen-1=http://…`` (the instance
    may be left out: it is then the job's name)."""
    found = []
    for part in spec.split(","):
        name, _, url = part.strip().partition("=")
        if not name or not url:
            continue
        job, _, instance = name.partition("/")
        found.append(Target(job.strip(), (instance or job).strip(), url.strip().rstrip("/")))
    return found


def parse_file_sd(text: str) -> list[Target]:
    """Prometheus' targets file: ``[{"targets": ["host:port"], "labels": {job, instance}}]``."""
    found = []
    groups = json.loads(text)
    for group in groups if isinstance(groups, list) else []:
        labels = group.get("labels", {})
        for address in group.get("targets", []):
            job = str(labels.get("job", address))
            instance = str(labels.get("instance", address))
            found.append(Target(job, instance, f"http://{address}"))
    return found


def load_targets(spec: str, file: str | None) -> list[Target]:
    """The file when it is set and readable (it changes while the board runs), else the spec."""
    if file:
        try:
            return parse_file_sd(Path(file).read_text())
        except (OSError, ValueError):
            pass
    return parse_targets(spec)
