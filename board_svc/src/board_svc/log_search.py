"""The services' log lines that mention an order. The process manager writes each service's
JSON lines to ``<log dir>/<service>.log``; a line mentions an order when one of its fields
is the id (``order_id``) or its text contains it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SKIP = {"timestamp", "level", "event", "service", "instance"}
MAX_BYTES_PER_FILE = 20 * 1024 * 1024  # the newest part of each file: a search stays quick


@dataclass(frozen=True, slots=True)
class LogHit:
    file: str
    service: str
    instance: str
    timestamp: str
    level: str
    event: str
    fields: str


def search_lines(file: str, lines: Iterable[str], needle: str) -> list[LogHit]:
    hits = []
    for line in lines:
        if needle not in line:
            continue  # cheap before parsing
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            hits.append(LogHit(file, file, file, "", "", line.strip(), ""))
            continue
        fields = " ".join(f"{k}={v}" for k, v in record.items() if k not in SKIP)
        hits.append(
            LogHit(
                file,
                str(record.get("service", file)),
                str(record.get("instance", file)),
                str(record.get("timestamp", "")),
                str(record.get("level", "")),
                str(record.get("event", "")),
                fields,
            )
        )
    return hits


def _tail_lines(path: Path) -> list[str]:
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - MAX_BYTES_PER_FILE))
        return handle.read().decode(errors="replace").splitlines()


def search_logs(log_dir: Path, needle: str, limit: int = 500) -> list[LogHit]:
    """Every line of every ``*.log`` in ``log_dir`` mentioning ``needle``, in time order."""
    if not needle:
        return []
    hits: list[LogHit] = []
    for path in sorted(log_dir.glob("*.log")) if log_dir.is_dir() else []:
        try:
            hits += search_lines(path.stem, _tail_lines(path), needle)
        except OSError:
            continue
    hits.sort(key=lambda hit: hit.timestamp)
    return hits[-limit:]


def services_of(hits: Iterable[LogHit]) -> list[str]:
    return sorted({hit.service for hit in hits})
